"""Heart Rate Measurement codec: recorded vectors, Bumble's encoder, and fuzzing."""

from __future__ import annotations

import pytest
from bumble.profiles.heart_rate_service import HeartRateService
from hypothesis import given
from hypothesis import strategies as st

from companion.ble.heart_rate import CHARACTERISTIC_NAME, HeartRateMeasurement
from companion.errors import MalformedPacketError

try:  # tests/ is not a package today; this keeps working if it becomes one
    from tests.data import ble_vectors as v
except ModuleNotFoundError:
    from data import ble_vectors as v

HRM = HeartRateMeasurement
BumbleMeasurement = HeartRateService.HeartRateMeasurement
UINT16 = st.integers(min_value=0, max_value=0xFFFF)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        pytest.param(v.HRM_INFINITIME_72, HRM(72), id="uint8-no-contact-support"),
        pytest.param(
            v.HRM_BANGLE_CONTACT_65,
            HRM(65, contact_supported=True, contact_detected=True),
            id="contact-detected",
        ),
        pytest.param(
            v.HRM_CONTACT_SUPPORTED_NOT_DETECTED,
            HRM(60, contact_supported=True, contact_detected=False),
            id="contact-supported-not-detected",
        ),
        pytest.param(v.HRM_DETECTED_BIT_WITHOUT_SUPPORT, HRM(72), id="detected-bit-alone-ignored"),
        pytest.param(v.HRM_UINT16_300, HRM(300), id="uint16-value"),
        pytest.param(v.HRM_UINT16_SMALL_72, HRM(72), id="uint16-form-of-small-value"),
        pytest.param(v.HRM_ENERGY_4660, HRM(80, energy_expended_kj=4660), id="energy"),
        pytest.param(v.HRM_ONE_RR, HRM(64, rr_intervals_s=(1.0,)), id="one-rr"),
        pytest.param(
            v.HRM_THREE_RR,
            HRM(
                63,
                contact_supported=True,
                contact_detected=True,
                rr_intervals_s=(949 / 1024, 962 / 1024, 976 / 1024),
            ),
            id="many-rr",
        ),
        pytest.param(
            v.HRM_ALL_MAX,
            HRM(
                0xFFFF,
                contact_supported=True,
                contact_detected=True,
                energy_expended_kj=0xFFFF,
                rr_intervals_s=(0xFFFF / 1024,),
            ),
            id="all-max",
        ),
        pytest.param(v.HRM_RESERVED_BITS, HRM(72), id="reserved-bits-ignored"),
        pytest.param(
            v.HRM_BUMBLE_72_TWO_RR,
            HRM(
                72,
                contact_supported=True,
                contact_detected=True,
                rr_intervals_s=(0.7998046875, 0.8125),
            ),
            id="bumble-two-rr",
        ),
        pytest.param(
            v.HRM_BUMBLE_RR_FLAG_NO_INTERVALS,
            HRM(300, contact_supported=True, energy_expended_kj=5),
            id="rr-flag-without-intervals",
        ),
    ],
)
def test_from_bytes_decodes_each_recorded_packet_to_the_whole_measurement(
    data: bytes, expected: HeartRateMeasurement
) -> None:
    assert HRM.from_bytes(data) == expected


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        pytest.param(v.HRM_EMPTY, "empty value", id="empty"),
        pytest.param(v.HRM_FLAGS_ONLY, "heart rate value needs 1 byte", id="flags-only"),
        pytest.param(
            v.HRM_UINT16_TRUNCATED, "heart rate value needs 2 byte", id="uint16-truncated"
        ),
        pytest.param(v.HRM_ENERGY_TRUNCATED, "energy expended", id="energy-truncated"),
        pytest.param(v.HRM_RR_ODD_BYTES, "but 3 byte(s) follow", id="rr-odd-bytes"),
        pytest.param(v.HRM_TRAILING_BYTES, "trailing", id="trailing-bytes"),
    ],
)
def test_from_bytes_rejects_each_malformed_packet_with_its_reason(data: bytes, reason: str) -> None:
    with pytest.raises(MalformedPacketError) as caught:
        HRM.from_bytes(data)
    assert (caught.value.characteristic, caught.value.data) == (CHARACTERISTIC_NAME, data)
    assert reason in caught.value.reason


def test_malformed_packet_error_is_also_a_value_error() -> None:
    with pytest.raises(ValueError, match="malformed"):
        HRM.from_bytes(v.HRM_EMPTY)


@pytest.mark.parametrize(
    "data",
    [
        v.HRM_INFINITIME_72,
        v.HRM_BANGLE_CONTACT_65,
        v.HRM_CONTACT_SUPPORTED_NOT_DETECTED,
        v.HRM_UINT16_300,
        v.HRM_ENERGY_4660,
        v.HRM_ONE_RR,
        v.HRM_THREE_RR,
        v.HRM_ALL_MAX,
        v.HRM_BUMBLE_72_TWO_RR,
    ],
)
def test_bytes_of_a_decoded_canonical_packet_are_the_same_bytes(data: bytes) -> None:
    assert bytes(HRM.from_bytes(data)) == data


