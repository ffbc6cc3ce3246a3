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

A malformed profile raises ProfileError naming the file, the field path (for example
``cues.hold-end[1].value``) and what is allowed there.
"""

from __future__ import annotations

import fnmatch
import json
import logging
import math
import re
import tomllib
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from types import MappingProxyType
from typing import Final, NoReturn, TypeGuard

from companion.ble.uuids import normalize_uuid
from companion.cues import CUE_NAMES
from companion.errors import ProfileError, UnknownNameError

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

_TOP_KEYS: Final = frozenset({"title", "description", "match", "offers", "cues"})
_MATCH_KEYS: Final = frozenset(
    {"service_uuids", "required_service_uuids", "name_patterns", "manufacturer_ids", "priority"}
)
_OFFER_FLAGS: Final = ("heart_rate", "rr_intervals", "battery", "button", "text")
_OFFER_KEYS: Final = frozenset({*_OFFER_FLAGS, "text_write", "button_notify"})
_TEXT_WRITE_KEYS: Final = frozenset({"characteristic", "template", "with_response", "max_bytes"})
_WRITE_KEYS: Final = frozenset(
    {"after_s", "characteristic", "value", "text", "with_response", "duration_s"}
)


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


@dataclass(frozen=True)
class DeviceProfile:
    name: str
    path: Path
    title: str
    description: str
    match: Match
    offers: Offers
    cues: Mapping[str, Cue] = field(default_factory=lambda: MappingProxyType({}), hash=False)

    @property
    def has_haptics(self) -> bool:
        return any(cue.writes for cue in self.cues.values())

    def cue_writes(self, cue_name: str) -> tuple[HapticWrite, ...]:
        """The writes for ``cue_name``; empty when this band has nothing for it."""
        if cue_name not in CUE_NAMES:
            raise UnknownNameError("cue", cue_name, list(CUE_NAMES))
        cue = self.cues.get(cue_name)
        return cue.writes if cue is not None else ()

    def writes_json(self, cue_name: str) -> list[dict[str, object]]:
        return [
            {"after_s": w.after_s, "characteristic": w.characteristic, "value": w.value.hex()}
            for w in self.cue_writes(cue_name)
        ]


# --- loading -----------------------------------------------------------------------------


def load_profile(path: Path) -> DeviceProfile:
    """Read and validate one profile file; its name is the file's stem."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ProfileError(path, "(file)", f"cannot be read: {exc.strerror or exc}") from exc
    return parse_profile(raw, name=path.stem, path=path)


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
    try:
        text = raw if isinstance(raw, str) else raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ProfileError(path, "(file)", f"is not UTF-8 text: {exc.reason}") from exc
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError(path, "(syntax)", f"not valid TOML: {exc}") from exc
    return profile_from_data(data, name=name, path=path)


def profile_from_data(data: Mapping[str, object], *, name: str, path: Path) -> DeviceProfile:
    """Validate an already-parsed TOML document as a profile."""
    reader = _Reader(path)
    reader.check_keys(data, _TOP_KEYS, "")
    return DeviceProfile(
        name=name,
        path=path,
        title=reader.text(data, "title", ""),
        description=reader.text(data, "description", ""),
        match=reader.match(reader.table(data, "match", "")),
        offers=reader.offers(reader.table(data, "offers", "")),
        cues=MappingProxyType(reader.cues(reader.table(data, "cues", ""))),
    )


def _join(prefix: str, key: str) -> str:
    return f"{prefix}.{key}" if prefix else key


def _is_int(value: object) -> TypeGuard[int]:
    # bool is an int subclass, but `priority = true` is a mistake, not priority 1.
    return isinstance(value, int) and not isinstance(value, bool)


