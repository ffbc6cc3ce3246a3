"""Byte vectors for the Bluetooth codecs, as they arrive from the air.

Where a vector copies what a particular firmware or library sends, the comment says which;
the rest are laid out by hand from the Heart Rate Service 1.0 specification (3.1.1).
"""

# --- Heart Rate Measurement (0x2A37) ------------------------------------------------------

# InfiniTime sends flags 0 and a uint8 heart rate (HeartRateService.cpp): 72 bpm.
HRM_INFINITIME_72 = bytes.fromhex("00 48")
# Bangle.js's bootgatthrm app sends flags 0x06 (contact supported and detected): 65 bpm.
HRM_BANGLE_CONTACT_65 = bytes.fromhex("06 41")
# Contact detection supported, but the strap is not touching skin: 60 bpm.
HRM_CONTACT_SUPPORTED_NOT_DETECTED = bytes.fromhex("04 3c")
# Bit 1 (detected) without bit 2 (supported) is status value 1: "not supported".
HRM_DETECTED_BIT_WITHOUT_SUPPORT = bytes.fromhex("02 48")
# A heart rate above 255 needs the uint16 form: 300 bpm.
HRM_UINT16_300 = bytes.fromhex("01 2c 01")
# The uint16 form is also allowed for small values: 72 bpm.
HRM_UINT16_SMALL_72 = bytes.fromhex("01 48 00")
# Energy expended present: 80 bpm, 4660 kJ.
HRM_ENERGY_4660 = bytes.fromhex("08 50 34 12")
# One RR interval of 1024/1024 s at 64 bpm.
HRM_ONE_RR = bytes.fromhex("10 40 00 04")
# A chest strap's typical packet: contact detected, 63 bpm, three RR intervals
# (949, 962, 976)/1024 s.
HRM_THREE_RR = bytes.fromhex("16 3f b5 03 c2 03 d0 03")
# Every field present and every value at its maximum.
HRM_ALL_MAX = bytes.fromhex("1f ff ff ff ff ff ff")
# Reserved bits 5-7 set on an otherwise plain 72 bpm packet.
HRM_RESERVED_BITS = bytes.fromhex("e0 48")
# Bumble 0.0.236's encoder for HeartRateMeasurement(72, contact=True, rr=[0.8, 0.8125]):
# it truncates 0.8 s to 819/1024.
HRM_BUMBLE_72_TWO_RR = bytes.fromhex("16 48 33 03 40 03")
# Bumble 0.0.236's encoder for (300, contact=False, energy=5, rr=[]): RR flag, no intervals.
HRM_BUMBLE_RR_FLAG_NO_INTERVALS = bytes.fromhex("1d 2c 01 05 00")

# Malformed heart rate packets.
HRM_EMPTY = b""
HRM_FLAGS_ONLY = bytes.fromhex("00")
HRM_UINT16_TRUNCATED = bytes.fromhex("01 48")
HRM_ENERGY_TRUNCATED = bytes.fromhex("08 48 01")
HRM_RR_ODD_BYTES = bytes.fromhex("10 48 00 04 01")
HRM_TRAILING_BYTES = bytes.fromhex("00 48 00")

# --- Battery Level (0x2A19) --------------------------------------------------------------

BATTERY_FULL = bytes.fromhex("64")
BATTERY_EMPTY = bytes.fromhex("00")
BATTERY_ABOVE_100 = bytes.fromhex("65")
BATTERY_NO_BYTES = b""
BATTERY_TWO_BYTES = bytes.fromhex("50 00")
