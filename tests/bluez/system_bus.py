"""A private D-Bus daemon standing in for the system bus, so tests never touch the machine's."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

DBUS_DAEMON = "dbus-daemon"

# A system-type bus that lets anyone own any name and talk to anyone: only these tests use it.
_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path={socket}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_type="method_return"/>
    <allow send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="signal"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
    {extra_rules}
  </policy>
</busconfig>
"""


@contextlib.contextmanager
def private_system_bus(directory: Path, *, extra_rules: str = "") -> Iterator[str]:
    """Start ``dbus-daemon`` on a socket in ``directory``; yields the bus address.
    ``extra_rules`` go at the end of the default policy (a ``<deny .../>`` narrows it)."""
    daemon = shutil.which(DBUS_DAEMON)
    if daemon is None:
        raise RuntimeError("dbus-daemon is missing: `make dbus-deps` installs it")
    directory.mkdir(parents=True, exist_ok=True)
    config = directory / "system-bus.conf"
    config.write_text(
        _CONFIG.format(socket=directory / "system_bus_socket", extra_rules=extra_rules)
    )
    process = subprocess.Popen(
        [daemon, f"--config-file={config}", "--nofork", "--nopidfile", "--print-address=1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        address = process.stdout.readline().strip()
        if not address:
            raise RuntimeError(f"dbus-daemon did not start (exit {process.poll()})")
        yield address
    finally:
        process.terminate()
        process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()
