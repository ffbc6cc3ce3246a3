"""Device profiles: the shipped files, user overrides, validation errors and matching."""

from __future__ import annotations

import textwrap
from importlib.resources import files
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from companion.ble import uuids
from companion.ble.profiles import (
    Cue,
    DeviceProfile,
    HapticWrite,
    Match,
    Offers,
    TextWrite,
    cue_named,
    load_profile,
    load_profiles,
    match_advertisement,
    parse_profile,
    profile_from_data,
    select_profile,
)
from companion.cues import CUE_NAMES, CueName
from companion.errors import ProfileError, UnknownNameError

SHIPPED = {"bangle-js", "generic-heart-rate", "immediate-alert", "pinetime-infinitime", "polar-h10"}
HRS, IAS, BAS = "180d", "1802", "180f"
INFINITIME_DFU = "00001530-1212-efde-1523-785feabcd123"
POLAR_COMPANY_ID = 0x006B
ESPRUINO_COMPANY_ID = 0x0590

MINIMAL = """\
title = "Test band"
description = "A band for tests."
"""

HAPTIC = (
    MINIMAL
    + """
[match]
service_uuids = ["180d"]

[offers]
heart_rate = true

[[cues.hold-end]]
after_s = 0.5
characteristic = "2a06"
value = "00"

[[cues.hold-end]]
after_s = 0
characteristic = "2a06"
value = "02"
duration_s = 0.5
with_response = true
"""
)


@pytest.fixture(scope="module")
def builtins() -> dict[str, DeviceProfile]:
    return load_profiles(None)


def write_profile(directory: Path, name: str, text: str) -> Path:
    path = directory / f"{name}.toml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


# --- the shipped profiles ----------------------------------------------------------------


def test_every_shipped_profile_loads_under_its_file_name(
    builtins: dict[str, DeviceProfile],
) -> None:
    assert set(builtins) == SHIPPED
    assert all(profile.name == name for name, profile in builtins.items())


def test_polar_h10_offers_heart_rate_rr_and_battery_and_no_cues(
    builtins: dict[str, DeviceProfile],
) -> None:
    polar = builtins["polar-h10"]
    assert (polar.match, polar.offers, dict(polar.cues), polar.has_haptics) == (
        Match(name_patterns=("Polar H10*",), priority=20),
        Offers(heart_rate=True, rr_intervals=True, battery=True),
        {},
        False,
    )


def test_immediate_alert_hold_end_is_a_high_alert_then_off(
    builtins: dict[str, DeviceProfile],
) -> None:
    assert builtins["immediate-alert"].cue_writes("hold-end") == (
        HapticWrite(0.0, uuids.ALERT_LEVEL, b"\x02", duration_s=0.6),
        HapticWrite(0.6, uuids.ALERT_LEVEL, b"\x00"),
    )


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_every_shipped_profile_with_haptics_defines_every_cue(
    builtins: dict[str, DeviceProfile], name: str
) -> None:
    profile = builtins[name]
    if profile.has_haptics:
        assert {cue for cue in CUE_NAMES if profile.cue_writes(cue)} == set(CUE_NAMES)
    else:
        assert all(profile.cue_writes(cue) == () for cue in CUE_NAMES)


def test_every_cue_of_a_haptic_profile_is_a_different_pattern(
    builtins: dict[str, DeviceProfile],
) -> None:
    for profile in builtins.values():
        if profile.has_haptics:
            patterns = {profile.cue_writes(cue) for cue in CUE_NAMES}
            assert len(patterns) == len(CUE_NAMES), profile.name


def test_where_durations_are_known_pain_has_the_longest_single_buzz(
    builtins: dict[str, DeviceProfile],
) -> None:
    checked = 0
    for profile in builtins.values():
        longest = {
            cue: max((w.duration_s or 0.0 for w in profile.cue_writes(cue)), default=0.0)
            for cue in CUE_NAMES
        }
        if longest["pain"]:
            checked += 1
            assert longest["pain"] == max(longest.values()), profile.name
    assert checked


