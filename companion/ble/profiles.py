"""Device profiles: which bands a profile fits, what they offer, and how to make them buzz.

One TOML file per device family. Built-in profiles ship in the ``device_profiles`` data
package; a user's own directory may add more or override a built-in one by file name. A
profile's name is its file's stem. Schema (every key not listed here is an error, so a typo
never passes silently)::

    title = "Polar H10"                  # required, shown to people
    description = "..."                  # required

    [match]                              # optional; without it a profile is chosen by name only
    service_uuids = ["180d"]             # any of; 16-bit ("180d", "0x180D") or full UUIDs
    required_service_uuids = ["1802"]    # all of these must be present as well
    name_patterns = ["Polar H10*"]       # any of; fnmatch globs, case-insensitive
    manufacturer_ids = [0x006B]          # any of; company identifiers 0..0xFFFF
    priority = 20                        # int, default 0; the highest matching profile wins

    [offers]                             # what the family is known to provide; default false
    heart_rate = true
    rr_intervals = true                  # needs heart_rate
    battery = true
    button = false                       # true needs button_notify
    button_notify = "uuid"               # characteristic that notifies a button press
    text = false                         # can show a line of text; true needs text_write

    [offers.text_write]                  # how to send a line of text
    characteristic = "2a46"
    template = "\\u0000\\u0001\\u0000Back care\\u0000{text}"  # {text}: UTF-8; {text_js}: JS string
    with_response = true                 # default false
    max_bytes = 102                      # optional; the text is shortened to fit

    [[cues.hold-end]]                    # one table per write; cue names: companion.cues
    after_s = 0.0                        # required, seconds after the cue starts, 0..60
    characteristic = "2a06"              # required
    value = "02"                         # hex bytes, or instead: text = "..." (sent as UTF-8)
    with_response = false                # default false
    duration_s = 0.6                     # optional, informative: how long this buzz lasts

Files are read by the one strict reader, ``companion.strict_toml``: a malformed profile
raises ProfileError naming the file, the field path (for example ``cues.hold-end[1].value``)
and what is allowed there.
"""

from __future__ import annotations

import fnmatch
import json
import logging
import math
import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Final, TypeGuard

from companion.ble.uuids import normalize_uuid
from companion.cues import CUE_NAMES, CueName
from companion.errors import ProfileError, UnknownNameError
from companion.strict_toml import Table, decode, kind, read_file

if TYPE_CHECKING:
    # Only named in a signature: the plan's JSON types import the plan, which reads these
    # profiles, so importing them here would close a cycle.
    from companion.routines.plan_json import CueWrite

_LOGGER = logging.getLogger(__name__)


BUILTIN_PACKAGE: Final = "device_profiles"
PROFILE_SUFFIX: Final = ".toml"
# A write later than this after its cue is a typo, not a pattern anyone can feel as one cue.
MAX_AFTER_S: Final = 60.0
MAX_DURATION_S: Final = 60.0
# The longest attribute value GATT allows (Core Spec Vol 3 Part F 3.2.9).
MAX_ATTRIBUTE_BYTES: Final = 512
COMPANY_ID_MAX: Final = 0xFFFF

TEXT_PLACEHOLDER: Final = "text"
TEXT_JS_PLACEHOLDER: Final = "text_js"
_PLACEHOLDERS: Final = frozenset({TEXT_PLACEHOLDER, TEXT_JS_PLACEHOLDER})
_PLACEHOLDER_RE: Final = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
# Control characters could end a UART command line or split an alert's title from its body.
_CONTROL_CHARS_RE: Final = re.compile(r"[\x00-\x09\x0b-\x1f\x7f]")

_TOP_KEYS: Final = ("title", "description", "match", "offers", "cues")
_MATCH_KEYS: Final = (
    "service_uuids",
    "required_service_uuids",
    "name_patterns",
    "manufacturer_ids",
    "priority",
)
_OFFER_FLAGS: Final = ("heart_rate", "rr_intervals", "battery", "button", "text")
_OFFER_KEYS: Final = (*_OFFER_FLAGS, "text_write", "button_notify")
_TEXT_WRITE_KEYS: Final = ("characteristic", "template", "with_response", "max_bytes")
_WRITE_KEYS: Final = ("after_s", "characteristic", "value", "text", "with_response", "duration_s")


