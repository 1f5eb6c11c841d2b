"""How long an automatic completion request waits for typing to pause (pure).

The wait adapts to the typist: a pause longer than their usual gap between keystrokes means they are
waiting for a suggestion. Someone who rarely accepts suggestions gets a longer wait (fewer requests whose
answers they would dismiss anyway). Bounded by the settings' minimum and maximum.
"""

from __future__ import annotations

import statistics
from collections.abc import Collection

from haiku_lsp.settings import Settings

ACCEPTANCE_SAMPLE = 20  # suggestions shown before the acceptance rate changes the debounce
ACCEPTANCE_LOW = 0.2  # an acceptance rate below this lengthens the debounce (up to twice, at 0)
MIN_GAPS = 3  # gaps between keystrokes seen before the typist's own rhythm is used


def adaptive_debounce_s(gaps: Collection[float], settings: Settings, shown: int, accepted: int) -> float:
    """The debounce in seconds, from the recent *gaps* between edits (s) and the suggestions *shown* and
    *accepted* so far."""
    if len(gaps) < MIN_GAPS:
        delay = settings.debounce_ms / 1000
    else:
        delay = statistics.median(gaps) * 1.5
    return min(max(delay * acceptance_factor(shown, accepted), settings.debounce_min_ms / 1000),
               settings.debounce_max_ms / 1000)


def acceptance_factor(shown: int, accepted: int) -> float:
    """1 until ACCEPTANCE_SAMPLE suggestions were shown; then up to 2 for someone who accepts less than one
    in ACCEPTANCE_LOW of them."""
    if shown < ACCEPTANCE_SAMPLE:
        return 1.0
    rate = accepted / shown
    return 1.0 if rate >= ACCEPTANCE_LOW else 2.0 - rate / ACCEPTANCE_LOW