def test_bangle_commands_run_silently_one_line_each(builtins: dict[str, DeviceProfile]) -> None:
    writes = [w for cue in CUE_NAMES for w in builtins["bangle-js"].cue_writes(cue)]
    assert writes
    assert all(w.characteristic == uuids.NORDIC_UART_RX for w in writes)
    assert all(w.value.startswith(b"\x10Bangle.buzz(") and w.value.endswith(b")\n") for w in writes)
    assert all(w.value.count(b"\n") == 1 for w in writes)


def test_infinitime_never_writes_alert_level_zero(builtins: dict[str, DeviceProfile]) -> None:
    writes = [w for cue in CUE_NAMES for w in builtins["pinetime-infinitime"].cue_writes(cue)]
    assert writes and all(w.value != b"\x00" for w in writes)


def test_profile_files_come_from_the_device_profiles_package(
    builtins: dict[str, DeviceProfile],
) -> None:
    package_dir = Path(str(files("device_profiles")))
    assert all(p.path == package_dir / f"{p.name}.toml" for p in builtins.values())


# --- text --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "rendered"),
    [
        ("Hold still", b'\x10E.showMessage("Hold still","Back care")\n'),
        ('Say "hi"\nnow', b'\x10E.showMessage("Say \\"hi\\"\\nnow","Back care")\n'),
        ("Caf\u00e9", b'\x10E.showMessage("Caf\\u00e9","Back care")\n'),
        ("a\x00b\x10c", b'\x10E.showMessage("a b c","Back care")\n'),
        ("{text}", b'\x10E.showMessage("{text}","Back care")\n'),
    ],
)
def test_bangle_text_is_a_javascript_string_literal(
    builtins: dict[str, DeviceProfile], text: str, rendered: bytes
) -> None:
    text_write = builtins["bangle-js"].offers.text_write
    assert text_write is not None
    assert text_write.render(text) == rendered


@pytest.mark.parametrize(
    ("text", "rendered"),
    [
        ("Breathe", b"\x00\x01\x00Back care\x00Breathe"),
        ("x" * 200, b"\x00\x01\x00Back care\x00" + b"x" * 89),
        ("\u00e9" * 60, b"\x00\x01\x00Back care\x00" + "\u00e9".encode() * 44),
        ("no\x00split", b"\x00\x01\x00Back care\x00no split"),
    ],
)
def test_infinitime_text_is_a_new_alert_shortened_to_fit_the_watch(
    builtins: dict[str, DeviceProfile], text: str, rendered: bytes
) -> None:
    text_write = builtins["pinetime-infinitime"].offers.text_write
    assert text_write is not None
    assert text_write.render(text) == rendered
    assert len(rendered) <= 102


# --- user directory ----------------------------------------------------------------------


def test_a_user_profile_overrides_the_builtin_of_the_same_name_and_adds_new_ones(
    tmp_path: Path,
) -> None:
    write_profile(tmp_path, "polar-h10", MINIMAL.replace("Test band", "My own H10"))
    write_profile(tmp_path, "my-band", HAPTIC)
    (tmp_path / "notes.txt").write_text("not a profile", encoding="utf-8")
    profiles = load_profiles(tmp_path)
    assert set(profiles) == SHIPPED | {"my-band"}
    assert (profiles["polar-h10"].title, profiles["polar-h10"].path) == (
        "My own H10",
        tmp_path / "polar-h10.toml",
    )


def test_a_missing_user_directory_leaves_the_builtins(tmp_path: Path) -> None:
    assert set(load_profiles(tmp_path / "nowhere")) == SHIPPED


def test_a_broken_user_profile_is_an_error_not_skipped(tmp_path: Path) -> None:
    write_profile(tmp_path, "typo", MINIMAL + "titel = 'x'\n")
    with pytest.raises(ProfileError, match=r"typo\.toml"):
        load_profiles(tmp_path)


