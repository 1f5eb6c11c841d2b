"""Where a file is in the workspace: its path relative to the workspace folder, computed one way for
everyone (what the model is shown, what a traceback frame or a suggested patch points at, which file
a test goes to). No LSP; no file-system access unless asked to follow symlinks.
"""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath


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
