"""The completion prompt: hole marker, prefill rules, cache_control only when it can pay off."""

from __future__ import annotations

from haiku_lsp.completion.context import Snippet, build_context, windows
from haiku_lsp.completion.prompts import HOLE, answer_tokens, completion_request
from haiku_lsp.llm.provider import ModelRequest, supports_prefill

LINES = ["import math", "", "def f(x):", "    return math.sq", "", "print(f(2))"]


def ctx(snippets=()):
    return build_context(lines=LINES, line=3, col=len(LINES[3]), path="pkg/f.py", language="python",
                         max_prefix_tokens=500, max_suffix_tokens=100, max_lines=40, snippets=snippets)


def test_hole_and_windows():
    req = completion_request(ctx(), model="claude-haiku-4-5", max_tokens=64)
    user = req.messages[0]["content"]
    assert f"    return math.sq{HOLE}\n\nprint(f(2))" in user and 'path="pkg/f.py"' in user
    assert req.stop_sequences == ("</COMPLETION>",) and req.max_tokens == 64


def test_windows_respect_the_budget():
    lines = [f"line_{i} = {i} * 2  # some comment here" for i in range(2000)]
    prefix, suffix = windows(lines, 1000, 5, max_prefix_tokens=200, max_suffix_tokens=50)
    assert prefix.endswith("line_") and suffix.startswith("1000 = ")
    assert len(prefix) / 3.5 <= 210 and len(suffix) / 3.5 <= 60
    assert prefix.startswith("line_") and "\n" in prefix  # whole lines only


def test_prefill_only_where_the_model_accepts_it():
    assert supports_prefill("claude-haiku-4-5") and supports_prefill("claude-sonnet-4-5")
    assert not supports_prefill("claude-sonnet-4-6") and not supports_prefill("claude-opus-4-7")
    haiku = completion_request(ctx(), model="claude-haiku-4-5", max_tokens=64)
    assert haiku.messages[-1] == {"role": "assistant", "content": "<COMPLETION>"}
    assert not haiku.messages[-1]["content"][-1].isspace()
    sonnet = completion_request(ctx(), model="claude-sonnet-4-6", max_tokens=64)
    assert sonnet.messages[-1]["role"] == "user"


def test_cache_control_only_when_the_stable_part_is_long_enough():
    short = completion_request(ctx((Snippet("a.py", "def a(): ..."),)), model="claude-haiku-4-5",
                               max_tokens=64)
    assert all("cache_control" not in b for b in short.system)
    big = tuple(Snippet(f"m{i}.py", f"def function_{i}(argument_{i}: int) -> int: ...  # doc " * 4)
                for i in range(300))
    long_haiku = completion_request(ctx(big), model="claude-haiku-4-5", max_tokens=64)
    assert long_haiku.system[-1]["cache_control"] == {"type": "ephemeral"}
    mid = big[:40]  # ~1,500 tokens: enough for Sonnet (1,024), not for Haiku (4,096)
    sonnet = completion_request(ctx(mid), model="claude-sonnet-4-5", max_tokens=64)
    haiku = completion_request(ctx(mid), model="claude-haiku-4-5", max_tokens=64)
    assert "cache_control" in sonnet.system[-1] and "cache_control" not in haiku.system[-1]


def test_a_model_request_is_its_fields_and_the_payload_built_from_them():
    # payload() is what the API gets and what cache keys hash; nothing else is derived from a request.
    derived = [n for n, v in vars(ModelRequest).items() if not n.startswith("_") and callable(v)]
    assert derived == ["payload"]


def test_the_projects_definitions_come_first_within_the_budget():
    from haiku_lsp.completion.context import Resolved, select_snippets

    lib = Resolved("/venv/site-packages/click/core.py", 10, "click.core", "class Command: ...")
    own = Resolved("/ws/app/cli.py", 3, "app/cli.py", "def run(argv: list[str]) -> int: ...", project=True)
    snippets = select_snippets({"Command": lib, "run": own}, ["Command", "run"], "/ws/app/main.py", 0, 50, 1000)
    assert [s.source for s in snippets] == ["app/cli.py", "click.core"]
    only_one = select_snippets({"Command": lib, "run": own}, ["Command", "run"], "/ws/app/main.py", 0, 50, 20)
    assert [s.source for s in only_one] == ["app/cli.py"]  # a tight budget goes to the project's own


def test_imported_names_are_found_with_where_they_are_named():
    from haiku_lsp.completion.context import imported_names

    lines = ["import os, sys as system", "from geometry import (scale,", "    rotate as turn)",
             "from .pkg.mod import thing  # comment", "import xml.etree.ElementTree", "from m import *",
             "from .utils import secho, echo", "", "def f():", "    import late"]
    found = imported_names(lines)
    # Top-level imports first (a parenthesised list to its end), then those in functions; the standard
    # library left out; each name where it is named as a whole word (`echo`, not inside `secho`).
    assert list(found) == ["scale", "turn", "thing", "secho", "echo", "late"]
    assert found["scale"] == (1, lines[1].index("scale")) and found["turn"] == (2, lines[2].index("turn"))
    assert found["echo"] == (6, lines[6].index(" echo") + 1) and found["late"] == (9, 11)


def test_what_the_answer_may_be_follows_the_cursor_line():
    """The task sentence and max_tokens: the line (or, when it is complete, the next lines) at the end of a
    line; a block header's body with the header; the rest of the line mid-line; a block on an empty line."""
    def at(line: str, col: int | None = None):
        lines = ["def f(xs):", line, "    return xs"]
        c = build_context(lines=lines, line=1, col=len(line) if col is None else col, path="f.py",
                          language="python", max_prefix_tokens=500, max_suffix_tokens=100, max_lines=40)
        return completion_request(c, model="claude-haiku-4-5", max_tokens=1).messages[0]["content"], \
            answer_tokens(c, 96, 360)

    user, tokens = at("    total = su")
    assert "if that line is already complete" in user and tokens == 96
    user, tokens = at("    for x in x")
    assert "go on with the block's body" in user and tokens == 360
    user, tokens = at("    if x", col=6)  # mid-line ("if| x"): the rest of the line, which may span lines
    assert user.count("Complete the rest of the cursor's line.") == 1 and tokens == 360
    user, tokens = at("    ")
    assert "empty line" in user and tokens == 360
