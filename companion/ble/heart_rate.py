"""Heart Rate Measurement (0x2A37) codec: bytes in, a frozen dataclass out, and back.

Layout (Heart Rate Service 1.0, 3.1.1): one flags byte, the heart rate as uint8 or uint16,
then the optional energy expended (uint16, kJ) and zero or more RR intervals (uint16 each,
in 1/1024 s), all little-endian.
"""

from __future__ import annotations

import enum
import math
import struct
from dataclasses import dataclass
from typing import Final

from companion.errors import MalformedPacketError

CHARACTERISTIC_NAME: Final = "Heart Rate Measurement (0x2A37)"

RR_UNITS_PER_SECOND: Final = 1024
MS_PER_SECOND: Final = 1000.0
UINT8_MAX: Final = 0xFF
UINT16_MAX: Final = 0xFFFF

_FLAGS = struct.Struct("<B")
_UINT8 = struct.Struct("<B")
_UINT16 = struct.Struct("<H")


def _is_uint16(value: object) -> bool:
    # bool is an int subclass; True as a heart rate is a bug, not 1 bpm.
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= UINT16_MAX


def _quantise_rr(seconds: float) -> float:
    return round(seconds * RR_UNITS_PER_SECOND) / RR_UNITS_PER_SECOND


@dataclass(frozen=True)
class HeartRateMeasurement:
    """One notification's worth of heart data.

    ``rr_intervals_s`` holds seconds at the wire's resolution (raw / 1024): values given
    to the constructor are rounded to it, so a measurement survives ``bytes()`` and
    ``from_bytes`` unchanged.
    """

    heart_rate: int
    contact_supported: bool = False
    contact_detected: bool = False
    energy_expended_kj: int | None = None
    rr_intervals_s: tuple[float, ...] = ()

    class Flag(enum.IntFlag):
        VALUE_UINT16 = 1 << 0
        SENSOR_CONTACT_DETECTED = 1 << 1
        SENSOR_CONTACT_SUPPORTED = 1 << 2
        ENERGY_EXPENDED_PRESENT = 1 << 3
        RR_INTERVALS_PRESENT = 1 << 4

    def __post_init__(self) -> None:
        if not _is_uint16(self.heart_rate):
            raise ValueError(
                f"heart_rate must be an int in 0..{UINT16_MAX}, not {self.heart_rate!r}"
            )
        if self.contact_detected and not self.contact_supported:
            raise ValueError("contact_detected needs contact_supported")
        energy = self.energy_expended_kj
        if energy is not None and not _is_uint16(energy):
            raise ValueError(f"energy_expended_kj must be in 0..{UINT16_MAX}, not {energy!r}")
        quantised = []
        for rr in self.rr_intervals_s:
            if not math.isfinite(rr) or rr < 0 or round(rr * RR_UNITS_PER_SECOND) > UINT16_MAX:
                raise ValueError(
                    f"each RR interval must be in 0..{UINT16_MAX / RR_UNITS_PER_SECOND:.3f} s, "
                    f"not {rr!r}"
                )
            quantised.append(_quantise_rr(rr))
        object.__setattr__(self, "rr_intervals_s", tuple(quantised))

    @property
    def contact(self) -> bool | None:
        """Skin contact: None when the device cannot tell."""
        return self.contact_detected if self.contact_supported else None

    @property
    def rr_ms(self) -> tuple[float, ...]:
        return tuple(rr * MS_PER_SECOND for rr in self.rr_intervals_s)

    @classmethod
    def from_bytes(cls, data: bytes | bytearray | memoryview) -> HeartRateMeasurement:
        raw = bytes(data)

        def malformed(reason: str) -> MalformedPacketError:
            return MalformedPacketError(CHARACTERISTIC_NAME, reason, raw)

        if not raw:
            raise malformed("empty value; at least the flags byte and a heart rate are needed")
        (flag_bits,) = _FLAGS.unpack_from(raw)
        # Bits 5-7 are reserved for future use. Masking them off (rather than rejecting the
        # packet) keeps readings flowing from firmware that starts using them; the fields we
        # know are still laid out as bits 0-4 say.
        flags = cls.Flag(flag_bits & _KNOWN_FLAG_BITS)
        offset = _FLAGS.size

        value_format = _UINT16 if flags & cls.Flag.VALUE_UINT16 else _UINT8
        if len(raw) < offset + value_format.size:
            raise malformed(f"heart rate value needs {value_format.size} byte(s) after the flags")
        (heart_rate,) = value_format.unpack_from(raw, offset)
        offset += value_format.size

        energy: int | None = None
        if flags & cls.Flag.ENERGY_EXPENDED_PRESENT:
            if len(raw) < offset + _UINT16.size:
                raise malformed("energy expended flag set but its 2 bytes are missing")
            (energy,) = _UINT16.unpack_from(raw, offset)
            offset += _UINT16.size

        rest = raw[offset:]
        rr_intervals: tuple[float, ...] = ()
        if flags & cls.Flag.RR_INTERVALS_PRESENT:
            if len(rest) % _UINT16.size:
                raise malformed(f"RR intervals take 2 bytes each, but {len(rest)} byte(s) follow")
            # An RR flag with no intervals after it is accepted: Bumble's encoder sends that
            # for an empty list, and it carries no contradiction.
            rr_intervals = tuple(
                units / RR_UNITS_PER_SECOND for (units,) in _UINT16.iter_unpack(rest)
            )
        elif rest:
            # Extra bytes the flags do not account for mean we misread the layout; a wrong
            # heart rate is worse than a dropped one.
            raise malformed(f"{len(rest)} trailing byte(s) not described by the flags")

        # Contact status is the two-bit field in bits 1-2: values 0 and 1 both mean "not
        # supported", so bit 1 alone says nothing.
        supported = bool(flags & cls.Flag.SENSOR_CONTACT_SUPPORTED)
        detected = supported and bool(flags & cls.Flag.SENSOR_CONTACT_DETECTED)
        return cls(
            heart_rate=heart_rate,
            contact_supported=supported,
            contact_detected=detected,
            energy_expended_kj=energy,
            rr_intervals_s=rr_intervals,
        )

    def __bytes__(self) -> bytes:
        flags = self.Flag(0)
        if self.heart_rate > UINT8_MAX:
            flags |= self.Flag.VALUE_UINT16
            body = _UINT16.pack(self.heart_rate)
        else:
            body = _UINT8.pack(self.heart_rate)
        if self.contact_supported:
            flags |= self.Flag.SENSOR_CONTACT_SUPPORTED
            if self.contact_detected:
                flags |= self.Flag.SENSOR_CONTACT_DETECTED
        if self.energy_expended_kj is not None:
            flags |= self.Flag.ENERGY_EXPENDED_PRESENT
            body += _UINT16.pack(self.energy_expended_kj)
        if self.rr_intervals_s:
            flags |= self.Flag.RR_INTERVALS_PRESENT
            body += b"".join(
                _UINT16.pack(round(rr * RR_UNITS_PER_SECOND)) for rr in self.rr_intervals_s
            )
        return _FLAGS.pack(flags) + body


_KNOWN_FLAG_BITS: Final = int(
    HeartRateMeasurement.Flag.VALUE_UINT16
    | HeartRateMeasurement.Flag.SENSOR_CONTACT_DETECTED
    | HeartRateMeasurement.Flag.SENSOR_CONTACT_SUPPORTED
    | HeartRateMeasurement.Flag.ENERGY_EXPENDED_PRESENT
    | HeartRateMeasurement.Flag.RR_INTERVALS_PRESENT
)