@dataclass(frozen=True)
class HapticWrite:
    """One GATT write of a cue, ``after_s`` seconds after the cue's deadline."""

    after_s: float
    characteristic: str
    value: bytes
    with_response: bool = False
    duration_s: float | None = None


@dataclass(frozen=True)
class Cue:
    writes: tuple[HapticWrite, ...] = ()

    @property
    def duration_s(self) -> float:
        """How long the cue occupies the band, as far as its writes say."""
        return max((w.after_s + (w.duration_s or 0.0) for w in self.writes), default=0.0)


@dataclass(frozen=True)
class Match:
    """Any one of the first three criteria fits, and every required service is present."""

    service_uuids: frozenset[str] = frozenset()
    name_patterns: tuple[str, ...] = ()
    manufacturer_ids: frozenset[int] = frozenset()
    required_service_uuids: frozenset[str] = frozenset()
    priority: int = 0

    def matches(
        self, name: str | None, service_uuids: Collection[str], manufacturer_ids: Collection[int]
    ) -> bool:
        """Whether a device fits; ``service_uuids`` must already be normalised."""
        if not self.required_service_uuids <= frozenset(service_uuids):
            return False
        if not (self.service_uuids or self.name_patterns or self.manufacturer_ids):
            # Only required services: they decide alone. Nothing at all: chosen by name only.
            return bool(self.required_service_uuids)
        if not self.service_uuids.isdisjoint(service_uuids):
            return True
        if not self.manufacturer_ids.isdisjoint(manufacturer_ids):
            return True
        if name is None:
            return False
        folded = name.casefold()
        return any(fnmatch.fnmatchcase(folded, p.casefold()) for p in self.name_patterns)


@dataclass(frozen=True)
class TextWrite:
    """How to put one line of text on the band's screen."""

    characteristic: str
    template: str
    with_response: bool = False
    max_bytes: int | None = None

    def render(self, text: str) -> bytes:
        """The bytes to write; the text is shortened from its end until ``max_bytes`` fits."""
        clean = _CONTROL_CHARS_RE.sub(" ", text)
        encoded = self._fill(clean)
        if self.max_bytes is None or len(encoded) <= self.max_bytes:
            return encoded
        # The rendered length grows with the text, so search the longest prefix that fits.
        fits, too_long = 0, len(clean)
        while too_long - fits > 1:
            middle = (fits + too_long) // 2
            if len(self._fill(clean[:middle])) <= self.max_bytes:
                fits = middle
            else:
                too_long = middle
        return self._fill(clean[:fits])

    def _fill(self, text: str) -> bytes:
        def substitute(found: re.Match[str]) -> str:
            if found.group(1) == TEXT_JS_PLACEHOLDER:
                # A JSON string literal is a valid JavaScript one; ensure_ascii keeps it to
                # plain ASCII, which the Espruino REPL passes through untouched.
                return json.dumps(text, ensure_ascii=True)
            if found.group(1) == TEXT_PLACEHOLDER:
                return text
            return found.group(0)

        return _PLACEHOLDER_RE.sub(substitute, self.template).encode("utf-8", errors="replace")


@dataclass(frozen=True)
class Offers:
    heart_rate: bool = False
    rr_intervals: bool = False
    battery: bool = False
    button: bool = False
    text: bool = False
    text_write: TextWrite | None = None
    button_notify: str | None = None


def cue_named(name: str) -> CueName:
    """The cue called ``name`` where a name comes in from outside (the command line);
    UnknownNameError, listing the known cues, for any other."""
    if name not in CUE_NAMES:
        raise UnknownNameError("cue", name, list(CUE_NAMES))
    return CueName(name)


