"""Completion context from jedi (it starts its own interpreter subprocess, so these are not unit tests)."""

from __future__ import annotations

from haiku_lsp.completion.context import resolve_names
from haiku_lsp.privacy import IgnoreRules


def test_names_resolve_in_a_folder_beside_the_workspace(tmp_path):
    # /src/app2 beside the root /src/app: its path starts with the root's, but it is not inside it.
    root, beside = tmp_path / "app", tmp_path / "app2"
    (root / "pkg").mkdir(parents=True)
    beside.mkdir()
    (root / "pkg" / "util.py").write_text("def scale(value, factor):\n    return value * factor\n")
    source = "from pkg.util import scale\n\n\ndef helper(a, b):\n    return a\n\n\nhelper(1, 2) + scale("
    path = beside / "main.py"
    path.write_text(source)
    lines = source.split("\n")
    out = resolve_names(source, str(path), str(root), len(lines) - 1, len(lines[-1]), ["scale", "helper"],
                        IgnoreRules([], root))
    assert out["helper"] is not None and out["helper"].module_path == str(path)
    assert "def helper(a, b)" in out["helper"].text and "app2" not in out["helper"].source  # jedi's module name

    inside = root / "main.py"
    inside.write_text(source)
    out = resolve_names(source, str(inside), str(root), len(lines) - 1, len(lines[-1]), ["scale", "helper"],
                        IgnoreRules([], root))
    assert out["helper"] is not None and out["helper"].source == "main.py"
    assert out["scale"] is not None and out["scale"].source == "pkg/util.py"


def test_builtins_and_stdlib_classes_are_not_sent_project_definitions_are(tmp_path):
    # The model knows `str`, `int` and `pathlib.Path`; it cannot know the project's own `Cart`.
    (tmp_path / "shop.py").write_text("class Cart:\n    def total(self) -> int:\n        return 0\n")
    source = ("from pathlib import Path\nfrom shop import Cart\n\nname: str = str(1)\ncount = int('2')\n"
              "p = Path('.')\nc = Cart()\nc.to")
    path = tmp_path / "main.py"
    path.write_text(source)
    lines = source.split("\n")
    out = resolve_names(source, str(path), str(tmp_path), len(lines) - 1, len(lines[-1]),
                        ["str", "int", "Path", "Cart"], IgnoreRules([], tmp_path))
    assert out["str"] is None and out["int"] is None and out["Path"] is None
    assert out["Cart"] is not None and out["Cart"].project and "class Cart" in out["Cart"].text
