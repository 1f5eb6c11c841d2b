"""How resolved names are shown in the prompt's context (jedi, which starts its own subprocess)."""

from __future__ import annotations

from pathlib import Path

from haiku_lsp.completion.context import resolve_names
from haiku_lsp.privacy import IgnoreRules


def test_a_value_is_shown_by_its_line_and_a_parameter_not_at_all(tmp_path: Path):
    (tmp_path / "settings.py").write_text("DEFAULT_NAME = None\n")
    source = "from settings import DEFAULT_NAME\n\n\ndef greet(name=None):\n    return (name, DEFAULT_NAME)\n"
    path = tmp_path / "main.py"
    path.write_text(source)
    got = resolve_names(source, str(path), str(tmp_path), 4, 30, ["DEFAULT_NAME", "name"],
                        IgnoreRules.for_workspace(tmp_path))
    assert got["name"] is None  # not `def NoneType(): ...`
    shown = got["DEFAULT_NAME"]
    assert shown is not None and shown.project and shown.text == "DEFAULT_NAME = None"


def test_a_name_that_may_be_none_is_never_shown_as_a_nonetype_function(tmp_path: Path):
    """click's `_compat.auto_wrap_for_ansi`: annotated `Optional[Callable]`, None, and a def on one platform
    only. jedi infers NoneType's constructor for it; that stub is not the project's definition."""
    (tmp_path / "compat.py").write_text(
        "import sys\nimport typing as t\n\nwrap: t.Optional[t.Callable[[int], int]] = None\n\n"
        "if sys.platform == 'win32':\n    def wrap(x: int) -> int:\n        return x\n")
    source = "from compat import wrap\n\n\ndef main(x):\n    return wrap(x)\n"
    path = tmp_path / "main.py"
    path.write_text(source)
    got = resolve_names(source, str(path), str(tmp_path), 4, 16, ["wrap"], IgnoreRules.for_workspace(tmp_path))
    assert got["wrap"] is None or "NoneType" not in got["wrap"].text, got

