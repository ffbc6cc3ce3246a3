"""Short tips shown with the morning summary, and the rule that picks one to fit the data.

The tips are everyday habits, written in our own words: no medical claims, nothing about
medicines. ``choose_advice`` is pure and deterministic: the same facts give the same tip.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date

from companion.json_records import fields_json

# A rating this high (0-10), or a session ended with the pain button, points to a professional.
SEVERE_PAIN = 7
# This many days without a routine and the tip is about keeping going.
INACTIVE_DAYS = 2
# Breathing followed the pacer less well than this (0..1): the tip is about easing tension.
POOR_BREATHING_SCORE = 0.5


class AdviceKey(enum.StrEnum):
    START_SLOW = "start_slow"
    CONSULT_PROFESSIONAL = "consult_professional"
    SLEEP_POSTURE = "sleep_posture"
    HEAT_COLD = "heat_cold"
    STAY_ACTIVE = "stay_active"
    STRESS = "stress"


@dataclass(frozen=True)
class Advice:
    key: AdviceKey
    title: str
    text: str

    def to_json(self) -> dict[str, str]:
        return fields_json(self)


ADVICE: dict[AdviceKey, Advice] = {
    advice.key: advice
    for advice in (
        Advice(
            AdviceKey.START_SLOW,
            "Start gently",
            "A few repetitions of each movement are plenty at first. Add more only once "
            "the last few sessions have felt easy, and give your back time to get used to it.",
        ),
        Advice(
            AdviceKey.CONSULT_PROFESSIONAL,
            "Talk it over with a professional",
            "When pain stays high, keeps climbing or makes you stop a session, a doctor or "
            "physiotherapist can look at what is going on and suggest movements that suit you.",
        ),
        Advice(
            AdviceKey.SLEEP_POSTURE,
            "How you lie at night",
            "On your side, a pillow tucked between the knees keeps the hips level. On your "
            "back, a cushion under the knees lets the lower back settle. A mattress that still "
            "holds you up makes both easier.",
        ),
        Advice(
            AdviceKey.HEAT_COLD,
            "Warmth or cool",
            "Many people find a warm shower or a heat pad loosens a stiff back, while a cool "
            "pack wrapped in a cloth is kinder to a freshly strained one. Try short spells of "
            "each and keep whichever feels better.",
        ),
        Advice(
            AdviceKey.STAY_ACTIVE,
            "Keep moving",
            "A little movement every day does more than a lot now and then. An easy walk, a "
            "swim or a few minutes of your routine all count; choose what your back is happy with.",
        ),
        Advice(
            AdviceKey.STRESS,
            "Let the tension go",
            "Worry and tension often end up in the back. Slow breathing, a hobby, time outside "
            "or a chat with someone close can help you unwind. Tonight, let each breath out "
            "last a little longer than the breath in.",
        ),
    )
}

# When nothing in the data calls for a particular tip, the days take turns.
ROTATION: tuple[AdviceKey, ...] = (
    AdviceKey.SLEEP_POSTURE,
    AdviceKey.HEAT_COLD,
    AdviceKey.STAY_ACTIVE,
    AdviceKey.STRESS,
    AdviceKey.START_SLOW,
)


@dataclass(frozen=True)
class AdviceFacts:
    day: date
    days_since_last_session: int | None  # None: no session ever
    pain_rising: bool = False
    latest_pain: int | None = None
    stopped_for_pain: bool = False
    breathing_score: float | None = None


def choose_advice(facts: AdviceFacts) -> Advice:
    """The first rule that fits, most cautious first; otherwise the tip of the day."""
    severe = facts.latest_pain is not None and facts.latest_pain >= SEVERE_PAIN
    if facts.stopped_for_pain or severe:
        return ADVICE[AdviceKey.CONSULT_PROFESSIONAL]
    if facts.pain_rising:
        return ADVICE[AdviceKey.HEAT_COLD]
    if facts.days_since_last_session is None:
        return ADVICE[AdviceKey.START_SLOW]
    if facts.days_since_last_session >= INACTIVE_DAYS:
        return ADVICE[AdviceKey.STAY_ACTIVE]
    if facts.breathing_score is not None and facts.breathing_score < POOR_BREATHING_SCORE:
        return ADVICE[AdviceKey.STRESS]
    return ADVICE[ROTATION[facts.day.toordinal() % len(ROTATION)]]