@dataclass(frozen=True)
class DeviceProfile:
    name: str
    path: Path
    title: str
    description: str
    match: Match
    offers: Offers
    cues: Mapping[CueName, Cue] = field(default_factory=lambda: MappingProxyType({}), hash=False)

    @property
    def has_haptics(self) -> bool:
        return any(cue.writes for cue in self.cues.values())

    def cue_writes(self, cue_name: CueName) -> tuple[HapticWrite, ...]:
        """The writes for ``cue_name``; empty when this band has nothing for it."""
        cue = self.cues.get(cue_name)
        return cue.writes if cue is not None else ()

    def writes_json(self, cue_name: CueName) -> list[CueWrite]:
        """The cue's writes as a plan lists them for a band it was not composed for."""
        return [
            {"after_s": w.after_s, "characteristic": w.characteristic, "value": w.value.hex()}
            for w in self.cue_writes(cue_name)
        ]


# --- loading -----------------------------------------------------------------------------


def load_profile(path: Path) -> DeviceProfile:
    """Read and validate one profile file; its name is the file's stem."""
    return parse_profile(read_file(path, ProfileError), name=path.stem, path=path)


def load_profiles(user_dir: Path | None = None) -> dict[str, DeviceProfile]:
    """Built-in profiles, then ``user_dir/*.toml`` replacing any built-in of the same name."""
    profiles: dict[str, DeviceProfile] = {}
    builtins = sorted(files(BUILTIN_PACKAGE).iterdir(), key=lambda entry: entry.name)
    for entry in builtins:
        if entry.is_file() and entry.name.endswith(PROFILE_SUFFIX):
            name = entry.name.removesuffix(PROFILE_SUFFIX)
            profiles[name] = parse_profile(entry.read_bytes(), name=name, path=Path(str(entry)))
    if user_dir is None:
        return profiles
    if not user_dir.is_dir():
        _LOGGER.debug("no user profile directory at %s", user_dir)
        return profiles
    for path in sorted(user_dir.glob(f"*{PROFILE_SUFFIX}")):
        profile = load_profile(path)
        if profile.name in profiles:
            _LOGGER.info("device profile %s from %s replaces the built-in one", profile.name, path)
        warn_if_cues_alike(profile)
        profiles[profile.name] = profile
    return profiles


def warn_if_cues_alike(profile: DeviceProfile) -> list[str]:
    """Log a warning naming the cues a wearer could mistake for one another; returns them."""
    # Imported here: the perception model builds on this module's write type.
    from companion.routines.haptics import Vocabulary, indistinct_cues

    problems = indistinct_cues(Vocabulary.from_profile(profile))
    if problems:
        _LOGGER.warning(
            "device profile %s (%s): cues cannot be told apart by feel: %s",
            profile.name,
            profile.path,
            "; ".join(problems),
        )
    return problems


def select_profile(profiles: Mapping[str, DeviceProfile], name: str) -> DeviceProfile:
    try:
        return profiles[name]
    except KeyError:
        raise UnknownNameError("device profile", name, list(profiles)) from None


def match_advertisement(
    profiles: Mapping[str, DeviceProfile],
    name: str | None,
    service_uuids: Sequence[str],
    manufacturer_ids: Iterable[int],
) -> DeviceProfile | None:
    """The best profile for what a device advertises (or, after connecting, discovered).

    Highest priority wins; equal priorities go to the alphabetically first name, so the
    answer never depends on dictionary order.
    """
    services: set[str] = set()
    for uuid in service_uuids:
        try:
            services.add(normalize_uuid(uuid))
        except ValueError:
            _LOGGER.debug("ignoring unparseable advertised service UUID %r", uuid)
    ids = frozenset(manufacturer_ids)
    fitting = [p for p in profiles.values() if p.match.matches(name, services, ids)]
    if not fitting:
        return None
    best = min(fitting, key=lambda p: (-p.match.priority, p.name))
    _LOGGER.debug("device %r matches profile %s", name, best.name)
    return best


