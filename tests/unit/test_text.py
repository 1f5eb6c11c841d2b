"""Tests for haiku_lsp.text: the plain-text helpers the capabilities share."""

from __future__ import annotations

import pytest

from haiku_lsp.text import fence, numbered, split_lines


@pytest.mark.parametrize(("text", "lines"), [
    ("", [""]),  # an empty document has one (empty) line
    ("a", ["a"]),
    ("a\n", ["a", ""]),
    ("a\r\nb\rc\nd", ["a", "b", "c", "d"]),
    ("\r\n\r\n", ["", "", ""]),
    ("a\r", ["a", ""]),
])
def test_split_lines_counts_lines_as_lsp_does(text, lines):
    assert split_lines(text) == lines


def test_numbered_lines():
    assert numbered(["def f():", "", "    return 1  "], 9) == " 9 | def f():\n10 |\n11 |     return 1  "
    assert numbered(["a", "b", "c"], 1, marks={2}) == "  1 | a\n> 2 | b\n  3 | c"
    assert numbered([], 5) == ""


def test_fence_outlasts_the_backticks_inside():
    assert fence("x = 1", "python") == "```python\nx = 1\n```"
    assert fence('"""\n```py\ncode\n```\n"""') == '````\n"""\n```py\ncode\n```\n"""\n````'
    assert fence("a `b` ``c`` `````d") == "``````\na `b` ``c`` `````d\n``````"
