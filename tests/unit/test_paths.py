"""Tests for haiku_lsp.python.paths: the one way a path relative to the workspace is computed."""

from __future__ import annotations

from pathlib import Path, PurePosixPath

import pytest

from haiku_lsp.python import relative_to_root


@pytest.mark.parametrize(("path", "root", "expected"), [
    ("/src/app/pkg/mod.py", "/src/app", "pkg/mod.py"),
    ("/src/app/pkg/mod.py", "/src/app/", "pkg/mod.py"),
    ("/src/app", "/src/app", "."),
    ("/src/app2/mod.py", "/src/app", None),  # a sibling folder whose name starts like the root's
    ("/src/mod.py", "/src/app", None),
    ("/src/app/../app2/mod.py", "/src/app", None),  # never a path with `..`
    ("/src/app/pkg/../mod.py", "/src/app", None),  # lexically: the spelling is not trusted
    (None, "/src/app", None),
    ("/src/app/mod.py", None, None),
    ("", "/src/app", None),
])
def test_lexical(path, root, expected):
    rel = relative_to_root(path, root)
    assert rel == (PurePosixPath(expected) if expected is not None else None)
    assert rel is None or isinstance(rel, PurePosixPath)


def test_relative_paths_are_taken_from_the_current_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert relative_to_root(Path("pkg/mod.py"), tmp_path) == PurePosixPath("pkg/mod.py")
    assert relative_to_root(tmp_path / "pkg/mod.py", ".") == PurePosixPath("pkg/mod.py")


def test_resolving_follows_symlinks(tmp_path):
    ws, outside, beside = tmp_path / "app", tmp_path / "outside", tmp_path / "app2"
    for folder in (ws / "pkg", outside, beside):
        folder.mkdir(parents=True)
    (ws / "pkg" / "mod.py").write_text("")
    (outside / "secret.py").write_text("")
    (ws / "out").symlink_to(outside, target_is_directory=True)  # leads out of the workspace
    (ws / "alias").symlink_to(ws / "pkg", target_is_directory=True)  # stays inside
    (tmp_path / "link_to_ws").symlink_to(ws, target_is_directory=True)  # into it from outside

    assert relative_to_root(ws / "out/secret.py", ws) == PurePosixPath("out/secret.py")  # lexically inside
    assert relative_to_root(ws / "out/secret.py", ws, resolve=True) is None
    assert relative_to_root(ws / "alias/mod.py", ws, resolve=True) == PurePosixPath("alias/mod.py")
    assert relative_to_root(tmp_path / "link_to_ws/pkg/mod.py", ws, resolve=True) == PurePosixPath("pkg/mod.py")
    assert relative_to_root(ws / "pkg/mod.py", tmp_path / "link_to_ws", resolve=True) == PurePosixPath("pkg/mod.py")
    assert relative_to_root(ws / "pkg/../pkg/mod.py", ws, resolve=True) == PurePosixPath("pkg/mod.py")
    assert relative_to_root(beside / "x.py", ws, resolve=True) is None
    loop = ws / "loop"
    loop.symlink_to(loop)
    assert relative_to_root(loop / "x.py", ws, resolve=True) in (None, PurePosixPath("loop/x.py"))  # no raise
    assert relative_to_root(ws / "pkg/mod\x00.py", ws, resolve=True) is None