def test_load_profile_reads_the_whole_profile(tmp_path: Path) -> None:
    path = write_profile(tmp_path, "my-band", HAPTIC)
    assert load_profile(path) == DeviceProfile(
        name="my-band",
        path=path,
        title="Test band",
        description="A band for tests.",
        match=Match(service_uuids=frozenset({uuids.HEART_RATE_SERVICE})),
        offers=Offers(heart_rate=True),
        cues={
            "hold-end": Cue(
                (
                    HapticWrite(0.0, uuids.ALERT_LEVEL, b"\x02", True, 0.5),
                    HapticWrite(0.5, uuids.ALERT_LEVEL, b"\x00"),
                )
            )
        },
    )


# --- cue access --------------------------------------------------------------------------


def test_cue_writes_and_json_of_a_defined_cue(tmp_path: Path) -> None:
    profile = load_profile(write_profile(tmp_path, "my-band", HAPTIC))
    assert profile.cues["hold-end"].duration_s == 0.5
    assert profile.writes_json("hold-end") == [
        {"after_s": 0.0, "characteristic": uuids.ALERT_LEVEL, "value": "02"},
        {"after_s": 0.5, "characteristic": uuids.ALERT_LEVEL, "value": "00"},
    ]


def test_a_cue_in_the_vocabulary_but_not_in_the_profile_has_no_writes(tmp_path: Path) -> None:
    profile = load_profile(write_profile(tmp_path, "my-band", HAPTIC))
    assert (profile.cue_writes("breath-in"), profile.writes_json("pain")) == ((), [])


def test_a_cue_name_from_outside_is_the_cue_it_names() -> None:
    assert cue_named("hold-end") is CueName.HOLD_END


def test_a_cue_outside_the_vocabulary_is_an_unknown_name() -> None:
    with pytest.raises(UnknownNameError) as caught:
        cue_named("breathe-in")
    assert (caught.value.what, caught.value.name, caught.value.known) == (
        "cue",
        "breathe-in",
        sorted(CUE_NAMES),
    )


def test_a_loaded_profile_names_its_cues_by_the_vocabulary(tmp_path: Path) -> None:
    profile = load_profile(write_profile(tmp_path, "my-band", HAPTIC))
    assert profile.cues and all(type(name) is CueName for name in profile.cues)


def test_select_profile_finds_by_name_or_lists_the_known_ones(
    builtins: dict[str, DeviceProfile],
) -> None:
    assert select_profile(builtins, "polar-h10") is builtins["polar-h10"]
    with pytest.raises(UnknownNameError) as caught:
        select_profile(builtins, "polar-h7")
    assert caught.value.known == sorted(SHIPPED)


# --- validation --------------------------------------------------------------------------

WRITE = '[[cues.hold-end]]\nafter_s = 0.0\ncharacteristic = "2a06"\nvalue = "02"\n'


