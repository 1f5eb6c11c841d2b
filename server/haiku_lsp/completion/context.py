"""What the model sees for a completion: prefix and suffix windows cut by token budget, and
jedi-resolved signatures and docstrings of the names used near the cursor.

Positions here are code points (the LSP boundary converted them). Token counts are estimates
(~3.5 characters a token for code); the API's own count is what gets billed and benchmarked.
"""

from __future__ import annotations

import builtins
import functools
import keyword
import logging
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from haiku_lsp.completion.shaping import ANCHOR_RE, CursorContext
from haiku_lsp.privacy import IgnoreRules, redact
from haiku_lsp.python import jedi_script, relative_to_root, trim_parser_cache
from haiku_lsp.python.jedi_service import in_venv
from haiku_lsp.python.jedi_wire import publish

log = logging.getLogger(__name__)

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@functools.cache
def _stdlib_paths() -> tuple[str, ...]:
    import sysconfig

    paths = sysconfig.get_paths()
    return tuple(p for p in (paths.get("stdlib"), paths.get("platstdlib")) if p)


def estimate_tokens(text: str) -> int:
    return (len(text) * 2 + 6) // 7  # ~3.5 characters a token


@dataclass(frozen=True)
class Snippet:
    """A piece of context: where it comes from and the text shown to the model."""

    source: str  # a workspace-relative path or a module name
    text: str


@dataclass(frozen=True)
class CompletionContext:
    path: str  # shown to the model: workspace-relative when possible
    language: str
    prefix: str
    suffix: str
    cursor: CursorContext
    snippets: tuple[Snippet, ...] = ()
    redactions: int = 0


def windows(lines: list[str], line: int, col: int, max_prefix_tokens: int,
            max_suffix_tokens: int) -> tuple[str, str]:
    """The text before and after (line, col), whole lines outward until each budget is spent."""
    current = lines[line] if line < len(lines) else ""
    prefix_parts = [current[:col]]
    budget = max_prefix_tokens - estimate_tokens(current[:col])
    i = line - 1
    while i >= 0 and budget > 0:
        cost = estimate_tokens(lines[i]) + 1
        if cost > budget:
            break
        prefix_parts.append(lines[i] + "\n")
        budget -= cost
        i -= 1
    suffix_parts = [current[col:]]
    budget = max_suffix_tokens - estimate_tokens(current[col:])
    j = line + 1
    while j < len(lines) and budget > 0:
        cost = estimate_tokens(lines[j]) + 1
        if cost > budget:
            break
        suffix_parts.append("\n" + lines[j])
        budget -= cost
        j += 1
    return "".join(reversed(prefix_parts)), "".join(suffix_parts)


CURSOR_LINES = 40  # lines around the cursor the shaper sees ...
ANCHOR_REACH = 200  # ... reaching further back, to a def/class line, for the lexical state at the cursor


AFTER_LINES, AFTER_REACH = 40, 200  # lines after the cursor's: at least, and at most to end a definition


def _after_end(lines: list[str], line: int) -> int:
    """Where the lines after the cursor's line handed to the shaper end: 40 lines on, or further, up to
    200, to the next statement at column 0 (so that the definition around the cursor can be parsed whole)."""
    end = min(len(lines), line + 1 + AFTER_REACH)
    return next((k for k in range(line + 1 + AFTER_LINES, end) if lines[k][:1].isalpha() or lines[k][:1] in "_@"),
                end)


def cursor_context(lines: list[str], line: int, col: int, max_lines: int) -> CursorContext:
    current = lines[line] if line < len(lines) else ""
    # The lexical state at the cursor (inside a string? brackets?) is read from a def/class line: a window
    # starting inside a long docstring would read its closing quotes as an opening.
    start, floor = max(0, line - CURSOR_LINES), max(0, line - ANCHOR_REACH)
    while start > floor and not ANCHOR_RE.match(lines[start]):
        start -= 1
    return CursorContext(
        line_prefix=current[:col],
        line_suffix=current[col:],
        lines_before=tuple(lines[start:line]),
        lines_after=tuple(lines[line + 1 : _after_end(lines, line)]),
        max_lines=max_lines,
    )


