"""Which def/class encloses a line, by indentation alone: cheap enough to run on every cursor move
(code action listing), unlike a full parse. The command that acts on it parses properly."""

from __future__ import annotations

import re

_DEF = re.compile(r"^(?P<indent>[ \t]*)(?:async[ \t]+)?(?P<kind>def|class)[ \t]+(?P<name>[A-Za-z_]\w*)")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" \t"))


def enclosing_definition(lines: list[str], line: int, max_scan: int = 3000) -> str | None:
    """The qualified name ("Cart.total") of the innermost def/class whose header is on `line` or
    whose body contains it; None at module level."""
    if not 0 <= line < len(lines):
        return None
    here = lines[line]
    if here.strip():
        limit = _indent(here)
    else:  # a blank line belongs to the block of the next non-blank line
        nxt = next((ln for ln in lines[line + 1 : line + 50] if ln.strip()), "")
        limit = _indent(nxt) if nxt else 0
    names: list[str] = []
    if m := _DEF.match(here):
        names.append(m.group("name"))
        limit = len(m.group("indent"))
    elif here.lstrip().startswith("@"):  # a decorator: the def below it
        for below in lines[line + 1 : line + 20]:
            if m := _DEF.match(below):
                names.append(m.group("name"))
                limit = len(m.group("indent"))
                break
            if not below.lstrip().startswith("@"):
                break
    for i in range(line - 1, max(-1, line - max_scan), -1):
        text = lines[i]
        stripped = text.lstrip(" \t")
        if not stripped or stripped.startswith("#"):
            continue
        indent = len(text) - len(stripped)
        if indent >= limit:
            continue
        if m := _DEF.match(text):
            names.append(m.group("name"))
        elif not names and indent == 0:
            return None  # a top-level statement that is not a def/class holds the line
        limit = indent
        if indent == 0:
            break
    return ".".join(reversed(names)) if names else None