@pytest.mark.parametrize(
    ("text", "field", "problem"),
    [
        pytest.param('title = "x', "(file)", "not valid TOML", id="syntax"),
        pytest.param('description = "d"\n', "title", "is required", id="missing-title"),
        pytest.param(
            MINIMAL + "titel = 'x'\n",
            "titel",
            "unknown key; allowed: title, description, match, offers, cues",
            id="typo",
        ),
        pytest.param(
            'title = "t"\ndescription = 3\n', "description", "not the number 3", id="type"
        ),
        pytest.param('title = " "\ndescription = "d"\n', "title", "non-empty", id="blank-title"),
        pytest.param(MINIMAL + "match = 1\n", "match", "must be a table", id="match-not-table"),
        pytest.param(
            MINIMAL + "[match]\nnames = []\n", "match.names", "unknown key", id="match-unknown"
        ),
        pytest.param(
            MINIMAL + '[match]\nservice_uuids = ["180d", "zz"]\n',
            "match.service_uuids[1]",
            "is not a UUID",
            id="bad-uuid",
        ),
        pytest.param(
            MINIMAL + '[match]\nservice_uuids = "180d"\n',
            "match.service_uuids",
            "must be a list",
            id="uuids-not-list",
        ),
        pytest.param(
            MINIMAL + "[match]\nmanufacturer_ids = [70000]\n",
            "match.manufacturer_ids[0]",
            "company identifier",
            id="company-id-range",
        ),
        pytest.param(
            MINIMAL + '[match]\nname_patterns = [""]\n',
            "match.name_patterns[0]",
            "non-empty glob",
            id="empty-pattern",
        ),
        pytest.param(
            MINIMAL + "[match]\npriority = true\n", "match.priority", "integer", id="bool-priority"
        ),
        pytest.param(
            MINIMAL + '[offers]\nbattery = "yes"\n', "offers.battery", "true or false", id="flag"
        ),
        pytest.param(
            MINIMAL + "[offers]\nrr_intervals = true\n",
            "offers.rr_intervals",
            "needs offers.heart_rate",
            id="rr-without-hr",
        ),
        pytest.param(
            MINIMAL + "[offers]\ntext = true\n",
            "offers.text_write",
            "required when offers.text",
            id="text-without-write",
        ),
        pytest.param(
            MINIMAL + '[offers.text_write]\ncharacteristic = "2a46"\ntemplate = "{text}"\n',
            "offers.text_write",
            "only allowed when offers.text",
            id="write-without-text",
        ),
        pytest.param(
            MINIMAL + '[offers]\ntext = true\n[offers.text_write]\ncharacteristic = "2a46"\n'
            'template = "{txt}"\n',
            "offers.text_write.template",
            "must contain one of {text}, {text_js}",
            id="template-placeholder-typo",
        ),
        pytest.param(
            MINIMAL + '[offers]\ntext = true\n[offers.text_write]\ncharacteristic = "2a46"\n'
            'template = "long header {text}"\nmax_bytes = 4\n',
            "offers.text_write.template",
            "longer than max_bytes",
            id="template-too-long",
        ),
        pytest.param(
            MINIMAL + "[offers]\nbutton = true\n",
            "offers.button_notify",
            "required when offers.button",
            id="button-without-notify",
        ),
        pytest.param(
            MINIMAL + "[cues.breathe-in]\n",
            "cues.breathe-in",
            "unknown cue; the cues are: breath-in",
            id="cue-name",
        ),
        pytest.param(
            MINIMAL + "[cues.hold-end]\nafter_s = 0\n",
            "cues.hold-end",
            "must be a list of writes",
            id="cue-not-list",
        ),
        pytest.param(
            MINIMAL + WRITE + WRITE.replace('"02"', '"0g"'),
            "cues.hold-end[1].value",
            "is not hex bytes",
            id="bad-hex",
        ),
        pytest.param(
            MINIMAL + WRITE.replace('"02"', '""'),
            "cues.hold-end[0].value",
            "must be 1..512 bytes",
            id="empty-value",
        ),
        pytest.param(
            MINIMAL + WRITE.replace("0.0", "-0.5"),
            "cues.hold-end[0].after_s",
            "between 0 and 60 seconds",
            id="negative-after",
        ),
        pytest.param(
            MINIMAL + WRITE.replace("0.0", "nan"),
            "cues.hold-end[0].after_s",
            "between 0 and 60 seconds",
            id="nan-after",
        ),
        pytest.param(
            MINIMAL + WRITE.replace("0.0", '"soon"'),
            "cues.hold-end[0].after_s",
            "number of seconds",
            id="after-type",
        ),
        pytest.param(
            MINIMAL + WRITE.replace('characteristic = "2a06"\n', ""),
            "cues.hold-end[0].characteristic",
            "is required",
            id="missing-characteristic",
        ),
        pytest.param(
            MINIMAL + WRITE.replace('"2a06"', '"alert"'),
            "cues.hold-end[0].characteristic",
            "is not a UUID",
            id="write-uuid",
        ),
        pytest.param(
            MINIMAL + WRITE + 'text = "x"\n',
            "cues.hold-end[0].value",
            "exactly one of value",
            id="value-and-text",
        ),
        pytest.param(
            MINIMAL + WRITE + "delay = 1\n",
            "cues.hold-end[0].delay",
            "unknown key",
            id="write-unknown-key",
        ),
        pytest.param(
            MINIMAL + WRITE + "duration_s = 100\n",
            "cues.hold-end[0].duration_s",
            "between 0 and 60 seconds",
            id="duration-range",
        ),
    ],
)
def test_a_broken_profile_names_the_file_the_field_and_what_is_allowed(
    tmp_path: Path, text: str, field: str, problem: str
) -> None:
    path = write_profile(tmp_path, "broken", text)
    with pytest.raises(ProfileError) as caught:
        load_profile(path)
    assert (caught.value.path, caught.value.field) == (path, field)
    assert problem in caught.value.problem
    assert str(path) in str(caught.value)