# --- validation --------------------------------------------------------------------------


def parse_profile(raw: bytes | str, *, name: str, path: Path) -> DeviceProfile:
    """Validate TOML text as a profile; pure, so tests and tools can feed it directly."""
    return profile_from_data(decode(raw, path, ProfileError), name=name, path=path)


def profile_from_data(data: Mapping[str, object], *, name: str, path: Path) -> DeviceProfile:
    """Validate an already-parsed TOML document as a profile."""
    top = Table(data, "", path, ProfileError, _TOP_KEYS)
    return DeviceProfile(
        name=name,
        path=path,
        title=top.text("title"),
        description=top.text("description"),
        match=_match(top.table("match", _MATCH_KEYS)),
        offers=_offers(top.table("offers", _OFFER_KEYS)),
        cues=MappingProxyType(_cues(top.table("cues"))),
    )


def _is_int(value: object) -> TypeGuard[int]:
    # bool is an int subclass, but `priority = true` is a mistake, not priority 1.
    return isinstance(value, int) and not isinstance(value, bool)


def _uuid(table: Table, key: str, value: object) -> str:
    if not isinstance(value, str):
        table.fail(key, f"must be a UUID string, not {kind(value)}")
    try:
        return normalize_uuid(value)
    except ValueError as exc:
        table.fail(key, str(exc))


def _uuids(table: Table, key: str) -> frozenset[str]:
    return frozenset(_uuid(table, f"{key}[{i}]", item) for i, item in enumerate(table.items(key)))


def _seconds(table: Table, key: str, *, low: float, high: float) -> float:
    value = table.data[key]
    if not isinstance(value, int | float) or isinstance(value, bool):
        table.fail(key, f"must be a number of seconds, not {kind(value)}")
    # Compare before any float conversion: an int too big for a float must not overflow.
    if (isinstance(value, float) and not math.isfinite(value)) or not low <= value <= high:
        table.fail(key, f"must be between {low:g} and {high:g} seconds, not {value!r}")
    return float(value)


def _match(table: Table) -> Match:
    patterns: list[str] = []
    for i, item in enumerate(table.items("name_patterns")):
        if not isinstance(item, str) or not item:
            table.fail(f"name_patterns[{i}]", "must be a non-empty glob like 'Polar*'")
        patterns.append(item)
    ids: set[int] = set()
    for i, item in enumerate(table.items("manufacturer_ids")):
        if not _is_int(item) or not 0 <= item <= COMPANY_ID_MAX:
            table.fail(
                f"manufacturer_ids[{i}]",
                f"must be a company identifier 0..{COMPANY_ID_MAX:#06x}, not {item!r}",
            )
        ids.add(item)
    priority = table.data.get("priority", 0)
    if not _is_int(priority):
        table.fail("priority", f"must be an integer, not {kind(priority)}")
    return Match(
        service_uuids=_uuids(table, "service_uuids"),
        name_patterns=tuple(patterns),
        manufacturer_ids=frozenset(ids),
        required_service_uuids=_uuids(table, "required_service_uuids"),
        priority=priority,
    )


def _offers(table: Table) -> Offers:
    flags = {key: table.flag(key) for key in _OFFER_FLAGS}
    if flags["rr_intervals"] and not flags["heart_rate"]:
        table.fail("rr_intervals", "needs offers.heart_rate = true")

    text_write: TextWrite | None = None
    if table.has("text_write"):
        if not flags["text"]:
            table.fail("text_write", "only allowed when offers.text = true")
        text_write = _text_write(table.table("text_write", _TEXT_WRITE_KEYS))
    elif flags["text"]:
        table.fail("text_write", "is required when offers.text = true")

    button_notify: str | None = None
    if table.has("button_notify"):
        if not flags["button"]:
            table.fail("button_notify", "only allowed when offers.button = true")
        button_notify = _uuid(table, "button_notify", table.data["button_notify"])
    elif flags["button"]:
        table.fail("button_notify", "is required when offers.button = true")

    return Offers(
        heart_rate=flags["heart_rate"],
        rr_intervals=flags["rr_intervals"],
        battery=flags["battery"],
        button=flags["button"],
        text=flags["text"],
        text_write=text_write,
        button_notify=button_notify,
    )


