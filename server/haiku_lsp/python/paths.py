"""Where a file is in the workspace: its path relative to the workspace folder, computed one way for
everyone (what the model is shown, what a traceback frame or a suggested patch points at, which file
a test goes to), the folders the project's packages are imported from, and a file's import name.
No LSP; relative_to_root touches the file system only when asked to follow symlinks.
"""

from __future__ import annotations

import keyword
import os
import tomllib
from pathlib import Path, PurePosixPath

VENV_DIRS = (".venv", "venv")  # where a workspace keeps its virtualenv (its tests' Python, jedi's packages)


def relative_to_root(path: str | os.PathLike[str] | None, root: str | os.PathLike[str] | None, *,
                     resolve: bool = False) -> PurePosixPath | None:
    """`path` relative to the workspace folder `root` (`.` for root itself), or None when it is not
    inside (or either is None/empty). Never raises; the result never holds `..`.

    Paths are compared by whole components, so `/src/app2/x.py` is not inside `/src/app`; a relative
    `path` is taken from the current directory. Without `resolve` this is pure path arithmetic: cheap
    enough for every keystroke, and what the editor's own spelling of a path gives. With `resolve`,
    symlinks are followed: the file must really be inside the real root (a link in the workspace that
    leads out of it is outside; a path into the workspace through a link is inside), and the result
    is spelled as `path` is under `root` when that stays inside, else as the real file is under the
    real root. Use it wherever a path decides what may be read, sent or written.
    """
    if not path or not root:
        return None
    try:
        p, r = Path(path), Path(root)
        p = p if p.is_absolute() else p.absolute()
        r = r if r.is_absolute() else r.absolute()
        lexical = _relative(p, r)
        if not resolve:
            return lexical
        real = _relative(Path(os.path.realpath(p)), Path(os.path.realpath(r)))
        if real is None:
            return None
        return lexical if lexical is not None else real
    except (OSError, ValueError, RuntimeError):  # an unreadable cwd, a NUL byte, a symlink loop
        return None


def _relative(path: Path, root: Path) -> PurePosixPath | None:
    if not path.is_relative_to(root):
        return None
    rel = path.relative_to(root)
    return None if ".." in rel.parts else PurePosixPath(*rel.parts)


def source_roots(root: Path) -> list[Path]:
    """Directories (inside `root`) the project's packages are imported from besides `root` itself:
    `src/` when present, and setuptools' `packages.find.where` / `package-dir` from pyproject.toml."""
    roots: list[Path] = []
    names: list[str] = ["src"]
    try:
        data = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
        setuptools_cfg = data.get("tool", {}).get("setuptools", {})
        find = setuptools_cfg.get("packages", {})
        if isinstance(find, dict):
            names += [w for w in find.get("find", {}).get("where", []) if isinstance(w, str)]
        package_dir = setuptools_cfg.get("package-dir", {})
        if isinstance(package_dir, dict) and isinstance(package_dir.get(""), str):
            names.append(package_dir[""])
    except (OSError, ValueError, AttributeError):
        pass
    for name in names:
        path = (root / name).absolute()
        is_root = name not in ("", ".") and path.is_dir() and not (path / "__init__.py").exists()
        if is_root and path not in roots:
            roots.append(path)
    return roots


def module_name(root: Path, path: Path) -> str | None:
    """The import name of a workspace file: "pkg.mod" inside packages (counted from the first parent
    without __init__.py, so src/ and other source roots are skipped), "mod" for a top-level module or
    one directly in a source root (src/, setuptools' where), "dir.mod" (namespace package) otherwise.
    None when the file is outside `root`, not .py, or a part is not an identifier."""
    root, path = Path(root).absolute(), Path(root, path).absolute()
    rel = relative_to_root(path, root, resolve=True)
    if rel is None or path.suffix != ".py":
        return None
    path = root / rel
    base = path.parent
    while base != root and (base / "__init__.py").exists():
        base = base.parent
    if base == path.parent:  # not in a regular package
        base = max((r for r in source_roots(root) if path.is_relative_to(r)), key=lambda r: len(r.parts),
                   default=root)
    parts = list(path.relative_to(base).with_suffix("").parts)
    if parts and parts[-1] == "__init__":
        parts.pop()
    if not parts or not all(p.isidentifier() and not keyword.iskeyword(p) for p in parts):
        return None
    return ".".join(parts)