def test_a_file_that_is_not_utf8_is_a_profile_error(tmp_path: Path) -> None:
    path = tmp_path / "latin.toml"
    path.write_bytes(b'title = "caf\xe9"\n')
    with pytest.raises(ProfileError) as caught:
        load_profile(path)
    assert (caught.value.field, caught.value.problem) == (
        "(file)",
        "is not UTF-8 text: invalid continuation byte",
    )


def test_a_missing_file_is_a_profile_error(tmp_path: Path) -> None:
    with pytest.raises(ProfileError) as caught:
        load_profile(tmp_path / "gone.toml")
    assert (caught.value.field, caught.value.problem) == (
        "(file)",
        "cannot be read: No such file or directory",
    )


# --- matching ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "services", "companies", "expected"),
    [
        pytest.param("TICKR 1A2B", [HRS, BAS], [], "generic-heart-rate", id="hrs-strap"),
        pytest.param(None, ["0x180D"], [], "generic-heart-rate", id="hrs-no-name-short-uuid"),
        pytest.param("InfiniTime", [INFINITIME_DFU], [], "pinetime-infinitime", id="infinitime"),
        pytest.param("Bangle.js 7f3a", [], [ESPRUINO_COMPANY_ID], "bangle-js", id="bangle"),
        pytest.param(
            "Polar H10 ABCDEF12", [HRS], [POLAR_COMPANY_ID], "polar-h10", id="polar-beats-generic"
        ),
        pytest.param("polar h10 12345678", [], [], "polar-h10", id="name-case-insensitive"),
        pytest.param(
            "Companion Virtual Band", [HRS, IAS, BAS], [], "immediate-alert", id="hrs-and-ias"
        ),
        pytest.param("Key finder", [IAS], [], None, id="ias-alone-is-not-a-band"),
        pytest.param("Polar Verity Sense", [], [POLAR_COMPANY_ID], None, id="other-polar"),
        pytest.param("Kettle", ["not-a-uuid"], [], None, id="unrelated"),
        pytest.param(None, [], [], None, id="nothing-advertised"),
    ],
)
def test_match_advertisement_picks_the_most_specific_profile(
    builtins: dict[str, DeviceProfile],
    name: str | None,
    services: list[str],
    companies: list[int],
    expected: str | None,
) -> None:
    found = match_advertisement(builtins, name, services, companies)
    assert (found.name if found else None) == expected


def test_equal_priorities_go_to_the_alphabetically_first_profile(tmp_path: Path) -> None:
    text = MINIMAL + '[match]\nname_patterns = ["Band*"]\npriority = 5\n'
    profiles = {
        name: load_profile(write_profile(tmp_path, name, text)) for name in ("zeta", "alpha", "mid")
    }
    found = match_advertisement(profiles, "Band 1", [], [])
    assert found is not None and found.name == "alpha"


def test_a_profile_without_match_criteria_is_only_chosen_by_name(tmp_path: Path) -> None:
    profiles = {"bare": load_profile(write_profile(tmp_path, "bare", MINIMAL))}
    assert match_advertisement(profiles, "Anything", [HRS], [1]) is None


# --- fuzzing -----------------------------------------------------------------------------