def _text_write(table: Table) -> TextWrite:
    if not table.has("characteristic"):
        table.fail("characteristic", "is required (a UUID)")
    characteristic = _uuid(table, "characteristic", table.data["characteristic"])
    # Kept as written: a command's surrounding whitespace (its newline) is part of it.
    template = table.text("template", strip=False)
    used = {found.group(1) for found in _PLACEHOLDER_RE.finditer(template)}
    allowed = ", ".join(f"{{{p}}}" for p in sorted(_PLACEHOLDERS))
    if not used or not used <= _PLACEHOLDERS:
        table.fail("template", f"must contain one of {allowed} and no other {{name}}")
    max_bytes: int | None = None
    if table.has("max_bytes"):
        limit = table.data["max_bytes"]
        if not _is_int(limit) or not 1 <= limit <= MAX_ATTRIBUTE_BYTES:
            table.fail("max_bytes", f"must be an integer 1..{MAX_ATTRIBUTE_BYTES}")
        max_bytes = limit
    text_write = TextWrite(
        characteristic=characteristic,
        template=template,
        with_response=table.flag("with_response"),
        max_bytes=max_bytes,
    )
    if len(text_write.render("")) > (max_bytes or MAX_ATTRIBUTE_BYTES):
        table.fail("template", "is longer than max_bytes even with no text")
    return text_write


def _cues(table: Table) -> dict[CueName, Cue]:
    cues: dict[CueName, Cue] = {}
    for key, value in table.data.items():
        if key not in CUE_NAMES:
            table.fail(key, f"unknown cue; the cues are: {', '.join(CUE_NAMES)}")
        if not isinstance(value, list):
            table.fail(key, f"must be a list of writes ([[{table.field(key)}]] tables)")
        writes = tuple(_write(table.element(key, i, _WRITE_KEYS)) for i in range(len(value)))
        # Order in the file is irrelevant; the scheduler wants them by time.
        cues[CueName(key)] = Cue(writes=tuple(sorted(writes, key=lambda w: w.after_s)))
    return cues


def _write(table: Table) -> HapticWrite:
    for key in ("after_s", "characteristic"):
        if not table.has(key):
            table.fail(key, "is required")
    after_s = _seconds(table, "after_s", low=0.0, high=MAX_AFTER_S)
    duration_s: float | None = None
    if table.has("duration_s"):
        duration_s = _seconds(table, "duration_s", low=0.0, high=MAX_DURATION_S)
    return HapticWrite(
        after_s=after_s,
        characteristic=_uuid(table, "characteristic", table.data["characteristic"]),
        value=_write_value(table),
        with_response=table.flag("with_response"),
        duration_s=duration_s,
    )


def _write_value(table: Table) -> bytes:
    if table.has("value") == table.has("text"):
        table.fail("value", "give exactly one of value (hex bytes) or text")
    if table.has("value"):
        key, hex_text = "value", table.data["value"]
        if not isinstance(hex_text, str):
            table.fail(key, f"must be a hex string like '02' or '01 00', not {kind(hex_text)}")
        try:
            value = bytes.fromhex(hex_text)
        except ValueError:
            table.fail(key, f"{hex_text!r} is not hex bytes; write e.g. '02' or '01 00'")
    else:
        key, command = "text", table.data["text"]
        if not isinstance(command, str):
            table.fail(key, f"must be text, not {kind(command)}")
        try:
            value = command.encode("utf-8")
        except UnicodeEncodeError:
            table.fail(key, "cannot be encoded as UTF-8")
    if not 1 <= len(value) <= MAX_ATTRIBUTE_BYTES:
        table.fail(key, f"must be 1..{MAX_ATTRIBUTE_BYTES} bytes, not {len(value)}")
    return value