def build_context(*, lines: list[str], line: int, col: int, path: str, language: str,
                  max_prefix_tokens: int, max_suffix_tokens: int, max_lines: int,
                  snippets: tuple[Snippet, ...] = (), redact_secrets: bool = True) -> CompletionContext:
    prefix, suffix = windows(lines, line, col, max_prefix_tokens, max_suffix_tokens)
    found = 0
    if redact_secrets:
        prefix, n1 = redact(prefix)
        suffix, n2 = redact(suffix)
        found = n1 + n2
    return CompletionContext(path, language, prefix, suffix, cursor_context(lines, line, col, max_lines),
                             snippets, found)


# --- jedi context --------------------------------------------------------------------------------


_IMPORT = re.compile(r"^(?P<indent>[ \t]*)(?:from\s+(?P<module>[\w.]+)\s+)?import\s+(?P<names>[^#]+)")
MAX_IMPORT_SCAN = 5000  # lines read for imports (function-level imports too)
_WORD = re.compile(r"(?<![\w.])\w+")  # a whole word, not an attribute (`x.name`)


def imported_names(lines: list[str], max_lines: int = MAX_IMPORT_SCAN, limit: int = 24
                   ) -> dict[str, tuple[int, int]]:
    """The names a module imports, with where each is named (line, column of the name as a whole word):
    what its code is likely to call, worth resolving before the first completion asks. Top-level imports
    first, then those inside functions; a parenthesised list is read to its `)`; names from the standard
    library are left out (the model knows them, and they would use up *limit*)."""
    top: dict[str, tuple[int, int]] = {}
    nested: dict[str, tuple[int, int]] = {}
    for name, stdlib, nested_import, where in _import_bindings(lines, max_lines):
        if not stdlib and name not in top and name not in nested and where is not None:
            (nested if nested_import else top)[name] = where
    return dict(list({**top, **nested}.items())[:limit])


def known_to_the_model(lines: list[str], max_lines: int = MAX_IMPORT_SCAN) -> frozenset[str]:
    """Names in a module that need no definition in the prompt: the builtins and what it imports from the
    standard library (resolving them would only cost jedi time: their definitions are never sent), except
    a name the module also imports from elsewhere (`from .compat import open`)."""
    stdlib: set[str] = set()
    project: set[str] = set()
    for name, from_stdlib, _, _ in _import_bindings(lines, max_lines):
        (stdlib if from_stdlib else project).add(name)
    for i in range(min(len(lines), max_lines)):  # the statements' own words: `typing`, `cast` in `... as c`
        if (m := _IMPORT.match(lines[i])) is not None and (m.group("module") or "").split(".")[0] in _STDLIB:
            stdlib.update(_IDENT.findall(m.group("module") + " " + m.group("names")))
    return frozenset((stdlib | _BUILTIN_NAMES) - project - set(keyword.kwlist))


_BUILTIN_NAMES = frozenset(n for n in dir(builtins) if not n.startswith("_"))
_STDLIB = frozenset(sys.stdlib_module_names)


