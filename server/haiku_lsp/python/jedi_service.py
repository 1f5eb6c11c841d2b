"""The offline engine: jedi completions served as inline suggestions, no network, no key.

Used when no API key is set, for files matched by ignore rules (nothing of them leaves the machine)
and as extra alternatives for invoked requests. Suggests only where a name is being typed (after
an identifier fragment or a '.'), since a whole-vocabulary list at an arbitrary spot is noise.
"""

from __future__ import annotations

import functools
import logging
import os
import re
import sys
from typing import Any

from haiku_lsp.python.paths import VENV_DIRS
from haiku_lsp.text import fence

log = logging.getLogger(__name__)

# jedi parses a whole file before it answers anything about it: a 10 MB file takes it ~45 s on these machines.
# Larger sources get no jedi answer (callers check before sending one to the jedi worker).
MAX_SOURCE_CHARS = 500_000

_FRAGMENT = re.compile(r"(?:[A-Za-z_][A-Za-z0-9_]*|\.)$")


def jedi_inline(source: str, path: str | None, root: str | None, line: int, col: int,
                limit: int) -> list[str]:
    """Up to `limit` texts to insert at (line, col) (0-based, code points): the rest of a name."""
    if len(source) > MAX_SOURCE_CHARS:
        return []
    lines = source.split("\n")
    if line >= len(lines):
        return []
    before = lines[line][:col]
    if not _FRAGMENT.search(before) or before.lstrip().startswith("#"):
        return []
    try:
        completions = jedi_script(source, path, root).complete(line + 1, col)
    except Exception as err:  # jedi fails on some incomplete code; no suggestion then
        log.debug("jedi complete failed: %s", err)
        return []
    trim_parser_cache()
    out: list[str] = []
    for c in completions:
        if c.name.startswith("_") and not before.endswith("_"):
            continue
        text = c.complete or ""
        if not text:
            continue
        if c.type == "function":
            text += "("
        out.append(text)
        if len(out) >= limit:
            break
    return out


def jedi_script(source: str, path: str | None, root: str | None) -> Any:
    """A jedi.Script of `source` in the workspace `root` (jedi imported here, on first use). The packages
    installed in the workspace's own virtualenv are found too (`venv_site_packages`)."""
    import jedi

    project = jedi.Project(root, added_sys_path=list(venv_site_packages(root))) if root else None
    return jedi.Script(source, path=path, project=project, environment=_environment())


_venv_roots: set[str] = set()  # every site-packages folder found so far: library sources, not documents


@functools.lru_cache(maxsize=16)
def venv_site_packages(root: str | None) -> tuple[str, ...]:
    """The site-packages folders of the workspace's virtualenv (`.venv/` or `venv/` in `root`), for a server
    installed apart from the project (as a tool): its dependencies resolve as they do for the project. Read
    once per workspace and worker."""
    if not root:
        return ()
    found: list[str] = []
    for name in VENV_DIRS:
        venv = os.path.join(root, name)
        if not os.path.isfile(os.path.join(venv, "pyvenv.cfg")):
            continue
        lib = os.path.join(venv, "lib")
        candidates = [os.path.join(lib, d, "site-packages") for d in sorted(os.listdir(lib))
                      if d.startswith("python")] if os.path.isdir(lib) else []
        candidates.append(os.path.join(venv, "Lib", "site-packages"))  # Windows
        found += [os.path.realpath(c) for c in candidates if os.path.isdir(c)]
    _venv_roots.update(f.rstrip(os.sep) + os.sep for f in found)
    return tuple(found)


def in_venv(path: str | None, root: str | None) -> bool:
    """Whether `path` is inside the site-packages of the virtualenv of the workspace `root`."""
    folders = venv_site_packages(root)
    return path is not None and bool(folders) and os.path.realpath(path).startswith(
        tuple(f.rstrip(os.sep) + os.sep for f in folders))


@functools.cache
def _environment() -> Any:
    """jedi's default environment (a virtualenv or conda environment named in the process environment)
    when there is one other than the interpreter running this; else an in-process one: for the same
    interpreter jedi would start and keep a subprocess of it (~30 MiB) to inspect compiled modules, with a
    round trip for each inspection."""
    from jedi.api.environment import InterpreterEnvironment, get_cached_default_environment

    here = os.path.realpath(sys.prefix)
    for var in ("VIRTUAL_ENV", "CONDA_PREFIX"):
        named = os.environ.get(var)
        if named and os.path.realpath(named) != here:
            return get_cached_default_environment()
    return InterpreterEnvironment()


def hover_info(source: str, path: str | None, root: str | None, line: int, col: int,
               definition: bool) -> tuple[str | None, dict | None]:
    """One jedi pass for a hover: the Markdown, and (when asked) the definition to explain (nothing for a
    source over MAX_SOURCE_CHARS)."""
    if len(source) > MAX_SOURCE_CHARS:
        return None, None
    script = jedi_script(source, path, root)
    markdown = jedi_hover(source, path, root, line, col, script=script)
    found = jedi_definition(source, path, root, line, col, script=script) if markdown and definition else None
    trim_parser_cache()
    return markdown, found


