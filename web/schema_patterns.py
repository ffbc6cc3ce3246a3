"""Regular expressions for the OpenAPI description that accept exactly what the server's own
parsers accept, so a request the description calls valid is never refused (and one it calls
invalid never slips through). JSON Schema's "pattern" is ECMA-262, whose "$" is the very end
(Python's would also match before a final newline). tests/web/test_openapi.py holds each,
read as JSON Schema reads it, against the parser it describes.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from typing import Final

# What str.strip() removes: every character for which str.isspace() is true (a test checks
# this list against Python's own). ECMA's \s is a different set, so it is spelled out.
PYTHON_WHITESPACE: Final = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005"
    "\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
_WS: Final = "[" + "".join(f"\\u{ord(c):04x}" for c in PYTHON_WHITESPACE) + "]*"

# A time of day as web.timeofday.parse_hh_mm takes it: H:MM or HH:MM, 0:00 to 23:59.
HH_MM: Final = r"^(?:[01]?[0-9]|2[0-3]):[0-5][0-9]$"


def _any_case(word: str) -> str:
    # Only ASCII letters lower to the letters of day names (a test checks), so [Mm] says it.
    return "".join(f"[{c.upper()}{c.lower()}]" if c.isalpha() else c for c in word)


def _one_of(words: Iterable[str]) -> str:
    return "(?:" + "|".join(_any_case(w) for w in sorted(words, key=len, reverse=True)) + ")"


def weekday_item(words: Iterable[str]) -> str:
    """One weekday as ``word.strip().lower()`` reads it: any case, whitespace around."""
    return f"^{_WS}{_one_of(words)}{_WS}$"


def weekday_list(words: Iterable[str], most: int) -> str:
    """A comma-separated string of 1 to ``most`` weekdays; blank pieces between commas are
    skipped, as ``[w for w in text.split(",") if w.strip()]`` skips them."""
    blank = _WS
    word = f"{_WS}{_one_of(words)}{_WS}"
    return f"^(?:{blank},)*{word}(?:,(?:{blank},)*{word}){{0,{most - 1}}}(?:,{blank})*$"


def _digit_above(digit: str) -> str | None:
    low = int(digit) + 1
    if low > 9:
        return None
    return str(low) if low == 9 else f"[{low}-9]"


def iso_day_on_or_after(first: datetime.date) -> str:
    """YYYY-MM-DD strings from ``first`` on. ISO days of four-digit years sort as text, so
    this is "at least ``first``, digit by digit"; which days exist is the "date" format's
    business."""
    text = first.isoformat()
    any_rest = {i: ("-" if c == "-" else "[0-9]") for i, c in enumerate(text)}
    branches: list[str] = []
    for position, character in enumerate(text):
        if character == "-":
            continue
        higher = _digit_above(character)
        if higher is not None:
            rest = "".join(any_rest[i] for i in range(position + 1, len(text)))
            branches.append(text[:position] + higher + rest)
    branches.append(text)
    return "^(?:" + "|".join(branches) + ")$"


# A session id in a path (web/api.py's "sid" converter; unanchored, as converters take them).
SESSION_ID: Final = r"[A-Za-z0-9_-]{1,64}"
# Bluetooth addresses as the OS stacks print them: MAC (Linux, Windows) or UUID (macOS).
BLUETOOTH_ADDRESS: Final = (
    r"[0-9A-Fa-f]{2}(?::[0-9A-Fa-f]{2}){5}"
    r"|[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}"
)


def anchored(pattern: str) -> str:
    """``pattern`` as a JSON Schema pattern matching whole values only."""
    return f"^(?:{pattern})$"