def _import_bindings(lines: list[str], max_lines: int) -> Iterator[tuple[str, bool, bool, tuple[int, int] | None]]:
    """Each name an import statement binds: whether it comes from the standard library, whether the import
    is indented (inside a function), and where the name is written as a whole word (None: not found)."""
    i, end = 0, min(len(lines), max_lines)
    while i < end:
        m = _IMPORT.match(lines[i])
        i += 1
        if m is None:
            continue
        module = m.group("module")
        rows = [(i - 1, m.start("names"))]
        if module and "(" in m.group("names") and ")" not in m.group("names"):
            while i < end and ")" not in lines[i - 1].split("#", 1)[0]:
                rows.append((i, 0))
                i += 1
        for row, start in rows:
            code = lines[row].split("#", 1)[0]
            for part in code[start:].replace("(", " ").replace(")", " ").split(","):
                words = part.split()
                if not words or words[0] == "*":
                    continue
                name = words[-1] if len(words) == 3 and words[1] == "as" else words[0].split(".")[0]
                if not name.isidentifier():
                    continue
                source = module or words[0]
                stdlib = not source.startswith(".") and source.split(".")[0] in sys.stdlib_module_names
                # One pattern for every name (not one compiled per name: those would churn re's cache, whose
                # entries outlive the call and keep freed memory from going back to the system).
                hit = next((w for w in _WORD.finditer(code, start) if w.group(0) == name), None)
                yield name, stdlib, bool(m.group("indent")), (row, hit.start()) if hit is not None else None


def names_near(lines: list[str], line: int, col: int, above: int = 8) -> list[str]:
    """Identifiers on the cursor line (before the cursor) and the lines above, nearest first. The
    word being typed at the cursor is left out: it changes with every keystroke and is no name yet."""
    seen: dict[str, None] = {}
    current = lines[line][:col] if line < len(lines) else ""
    chunks = [_IDENT_TAIL.sub("", current)]
    chunks += [lines[i] for i in range(line - 1, max(-1, line - above - 1), -1)]
    for chunk in chunks:
        code = _STRING.sub(" ", chunk).split("#", 1)[0]  # words in strings and comments are no names
        for m in reversed(list(_IDENT.finditer(code))):
            name = m.group(0)
            if not keyword.iskeyword(name) and name not in ("self", "cls") and name not in seen:
                seen[name] = None
    return list(seen)


_IDENT_TAIL = re.compile(r"[A-Za-z_][A-Za-z0-9_]*$")
# A string on one line (its prefix letters too: `f"..."`, `rb'...'`), or an unterminated one to the end.
_STRING = re.compile(r"""(?<![A-Za-z0-9_])[A-Za-z]{0,2}(?:"(?:\\.|[^"\\])*"?|'(?:\\.|[^'\\])*'?)""")


def _is_stdlib(path: Path | None) -> bool:
    if path is None:
        return True
    s = str(path)
    if "typeshed" in s:  # jedi's bundled stubs: builtins and the stdlib
        return True
    return any(s.startswith(p) for p in _stdlib_paths()) and "site-packages" not in s


def _describe(name: Any, *, full: bool) -> str | None:
    """`def f(a, b) -> int:` plus the first paragraph of the docstring (jedi Name)."""
    try:
        if name.type == "class":
            sigs = name.get_signatures()
            head = f"class {name.name}"
            if sigs:
                head += f":  # {sigs[0].to_string()}"
            else:
                head += ":"
        elif name.type == "function":
            sigs = name.get_signatures()
            if not sigs or sigs[0].name == "NoneType":  # jedi's stand-in for a value that may be None
                return None
            head = f"def {sigs[0].to_string()}: ..."
        elif name.type in ("statement", "instance"):
            # A value (`DEFAULT = 1`): its line. Not the signature of its type's constructor, which jedi
            # offers for any callable value (`def NoneType(): ...` for `x = None`).
            code = name.get_line_code().strip()
            head = code if code else name.name
        else:
            return None  # parameters (their function's signature is at hand), modules, keywords
        if not full:
            return head
        doc = name.docstring(raw=True).strip()
        if doc:
            para = doc.split("\n\n", 1)[0].strip()
            head += '\n    """' + "\n    ".join(para.splitlines()[:6]) + '"""'
        if name.type == "class":
            methods = []
            for sub in name.defined_names()[:24]:
                if sub.type == "function" and (not sub.name.startswith("_") or sub.name == "__init__"):
                    s = sub.get_signatures()
                    if s:
                        methods.append(f"    def {s[0].to_string()}: ...")
            head += "\n" + "\n".join(methods[:10]) if methods else ""
        return head
    except Exception as err:  # jedi raises a variety of internal errors on odd code
        log.debug("jedi describe failed: %s", err)
        return None