@pytest.mark.parametrize(
    ("measurement", "contact"),
    [
        (HRM(70), None),
        (HRM(70, contact_supported=True), False),
        (HRM(70, contact_supported=True, contact_detected=True), True),
    ],
)
def test_contact_is_none_when_the_device_cannot_tell(
    measurement: HeartRateMeasurement, contact: bool | None
) -> None:
    assert measurement.contact is contact


def test_rr_ms_gives_the_intervals_in_milliseconds() -> None:
    assert HRM(60, rr_intervals_s=(1.0, 0.5)).rr_ms == (1000.0, 500.0)


def test_constructor_rounds_rr_to_the_wire_resolution() -> None:
    assert HRM(60, rr_intervals_s=(0.8,)).rr_intervals_s == (819 / 1024,)


def test_flag_names_all_five_defined_bits() -> None:
    assert [(f.name, f.value) for f in HRM.Flag] == [
        ("VALUE_UINT16", 0x01),
        ("SENSOR_CONTACT_DETECTED", 0x02),
        ("SENSOR_CONTACT_SUPPORTED", 0x04),
        ("ENERGY_EXPENDED_PRESENT", 0x08),
        ("RR_INTERVALS_PRESENT", 0x10),
    ]


@pytest.mark.parametrize(
    "kwargs",
    [
        pytest.param({"heart_rate": -1}, id="negative-hr"),
        pytest.param({"heart_rate": 0x10000}, id="hr-too-big"),
        pytest.param({"heart_rate": True}, id="hr-bool"),
        pytest.param({"heart_rate": 72.5}, id="hr-float"),
        pytest.param({"heart_rate": 60, "contact_detected": True}, id="detected-unsupported"),
        pytest.param({"heart_rate": 60, "energy_expended_kj": 0x10000}, id="energy-too-big"),
        pytest.param({"heart_rate": 60, "energy_expended_kj": -1}, id="energy-negative"),
        pytest.param({"heart_rate": 60, "rr_intervals_s": (-0.1,)}, id="rr-negative"),
        pytest.param({"heart_rate": 60, "rr_intervals_s": (64.0,)}, id="rr-too-long"),
        pytest.param({"heart_rate": 60, "rr_intervals_s": (float("nan"),)}, id="rr-nan"),
    ],
)
def test_constructor_rejects_values_the_wire_cannot_carry(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        HRM(**kwargs)  # type: ignore[arg-type]


@st.composite
def bumble_measurements(draw: st.DrawFn) -> tuple[BumbleMeasurement, HeartRateMeasurement]:
    """A Bumble measurement and the one we expect to decode from its bytes."""
    heart_rate = draw(UINT16)
    contact = draw(st.none() | st.booleans())
    energy = draw(st.none() | UINT16)
    rr_s = draw(
        st.none()
        | st.lists(UINT16.map(lambda units: units / 1024), max_size=9)
        | st.lists(st.floats(min_value=0.0, max_value=0xFFFF / 1024), max_size=9)
    )
    bumble = BumbleMeasurement(
        heart_rate=heart_rate,
        sensor_contact_detected=contact,
        energy_expended=energy,
        rr_intervals=rr_s,
    )
    expected = HRM(
        heart_rate=heart_rate,
        contact_supported=contact is not None,
        contact_detected=bool(contact),
        energy_expended_kj=energy,
        # Bumble truncates to whole 1/1024 s units.
        rr_intervals_s=tuple(int(rr * 1024) / 1024 for rr in rr_s or ()),
    )
    return bumble, expected


@given(bumble_measurements())
def test_bytes_from_bumbles_encoder_decode_to_the_same_values(
    case: tuple[BumbleMeasurement, HeartRateMeasurement],
) -> None:
    bumble, expected = case
    decoded = HRM.from_bytes(bytes(bumble))
    assert decoded == expected
    assert HRM.from_bytes(bytes(decoded)) == decoded


@given(bumble_measurements())
def test_our_encoder_matches_bumbles_except_for_an_empty_rr_list(
    case: tuple[BumbleMeasurement, HeartRateMeasurement],
) -> None:
    bumble, ours = case
    bumble_bytes = bytes(bumble)
    if bumble.rr_intervals == []:
        # Bumble sets the RR flag for an empty list; we leave it clear.
        bumble_bytes = bytes([bumble_bytes[0] & ~HRM.Flag.RR_INTERVALS_PRESENT]) + bumble_bytes[1:]
    assert bytes(ours) == bumble_bytes


measurements = st.builds(
    HRM,
    heart_rate=UINT16,
    contact_supported=st.just(True),
    contact_detected=st.booleans(),
    energy_expended_kj=st.none() | UINT16,
    rr_intervals_s=st.lists(st.floats(min_value=0.0, max_value=0xFFFF / 1024)).map(tuple),
) | st.builds(HRM, heart_rate=UINT16, energy_expended_kj=st.none() | UINT16)


@given(measurements)
def test_every_measurement_round_trips_through_bytes(measurement: HeartRateMeasurement) -> None:
    assert HRM.from_bytes(bytes(measurement)) == measurement


@given(st.binary(max_size=40))
def test_arbitrary_bytes_decode_or_raise_malformed_packet_error(data: bytes) -> None:
    try:
        measurement = HRM.from_bytes(data)
    except MalformedPacketError as exc:
        assert exc.data == data
    else:
        assert HRM.from_bytes(bytes(measurement)) == measurement