KEYS = st.sampled_from(
    [
        "title", "description", "match", "offers", "cues", "service_uuids",
        "required_service_uuids", "name_patterns", "manufacturer_ids", "priority",
        "heart_rate", "rr_intervals", "battery", "button", "text", "text_write",
        "button_notify", "characteristic", "template", "with_response", "max_bytes",
        "after_s", "value", "duration_s", *CUE_NAMES, "other",
    ]
)  # fmt: skip
SCALARS = (
    st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats()
    | st.sampled_from(["180d", "2a06", "02", "zz", "{text}", "Band*", "", "x"])
    | st.text(max_size=4)
)
TOML_VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(KEYS, inner, max_size=3),
    max_leaves=8,
)


def mostly(valid: st.SearchStrategy[object]) -> st.SearchStrategy[object]:
    """Usually a valid value, sometimes anything at all."""
    return st.integers(0, 9).flatmap(lambda roll: TOML_VALUES if roll == 0 else valid)


UUIDS = mostly(st.sampled_from(["180d", "0x2A06", "1802", uuids.NORDIC_UART_RX, "18"]))
WRITES = st.fixed_dictionaries(
    {
        "after_s": mostly(st.floats(min_value=0.0, max_value=60.0) | st.integers(0, 60)),
        "characteristic": UUIDS,
    },
    optional={
        "value": mostly(st.sampled_from(["01", "02 00", "0g", ""])),
        "text": mostly(st.text(max_size=5)),
        "with_response": mostly(st.booleans()),
        "duration_s": mostly(st.floats(min_value=0.0, max_value=60.0)),
    },
)
TEXT_WRITE = st.fixed_dictionaries(
    {"characteristic": UUIDS, "template": mostly(st.sampled_from(["{text}", "<{text_js}>"]))},
    optional={"with_response": mostly(st.booleans()), "max_bytes": mostly(st.integers(0, 600))},
)
DOCUMENTS = st.fixed_dictionaries(
    {"title": mostly(st.just("Band")), "description": mostly(st.just("A band."))},
    optional={
        "match": mostly(
            st.fixed_dictionaries(
                {},
                optional={
                    "service_uuids": mostly(st.lists(UUIDS, max_size=2)),
                    "required_service_uuids": mostly(st.lists(UUIDS, max_size=2)),
                    "name_patterns": mostly(st.lists(st.text(max_size=4), max_size=2)),
                    "manufacturer_ids": mostly(st.lists(st.integers(-1, 0x10000), max_size=2)),
                    "priority": mostly(st.integers()),
                },
            )
        ),
        "offers": mostly(
            st.fixed_dictionaries(
                {},
                optional={
                    **{
                        flag: mostly(st.booleans())
                        for flag in ("heart_rate", "rr_intervals", "battery", "button", "text")
                    },
                    "text_write": mostly(TEXT_WRITE),
                    "button_notify": UUIDS,
                },
            )
        ),
        "cues": mostly(
            st.dictionaries(
                st.sampled_from([*CUE_NAMES, "breathe-in"]),
                mostly(st.lists(mostly(WRITES), max_size=3)),
                max_size=3,
            )
        ),
    },
)


@settings(max_examples=300)
@given(DOCUMENTS)
def test_arbitrary_toml_documents_load_or_raise_profile_error(data: dict[str, object]) -> None:
    try:
        profile = profile_from_data(data, name="fuzz", path=Path("fuzz.toml"))
    except ProfileError as exc:
        assert exc.path == Path("fuzz.toml") and exc.field
    else:
        assert (profile.name, profile.title) == ("fuzz", data["title"])


@given(st.data())
def test_mangled_profile_text_loads_or_raises_profile_error(data: st.DataObject) -> None:
    source = HAPTIC
    start = data.draw(st.integers(0, len(source)))
    end = data.draw(st.integers(start, len(source)))
    insert = data.draw(st.text(alphabet='"[]=.,\n #0123456789abcdefx_-', max_size=6))
    text = source[:start] + insert + source[end:]
    try:
        parse_profile(text, name="fuzz", path=Path("fuzz.toml"))
    except ProfileError as exc:
        assert exc.field


def test_text_write_render_of_a_template_without_limit_keeps_the_whole_text() -> None:
    text_write = TextWrite(characteristic=uuids.NEW_ALERT, template="<{text}>")
    assert text_write.render("x" * 600) == b"<" + b"x" * 600 + b">"