def jedi_hover(source: str, path: str | None, root: str | None, line: int, col: int,
               script: Any = None) -> str | None:
    """Markdown with the signature(s) and docstring of the name at (line, col), or None."""
    try:
        names = (script or jedi_script(source, path, root)).help(line + 1, col)
    except Exception as err:
        log.debug("jedi help failed: %s", err)
        return None
    for name in names:
        try:
            sigs = [s.to_string() for s in name.get_signatures()]
            doc = name.docstring(raw=True).strip()
        except Exception:
            continue
        if not sigs and not doc:
            continue
        head = "\n".join(sigs) if sigs else f"{name.type} {name.name}"
        parts = [fence(head, "python")]
        if doc:
            parts.append(doc)
        if name.module_name and name.module_name != "__main__":
            parts.append(f"*{name.type}* in `{name.module_name}`")
        return "\n\n".join(parts)
    return None


def jedi_definition(source: str, path: str | None, root: str | None, line: int, col: int,
                    max_lines: int = 120, script: Any = None) -> dict | None:
    """The definition of the function/class/method at (line, col): name, kind, file and its source."""
    try:
        names = (script or jedi_script(source, path, root)).goto(line + 1, col, follow_imports=True)
    except Exception as err:
        log.debug("jedi goto failed: %s", err)
        return None
    for name in names:
        if name.type not in ("function", "class") or name.line is None:
            continue
        try:
            start = name.get_definition_start_position()
            end = name.get_definition_end_position()
        except Exception:
            continue
        if start is None or end is None:
            continue
        module_path = str(name.module_path) if name.module_path else None
        if module_path and path and module_path == path:
            text_lines = source.split("\n")
        elif module_path:
            try:
                with open(module_path, encoding="utf-8") as f:
                    text_lines = f.read().split("\n")
            except OSError:
                continue
        else:
            continue
        body = text_lines[start[0] - 1 : min(end[0], start[0] - 1 + max_lines)]
        return {"name": name.full_name or name.name, "kind": name.type, "path": module_path,
                "line": start[0], "source": "\n".join(body)}
    return None


def _library_roots() -> tuple[str, ...]:
    import sysconfig

    paths = sysconfig.get_paths()
    roots = {paths[k] for k in ("stdlib", "platstdlib", "purelib", "platlib") if k in paths}
    roots |= {sys.prefix, sys.base_prefix}
    return tuple(sorted(r.rstrip("/") + "/" for r in roots))


def trim_parser_cache(documents: int = 2, library: int = 2, stubs: int = 8) -> None:
    """parso keeps every parsed module (~1.8 MiB and ~100,000 objects per 2,000-line file) for 10
    minutes. Keep only the most recently used few: memory stays flat with many open documents (the jedi
    worker collects the dropped trees between calls; jedi may still hold some of them, which therefore
    stay intact). Type stubs (builtins.pyi, typing.pyi: needed by nearly every inference)
    are kept in larger number than library sources (standard library, site-packages; parso reloads them
    from its pickle cache) and the user's own files."""
    try:
        from parso.cache import parser_cache
    except ImportError:  # pragma: no cover
        return
    roots = _library_roots() + tuple(_venv_roots)
    for items in parser_cache.values():
        kinds: dict[str, list] = {"stub": [], "library": [], "document": []}
        for key in list(items):
            name = str(key)
            kinds["stub" if name.endswith(".pyi") else "library" if name.startswith(roots) else "document"].append(key)
        for kind, keep in (("stub", stubs), ("library", library), ("document", documents)):
            keys = kinds[kind]
            if len(keys) > keep:
                for key in sorted(keys, key=lambda k: items[k].last_used)[: len(keys) - keep]:
                    del items[key]


def tidy_worker() -> None:
    """In the jedi worker: collect what the last calls left (parse trees are cycles of ~100,000 objects) and
    give freed heap memory back to the system, so that resident memory follows what parso keeps rather than
    its high-water mark. Only partly: Python's own allocator keeps an arena (1 MiB) as long as one object in
    it lives, and the few that outlive each call pin many (after a completion in each of 50 documents: ~40 MiB
    of live objects in ~90 MiB of arenas; the lane then replaces the worker, see `jedi_lane`). glibc's malloc
    for every object (PYTHONMALLOC=malloc) would let malloc_trim return ~20 MiB more, but makes jedi ~20 %
    slower: fewer names resolved before a completion asks for them."""
    from haiku_lsp import memory

    re.purge()  # jedi compiles patterns per parameter name (docstring search): re's cache holds up to 512
    memory.release_memory()


def forget_documents(paths: list[str]) -> int:
    """Drop the parse trees parso keeps of these files (documents the editor closed: their next use, if
    any, parses them afresh); how many were dropped."""
    try:
        from parso.cache import parser_cache
    except ImportError:  # pragma: no cover
        return 0
    wanted = set(paths)
    dropped = 0
    for items in parser_cache.values():
        for key in [k for k in items if str(k) in wanted]:
            del items[key]
            dropped += 1
    return dropped
