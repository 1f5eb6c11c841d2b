"""A scripted upstream for test generation on the pinned `inflection` package (tests/harness/pypi.py): the
fake API answers each "write tests for `f`" request with the test a good model would write for `f`,
except for a few answers that are wrong on purpose and must be caught by the sandboxed run:

- `ordinal`: the first test expects ordinal(11) == "st" (it is "th"); the repair is right -> passes
  after the repair;
- `pluralize`: expects "persons" for "person" (it is "people"), and the repair keeps it -> fails after
  the repair.

Used by tests/e2e/test_gen_tests.py and bench/gentests.py.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable

from tests.fakes.anthropic_api import Reply
from tests.fakes.anthropic_api.wire import content_text

_TARGET = re.compile(r"Write tests for the (?:function|method|async function) `([\w.]+)`")
_CASES: dict[str, list[tuple[str, str]]] = {
    "camelize": [('"device_type"', "DeviceType"), ('"device_type", False', "deviceType")],
    "dasherize": [('"puni_puni"', "puni-puni"), ('"no_dash_here_"', "no-dash-here-")],
    "humanize": [('"employee_salary"', "Employee salary"), ('"author_id"', "Author")],
    "ordinal": [("1", "st"), ("2", "nd"), ("1003", "rd"), ("11", "th"), ("-1021", "st")],
    "ordinalize": [("1", "1st"), ("2", "2nd"), ("11", "11th"), ("1003", "1003rd")],
    "parameterize": [('"Donald E. Knuth"', "donald-e-knuth"), ('"Donald E. Knuth", "_"', "donald_e_knuth")],
    "pluralize": [('"post"', "posts"), ('"person"', "people"), ('"octopus"', "octopi")],
    "singularize": [('"posts"', "post"), ('"octopi"', "octopus"), ('"sheep"', "sheep")],
    "tableize": [('"RawScaledScorer"', "raw_scaled_scorers"), ('"egg_and_ham"', "egg_and_hams")],
    "titleize": [('"man from the boondocks"', "Man From The Boondocks"), ('"x-men: the last stand"',
                                                                            "X Men: The Last Stand")],
    "transliterate": [('"älämölö"', "alamolo"), ('"Ærøskøbing"', "rskbing")],
    "underscore": [('"DeviceType"', "device_type"), ('"IOError"', "io_error")],
}
_WRONG_FIRST = {"ordinal": ("11", "st"), "pluralize": ("\"person\"", "persons")}
_WRONG_ALWAYS = {"pluralize"}


def test_code(name: str, *, wrong: tuple[str, str] | None = None) -> str:
    cases = list(_CASES[name])
    if wrong is not None:
        cases = [wrong if args == wrong[0] else (args, want) for args, want in cases]
        if wrong not in cases:
            cases.append(wrong)
    lines = [f"from inflection import {name}", "", ""]
    for i, (args, want) in enumerate(cases, 1):
        lines += [f"def test_{name}_{i}():", f"    assert {name}({args}) == {want!r}", "", ""]
    return "\n".join(lines).rstrip() + "\n"


def answer_for(name: str, *, repair: bool) -> dict[str, str]:
    wrong = _WRONG_FIRST.get(name) if (not repair or name in _WRONG_ALWAYS) else None
    return {"test_path": "tests/test_inflection.py", "code": test_code(name, wrong=wrong),
            "command": "python -m pytest tests/test_inflection.py -q",
            "notes": f"Checks {name} on the examples of its docs and a few edge cases."}


def upstream(*, ttft: float = 0.0, tokens_per_second: float | None = None) -> Callable[[dict], Reply]:
    """The reply function to script on the fake (`fake.script(upstream())`): a test module for the
    function the request asks about, as JSON; the repair round answers with the repaired test."""

    def reply(body: dict) -> Reply:
        messages = body.get("messages") or []
        first = content_text(messages[0].get("content")) if messages else ""
        match = _TARGET.search(first)
        if match is None or match.group(1) not in _CASES:
            return Reply(text='{"test_path": "", "code": "", "command": "", "notes": "unknown"}')
        repair = "Your previous test:" in first
        return Reply(text=json.dumps(answer_for(match.group(1), repair=repair)), ttft=ttft,
                     tokens_per_second=tokens_per_second, chunk_chars=64)

    return reply


FUNCTIONS = sorted(_CASES)
