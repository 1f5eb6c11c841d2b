"""Real Neovim builds with the README's set-up blocks, taken from README.md as they stand, against the real
server (started by Neovim as `haiku-lsp`) and the fake Anthropic API: attach (one server for two buffers),
ruff's diagnostics published by the server, hover through `K`, ghost text accepted with the README's
`<Tab>` (0.12), the README's `<C-l>` inline request (0.11), and "Fix with Haiku" picked from
`vim.lsp.buf.code_action()`, its edit applied by Neovim's own `workspace/applyEdit` handler; and the README's
status line, fed by `haiku/status`, showing today's cost.

The editors come from scripts/install-editors.sh (see tests/e2e/editors/); the Lua that drives them is
tests/e2e/editors/drive_neovim.lua.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.e2e.editors import HERE, haiku_lsp_on_path, neovim, readme_block
from tests.e2e.editors.sample import CALC, COMPLETION, FIX_AT, FIXED, HOVER_AT, INLINE_LINE, script_model
from tests.harness import server_env

# version -> (README heading, the Neovim that runs it, steps)
SETUPS = {
    "0.12": ("Neovim 0.12 and later", "0.12", "attach,diagnostics,hover,ghost,fix,status"),
    "0.11": ("Neovim 0.11", "0.11", "attach,diagnostics,hover,invoke,fix,status"),
    "0.8-0.10": ("Neovim 0.8 to 0.10", "0.11", "attach,diagnostics,hover,fix,status"),
    "0.7": ("Neovim 0.7", "0.7", "attach,diagnostics,hover,fix,status"),
}


def run_neovim(version: str, setup: str, steps: str, fake, tmp_path: Path) -> dict:
    nvim = neovim(version)
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "pyproject.toml").write_text('[project]\nname = "geometry"\nversion = "0"\n')
    (ws / "calc.py").write_text(CALC)
    (ws / "other.py").write_text("def other():\n    return 1\n")
    init = tmp_path / "init.lua"
    init.write_text(setup)
    out = tmp_path / "out.json"
    env = server_env(fake.base_url, tmp_path / "cache", extra={
        "PATH": haiku_lsp_on_path(tmp_path / "bin"),
        "HAIKU_STEPS": steps, "HAIKU_OUT": str(out), "HAIKU_SECOND": str(ws / "other.py"),
        "HAIKU_CURSORS": json.dumps({"inline": [INLINE_LINE], "hover": HOVER_AT, "fix": FIX_AT}),
        **{f"XDG_{d}_HOME": str(tmp_path / "xdg" / d.lower()) for d in ("CONFIG", "DATA", "STATE", "CACHE")},
    })
    proc = subprocess.run(
        [str(nvim), "--headless", "-n", "-i", "NONE", "-u", str(init), "-c", f"luafile {HERE / 'drive_neovim.lua'}",
         "calc.py"], cwd=ws, env=env, capture_output=True, text=True, timeout=180, stdin=subprocess.DEVNULL)
    assert out.exists(), f"Neovim {version} wrote no record (exit {proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
    record = json.loads(out.read_text())
    assert record["errors"] == [], record
    assert "rror" not in record["messages"], record["messages"]  # Neovim said nothing went wrong
    return record


@pytest.mark.timeout(300)  # ~8 s each alone
@pytest.mark.parametrize("setup", list(SETUPS))
def test_the_readme_set_up_works_in_neovim(setup: str, fake_anthropic, tmp_path: Path):
    heading, version, steps = SETUPS[setup]
    script_model(fake_anthropic)
    init = readme_block(heading) + "\n" + readme_block("Status: `haiku/status`")  # with the status line
    record = run_neovim(version, init, steps, fake_anthropic, tmp_path)
    done = record["steps"]

    attach = done["attach"]
    assert attach["attached"] and len(attach["all"]) == 1, attach  # one server ...
    assert attach["first"] == attach["second"] == attach["all"], attach  # ... attached to both buffers

    codes = {(d["code"], d["lnum"]) for d in done["diagnostics"] if d["source"] == "ruff"}
    assert ("F841", FIX_AT[0]) in codes, done["diagnostics"]

    [hover] = done["hover"]
    assert "area(width, height)" in hover and "The area of a rectangle." in hover, hover

    if "ghost" in done:
        assert done["ghost"]["ghost"] == COMPLETION, done["ghost"]
        assert done["ghost"]["after"] == "    return math.sqrt(dx * dx + dy * dy)", done["ghost"]
    if "invoke" in done:
        assert done["invoke"]["after"] == "    return math.sqrt(dx * dx + dy * dy)", done["invoke"]

    status = done["status"]  # after the fix's model call: today's cost is booked
    assert status["g"].startswith("Haiku ready $") and status["g"] != "Haiku ready $0.0000", status
    assert status["line"].startswith("calc.py") and status["g"] in status["line"], status

    fix = done["fix"]
    assert any(t.startswith("Fix with Haiku: ") for t in fix["titles"]), fix["titles"]
    assert "x = 1" not in fix["text"] and FIXED in fix["text"], fix["text"]
    assert fix["text"].startswith('"""Geometry helpers."""'), fix["text"]
