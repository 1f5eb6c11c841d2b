"""The Python file both editor tests open, where the cursor goes, and what the fake model answers there."""

from __future__ import annotations

import json

from tests.fakes.anthropic_api import FakeAnthropic, Reply

CALC = '''\
"""Geometry helpers."""

import math


def area(width, height):
    """The area of a rectangle."""
    return width * height


def distance(dx, dy):
    return math.sq


def report():
    return area(2, 3)


def unused():
    x = 1
    return 2
'''
INLINE_LINE = 11  # "    return math.sq": the cursor at its end
HOVER_AT = (15, 12)  # on `area` in report()
FIX_AT = (19, 4)  # "    x = 1": F841
COMPLETION = "rt(dx * dx + dy * dy)"
SUMMARY = "Multiplies width by height."
FIXED = "def unused():\n    return 2"


def script_model(fake: FakeAnthropic) -> None:
    """The fix for F841, the hover explanation, the inline completion (any streamed request)."""
    fake.script(Reply(text=json.dumps({"replacement": FIXED, "explanation": "Removed the unused variable."})),
                match=lambda body: "F841" in json.dumps(body))
    fake.script(Reply(text=json.dumps({"summary": SUMMARY})), match=lambda body: "summary" in json.dumps(body))
    fake.script(Reply(text=COMPLETION), match=lambda body: bool(body.get("stream")))