@dataclass(frozen=True)
class Resolved:
    """Where a name is defined and how it is shown to the model."""

    module_path: str | None
    line: int  # 0-based line of the definition
    source: str  # workspace-relative path or module name
    text: str
    project: bool = False  # defined in the workspace (the model cannot know it)


def resolve_names(source: str, path: str | None, root: str | None, line: int, col: int, names: list[str],
                  ignore: IgnoreRules, positions: dict[str, tuple[int, int]] | None = None
                  ) -> dict[str, Resolved | None]:
    """jedi: the definition of each name (its last occurrence at or above the cursor). None for names
    worth nothing to the model (builtins and the standard library, which it knows; ignored files;
    unresolvable). In the jedi worker, each name's answer is also published as soon as it is known
    (`jedi_wire.publish`): a request waiting for one name need not wait for the others."""
    lines = source.split("\n")
    script = jedi_script(source, path, root)
    out: dict[str, Resolved | None] = {}
    for name in names:
        pos = (positions or {}).get(name)
        for i in range(line, max(-1, line - 12), -1) if pos is None else ():
            text = lines[i][:col] if i == line else lines[i]
            for m in _IDENT.finditer(text):
                if m.group(0) == name:
                    pos = (i, m.start())
            if pos:
                break
        out[name] = _resolve_one(script, name, pos, path, root, ignore) if pos is not None else None
        publish({name: out[name]})
    trim_parser_cache()
    return out


def _resolve_one(script: Any, name: str, pos: tuple[int, int], path: str | None, root: str | None,
                 ignore: IgnoreRules) -> Resolved | None:
    try:
        defs = script.goto(pos[0] + 1, pos[1], follow_imports=True)
    except Exception as err:
        log.debug("jedi goto failed for %s: %s", name, err)
        return None
    for d in defs[:1]:
        mpath = str(d.module_path) if d.module_path else None
        same_file = path is not None and mpath is not None and Path(mpath) == Path(path)
        installed = in_venv(mpath, root)  # a package in the workspace's virtualenv: a library, not the project's
        if mpath is not None and ignore.is_ignored(mpath, installed=installed):
            return None  # never send ignored files, not even a signature
        rel = relative_to_root(mpath, root) if not installed else None
        in_workspace = rel is not None
        if not in_workspace and _is_stdlib(Path(mpath) if mpath else None):
            return None  # builtins and the stdlib (classes too: `class str`) are known to the model
        described = _describe(d, full=in_workspace or same_file)
        if not described:
            return None
        text, _ = redact(described)
        src = rel.as_posix() if rel is not None else (d.module_name or "")
        return Resolved(mpath, (d.line or 1) - 1, src, text, in_workspace)
    return None


def select_snippets(resolved: dict[str, Resolved | None], names: list[str], path: str | None,
                    window_first_line: int, window_last_line: int, budget_tokens: int) -> tuple[Snippet, ...]:
    """The resolved definitions worth sending within the token budget: the project's own first (the model
    cannot know them), then libraries', nearest names first in each; those already visible in the
    prompt's windows are skipped."""
    out: list[Snippet] = []
    used = 0
    seen: set[tuple[str | None, int]] = set()
    for name in sorted(names, key=lambda n: not (r := resolved.get(n)) or not r.project):
        r = resolved.get(name)
        if r is None or (r.module_path, r.line) in seen:
            continue
        seen.add((r.module_path, r.line))
        same_file = path is not None and r.module_path is not None and Path(r.module_path) == Path(path)
        if same_file and window_first_line <= r.line <= window_last_line:
            continue
        cost = estimate_tokens(r.text) + 8
        if used + cost > budget_tokens:
            continue
        used += cost
        out.append(Snippet(r.source, r.text))
    return tuple(out)
