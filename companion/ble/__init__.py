"""Bluetooth LE: codecs, device profiles, the band link and the virtual radio."""
