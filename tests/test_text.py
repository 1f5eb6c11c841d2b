"""Tests for haiku_lsp.text: the plain-text helpers the capabilities share."""

from __future__ import annotations

import pytest

from haiku_lsp.text import split_lines


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
