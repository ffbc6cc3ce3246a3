"""The pain scale people rate on before and after a routine, for every part that takes a
rating (the dashboard's API, the CLI, the summary's description): 0 none, 10 the worst."""

from __future__ import annotations

from typing import Final

PAIN_MIN: Final = 0
PAIN_MAX: Final = 10