class _Reader:
    """Pulls typed fields out of parsed TOML, raising ProfileError with the field's path."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, field_path: str, problem: str) -> NoReturn:
        raise ProfileError(self.path, field_path, problem)

    def check_keys(
        self, table: Mapping[str, object], allowed: Collection[str], prefix: str
    ) -> None:
        for key in table:
            if key not in allowed:
                self.fail(
                    _join(prefix, str(key)),
                    f"unknown key; allowed here: {', '.join(sorted(allowed))}",
                )

    def table(self, parent: Mapping[str, object], key: str, prefix: str) -> Mapping[str, object]:
        value = parent.get(key, {})
        if not isinstance(value, Mapping):
            self.fail(_join(prefix, key), f"must be a table, not {_kind(value)}")
        return value

    def text(self, table: Mapping[str, object], key: str, prefix: str) -> str:
        if key not in table:
            self.fail(_join(prefix, key), "is required (a non-empty string)")
        value = table[key]
        if not isinstance(value, str) or not value.strip():
            self.fail(_join(prefix, key), f"must be a non-empty string, not {_kind(value)}")
        return value

    def flag(self, table: Mapping[str, object], key: str, prefix: str) -> bool:
        value = table.get(key, False)
        if not isinstance(value, bool):
            self.fail(_join(prefix, key), f"must be true or false, not {_kind(value)}")
        return value

    def uuid(self, value: object, field_path: str) -> str:
        if not isinstance(value, str):
            self.fail(field_path, f"must be a UUID string, not {_kind(value)}")
        try:
            return normalize_uuid(value)
        except ValueError as exc:
            self.fail(field_path, str(exc))

    def seconds(self, value: object, field_path: str, *, low: float, high: float) -> float:
        if not isinstance(value, int | float) or isinstance(value, bool):
            self.fail(field_path, f"must be a number of seconds, not {_kind(value)}")
        # Compare before any float conversion: an int too big for a float must not overflow.
        if (isinstance(value, float) and not math.isfinite(value)) or not low <= value <= high:
            self.fail(field_path, f"must be between {low:g} and {high:g} seconds, not {value!r}")
        return float(value)

    def items(self, table: Mapping[str, object], key: str, prefix: str) -> list[object]:
        value = table.get(key, [])
        if not isinstance(value, list):
            self.fail(_join(prefix, key), f"must be a list, not {_kind(value)}")
        return value

    # --- sections --------------------------------------------------------------------

    def match(self, table: Mapping[str, object]) -> Match:
        prefix = "match"
        self.check_keys(table, _MATCH_KEYS, prefix)
        services = frozenset(
            self.uuid(item, f"{prefix}.service_uuids[{i}]")
            for i, item in enumerate(self.items(table, "service_uuids", prefix))
        )
        required = frozenset(
            self.uuid(item, f"{prefix}.required_service_uuids[{i}]")
            for i, item in enumerate(self.items(table, "required_service_uuids", prefix))
        )
        patterns: list[str] = []
        for i, item in enumerate(self.items(table, "name_patterns", prefix)):
            if not isinstance(item, str) or not item:
                self.fail(f"{prefix}.name_patterns[{i}]", "must be a non-empty glob like 'Polar*'")
            patterns.append(item)
        ids: set[int] = set()
        for i, item in enumerate(self.items(table, "manufacturer_ids", prefix)):
            if not _is_int(item) or not 0 <= item <= COMPANY_ID_MAX:
                self.fail(
                    f"{prefix}.manufacturer_ids[{i}]",
                    f"must be a company identifier 0..{COMPANY_ID_MAX:#06x}, not {item!r}",
                )
            ids.add(item)
        priority = table.get("priority", 0)
        if not _is_int(priority):
            self.fail(f"{prefix}.priority", f"must be an integer, not {_kind(priority)}")
        return Match(
            service_uuids=services,
            name_patterns=tuple(patterns),
            manufacturer_ids=frozenset(ids),
            required_service_uuids=required,
            priority=priority,
        )

    def offers(self, table: Mapping[str, object]) -> Offers:
        prefix = "offers"
        self.check_keys(table, _OFFER_KEYS, prefix)
        flags = {key: self.flag(table, key, prefix) for key in _OFFER_FLAGS}
        if flags["rr_intervals"] and not flags["heart_rate"]:
            self.fail(f"{prefix}.rr_intervals", "needs offers.heart_rate = true")

        text_write: TextWrite | None = None
        if "text_write" in table:
            if not flags["text"]:
                self.fail(f"{prefix}.text_write", "only allowed when offers.text = true")
            text_write = self.text_write(self.table(table, "text_write", prefix))
        elif flags["text"]:
            self.fail(f"{prefix}.text_write", "is required when offers.text = true")

        button_notify: str | None = None
        if "button_notify" in table:
            if not flags["button"]:
                self.fail(f"{prefix}.button_notify", "only allowed when offers.button = true")
            button_notify = self.uuid(table["button_notify"], f"{prefix}.button_notify")
        elif flags["button"]:
            self.fail(f"{prefix}.button_notify", "is required when offers.button = true")

        return Offers(
            heart_rate=flags["heart_rate"],
            rr_intervals=flags["rr_intervals"],
            battery=flags["battery"],
            button=flags["button"],
            text=flags["text"],
            text_write=text_write,
            button_notify=button_notify,
        )

    def text_write(self, table: Mapping[str, object]) -> TextWrite:
        prefix = "offers.text_write"
        self.check_keys(table, _TEXT_WRITE_KEYS, prefix)
        if "characteristic" not in table:
            self.fail(f"{prefix}.characteristic", "is required (a UUID)")
        characteristic = self.uuid(table["characteristic"], f"{prefix}.characteristic")
        template = self.text(table, "template", prefix)
        used = {found.group(1) for found in _PLACEHOLDER_RE.finditer(template)}
        allowed = ", ".join(f"{{{p}}}" for p in sorted(_PLACEHOLDERS))
        if not used or not used <= _PLACEHOLDERS:
            self.fail(f"{prefix}.template", f"must contain one of {allowed} and no other {{name}}")
        max_bytes: int | None = None
        if "max_bytes" in table:
            limit = table["max_bytes"]
            if not _is_int(limit) or not 1 <= limit <= MAX_ATTRIBUTE_BYTES:
                self.fail(f"{prefix}.max_bytes", f"must be an integer 1..{MAX_ATTRIBUTE_BYTES}")
            max_bytes = limit
        text_write = TextWrite(
            characteristic=characteristic,
            template=template,
            with_response=self.flag(table, "with_response", prefix),
            max_bytes=max_bytes,
        )
        if len(text_write.render("")) > (max_bytes or MAX_ATTRIBUTE_BYTES):
            self.fail(f"{prefix}.template", "is longer than max_bytes even with no text")
        return text_write

    def cues(self, table: Mapping[str, object]) -> dict[str, Cue]:
        cues: dict[str, Cue] = {}
        for key, value in table.items():
            field_path = _join("cues", str(key))
            if key not in CUE_NAMES:
                self.fail(field_path, f"unknown cue; the cues are: {', '.join(CUE_NAMES)}")
            if not isinstance(value, list):
                self.fail(field_path, f"must be a list of writes ([[{field_path}]] tables)")
            writes = tuple(self.write(item, f"{field_path}[{i}]") for i, item in enumerate(value))
            # Order in the file is irrelevant; the scheduler wants them by time.
            cues[key] = Cue(writes=tuple(sorted(writes, key=lambda w: w.after_s)))
        return cues

    def write(self, item: object, prefix: str) -> HapticWrite:
        if not isinstance(item, Mapping):
            self.fail(prefix, f"must be a table, not {_kind(item)}")
        self.check_keys(item, _WRITE_KEYS, prefix)
        for key in ("after_s", "characteristic"):
            if key not in item:
                self.fail(f"{prefix}.{key}", "is required")
        after_s = self.seconds(item["after_s"], f"{prefix}.after_s", low=0.0, high=MAX_AFTER_S)
        duration_s: float | None = None
        if "duration_s" in item:
            duration_s = self.seconds(
                item["duration_s"], f"{prefix}.duration_s", low=0.0, high=MAX_DURATION_S
            )
        return HapticWrite(
            after_s=after_s,
            characteristic=self.uuid(item["characteristic"], f"{prefix}.characteristic"),
            value=self.write_value(item, prefix),
            with_response=self.flag(item, "with_response", prefix),
            duration_s=duration_s,
        )

    def write_value(self, item: Mapping[str, object], prefix: str) -> bytes:
        if ("value" in item) == ("text" in item):
            self.fail(f"{prefix}.value", "give exactly one of value (hex bytes) or text")
        if "value" in item:
            field_path, hex_text = f"{prefix}.value", item["value"]
            if not isinstance(hex_text, str):
                self.fail(
                    field_path, f"must be a hex string like '02' or '01 00', not {_kind(hex_text)}"
                )
            try:
                value = bytes.fromhex(hex_text)
            except ValueError:
                self.fail(field_path, f"{hex_text!r} is not hex bytes; write e.g. '02' or '01 00'")
        else:
            field_path, command = f"{prefix}.text", item["text"]
            if not isinstance(command, str):
                self.fail(field_path, f"must be a string, not {_kind(command)}")
            try:
                value = command.encode("utf-8")
            except UnicodeEncodeError:
                self.fail(field_path, "cannot be encoded as UTF-8")
        if not 1 <= len(value) <= MAX_ATTRIBUTE_BYTES:
            self.fail(field_path, f"must be 1..{MAX_ATTRIBUTE_BYTES} bytes, not {len(value)}")
        return value


def _kind(value: object) -> str:
    """A TOML-flavoured name for a value's type, for error messages."""
    kinds: tuple[tuple[type | tuple[type, ...], str], ...] = (
        (bool, "a boolean"),
        (int, "an integer"),
        (float, "a float"),
        (str, "a string"),
        (list, "an array"),
        (Mapping, "a table"),
    )
    for kind, label in kinds:
        if isinstance(value, kind):
            return label
    return f"a {type(value).__name__}"
