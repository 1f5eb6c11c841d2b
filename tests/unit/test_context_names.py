"""Which names near the cursor are resolved for the prompt's context."""

from __future__ import annotations

from haiku_lsp.completion.context import names_near


def test_words_in_strings_and_comments_are_not_resolved():
    lines = ["def run(version):",
             "    if version is None:",
             '        raise RuntimeError(f"Could not determine the {version!r} automatically.")  # note here',
             "    echo()"]
    assert names_near(lines, 3, 9) == ["echo", "RuntimeError", "version", "run"]
