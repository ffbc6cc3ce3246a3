"""The newcomer's path: build the wheel, install it into a fresh virtualenv outside the
checkout (dependencies from PyPI, pinned by constraints.txt), and use the installed
``companion`` from elsewhere: help, a plan, and the service with every page and every file
those pages load.

Nothing here may lean on the checkout: the commands run from an empty directory with a
fresh HOME, so only what the wheel carries is there.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tests.e2e.live import REPO, ApiClient, running_service

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

INSTALL_TIMEOUT_S = 600
COMMAND_TIMEOUT_S = 60
# What a developer's tree holds that a fresh clone (plus `make web-deps`) would not: caches
# anywhere, and build output and the venv at the top (web/node_modules/*/dist must stay).
CACHES = frozenset({"__pycache__", ".mypy_cache", ".ruff_cache", ".pytest_cache", ".hypothesis"})
TOP_LEVEL_ONLY = frozenset({".venv", ".git", "build", "dist", "test-artifacts"})


def _not_source(directory: str, names: list[str]) -> set[str]:
    top = Path(directory) == REPO
    return {
        name
        for name in names
        if name in CACHES or name.endswith(".egg-info") or (top and name in TOP_LEVEL_ONLY)
    }


@dataclass(frozen=True)
class Installed:
    bin_dir: Path
    home: Path
    workdir: Path

    @property
    def companion(self) -> Path:
        return self.bin_dir / "companion"

    def env(self) -> dict[str, str]:
        """A person's shell: the new venv first on PATH, their own HOME, nothing of ours."""
        keep = {k: v for k, v in os.environ.items() if k in ("LANG", "LC_ALL", "TZ", "TMPDIR")}
        return {
            **keep,
            "HOME": str(self.home),
            "PATH": f"{self.bin_dir}{os.pathsep}/usr/local/bin:/usr/bin:/bin",
        }

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.companion), *args],
            cwd=self.workdir,
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT_S,
            check=False,
        )


def _checked(args: list[str], cwd: Path) -> None:
    done = subprocess.run(
        args, cwd=cwd, capture_output=True, text=True, timeout=INSTALL_TIMEOUT_S, check=False
    )
    assert done.returncode == 0, f"{' '.join(args)}\n{done.stdout}\n{done.stderr}"


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    """The wheel built from a copy of this tree (as a fresh clone plus `make web-deps`
    would have it) and installed with its pinned dependencies into a new venv."""
    base = tmp_path_factory.mktemp("newcomer")
    source = base / "source"
    shutil.copytree(REPO, source, ignore=_not_source)
    wheels = base / "wheels"
    _checked([sys.executable, "-m", "pip", "wheel", str(source), "--no-deps", "-w", str(wheels)],
             cwd=base)  # fmt: skip
    [wheel] = wheels.glob("bedside_companion-*.whl")
    venv = base / "venv"
    _checked([sys.executable, "-m", "venv", str(venv)], cwd=base)
    constraints = source / "constraints.txt"
    _checked([str(venv / "bin" / "python"), "-m", "pip", "install", "-c", str(constraints),
              str(wheel)], cwd=base)  # fmt: skip
    shutil.rmtree(source)  # from here on only the installed package exists
    home = base / "home"
    workdir = base / "somewhere-else"
    home.mkdir()
    workdir.mkdir()
    return Installed(bin_dir=venv / "bin", home=home, workdir=workdir)


def test_the_installed_command_explains_itself(installed: Installed) -> None:
    done = installed.run("--help")

    assert (done.returncode, done.stderr) == (0, "")
    assert "Stop at once if you feel sharp pain" in done.stdout
    assert {"run", "plan", "session"} <= set(done.stdout.split())


def test_the_installed_command_plans_the_taster(installed: Installed) -> None:
    done = installed.run("plan", "taster")

    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.splitlines()[0] == "Taster (taster): 1:00"
    assert "Knee to chest" in done.stdout


class _Links(HTMLParser):
    """Same-site files a page loads (scripts, styles, icons) and the pages its nav links to."""

    def __init__(self) -> None:
        super().__init__()
        self.files: set[str] = set()
        self.pages: set[str] = set()
        self._in_nav = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "nav":
            self._in_nav += 1
        target = found.get("src") if tag == "script" else found.get("href")
        if not target or not target.startswith("/") or target.startswith("//"):
            return
        if tag in ("script", "link"):
            self.files.add(target)
        elif tag == "a" and self._in_nav:
            self.pages.add(target)

    def handle_endtag(self, tag: str) -> None:
        if tag == "nav":
            self._in_nav -= 1


def links(client: ApiClient, path: str) -> _Links:
    answer = client.request("GET", path)
    assert answer.status == 200, (path, answer.status)
    parser = _Links()
    parser.feed(answer.body.decode())
    return parser


@pytest.fixture
def installed_service(installed: Installed) -> Iterator[ApiClient]:
    with running_service(
        installed.home / "data",
        command=[str(installed.companion)],
        cwd=installed.workdir,
        env=installed.env(),
        inherit_env=False,
    ) as live:
        live.wait_for_band()
        yield live.client()


def test_the_installed_service_serves_every_page_and_every_file_they_load(
    installed_service: ApiClient,
) -> None:
    client = installed_service
    run_id = client.start_routine("taster", pain_before=2)
    assert client.post_json("/api/session/stop").status == 200
    client.wait_for_session(run_id, "stopped")
    now = links(client, "/")
    pages = {"/", *now.pages, f"/sessions/{run_id}"}
    files: set[str] = set()
    for page in sorted(pages):
        files |= links(client, page).files

    missing = {}
    for path in sorted(files):
        answer = client.request("GET", path)
        if answer.status != 200 or not answer.body:
            missing[path] = answer.status

    assert {"/history", "/settings"} <= pages
    assert "/static/app.css" in files
    assert missing == {}
