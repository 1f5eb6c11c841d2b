"""A real VS Code (code-server 4.100.3, VS Code 1.100.3) in Debian's chromium, driven by playwright-core, with
the extension built from vscode-extension/ as a .vsix and installed the README's way, the real server
(found as `haiku-lsp` in ~/.local/bin, where the README's `pipx install .` puts it) and the fake Anthropic
API: ghost text shown and accepted with Tab, today's cost in the status bar (a click opens the usage report),
"Fix with Haiku" picked from Ctrl+. on a ruff diagnostic the server published, and a server that cannot
start: one message with its fix (Open Settings / Show Output), no restart loop.

Screenshots are kept in tests/output/vscode/ (gitignored; the path is printed). The editors come from
scripts/install-editors.sh; the browser side is tests/e2e/editors/drive_vscode.js.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from tests.e2e.editors import HERE, OUTPUT, ROOT, code_server, user_home
from tests.e2e.editors.sample import CALC, COMPLETION, FIX_AT, INLINE_LINE, script_model
from tests.harness import server_env

SHOTS = OUTPUT / "vscode"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def vsix(tmp_path_factory) -> Path:
    """The extension packaged as the README says (`npm ci && npm run package`)."""
    folder = code_server()  # skip / fail before building anything when VS Code is missing
    assert folder.exists()
    out = tmp_path_factory.mktemp("vsix") / "haiku-lsp.vsix"
    ext = ROOT / "vscode-extension"
    if not (ext / "node_modules" / "@vscode" / "vsce").exists():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=ext, check=True, timeout=300)
    # `npm run package`, as the README says, written to a scratch folder (a .vsix of the user's stays put)
    subprocess.run(["npm", "run", "--silent", "package", "--", "-o", str(out)], cwd=ext, check=True, timeout=300,
                   capture_output=True)
    return out


@pytest.mark.timeout(480)  # ~40 s alone; generous for a loaded machine
def test_vscode_end_to_end(vsix: Path, fake_anthropic, tmp_path: Path, capsys):
    folder = code_server()
    entry = folder / "node_modules" / "code-server" / "out" / "node" / "entry.js"
    script_model(fake_anthropic)

    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "pyproject.toml").write_text('[project]\nname = "geometry"\nversion = "0"\n')
    (ws / "calc.py").write_text(CALC.replace("return math.sq\n", "return math.s\n"))  # the test types the "q"
    scratch = tmp_path / "cs"
    config, ud, ext = scratch / "config.yaml", scratch / "ud", scratch / "ext"
    (ud / "User").mkdir(parents=True)
    config.write_text("auth: none\n")
    settings = {"haiku.ruffDiagnostics": True, "haiku.debounceMs": 30, "haiku.debounceMinMs": 10,
                "haiku.debounceMaxMs": 60, "haiku.inlineTimeoutMs": 30000, "workbench.startupEditor": "none",
                "extensions.autoCheckUpdates": False, "extensions.autoUpdate": False}
    settings_file = ud / "User" / "settings.json"
    settings_file.write_text(json.dumps(settings))
    broken = tmp_path / "broken" / "python3"  # a Python without haiku_lsp, as the user's would answer
    broken.parent.mkdir()
    broken.write_text("#!/bin/sh\necho \"$0: No module named haiku_lsp\" >&2\nexit 1\n")
    broken.chmod(0o755)

    base = ["node", str(entry), "--config", str(config), "--user-data-dir", str(ud), "--extensions-dir", str(ext)]
    installed = subprocess.run([*base, "--install-extension", str(vsix)], capture_output=True, text=True, timeout=120)
    assert "was successfully installed" in installed.stdout, installed.stdout + installed.stderr

    env = server_env(fake_anthropic.base_url, tmp_path / "cache", extra={
        "HOME": str(user_home(tmp_path / "home")),
        "XDG_CONFIG_HOME": str(scratch / "xdg-config"), "XDG_CACHE_HOME": str(scratch / "xdg-cache")})
    port = _free_port()
    log = (tmp_path / "code-server.log").open("w")
    server = subprocess.Popen([*base, "--bind-addr", f"127.0.0.1:{port}", "--auth", "none", "--disable-telemetry",
                               "--disable-update-check", "--disable-workspace-trust", str(ws)],
                              env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        url = f"http://127.0.0.1:{port}/"
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(url + "healthz", timeout=2).read()
                break
            except OSError:
                assert time.monotonic() < deadline and server.poll() is None, (tmp_path / "code-server.log").read_text()
                time.sleep(0.2)
        shutil.rmtree(SHOTS, ignore_errors=True)
        out = tmp_path / "record.json"
        drive = subprocess.run(["node", str(HERE / "drive_vscode.js")], env={
            **env, "HAIKU_CODE_SERVER": str(folder), "HAIKU_URL": f"{url}?folder={ws}", "HAIKU_SHOTS": str(SHOTS),
            "HAIKU_OUT": str(out), "HAIKU_WORKSPACE_SETTINGS": str(ws / ".vscode" / "settings.json"),
            "HAIKU_BROKEN_SETTINGS": json.dumps({"haiku.pythonPath": str(broken)}),
            "HAIKU_LINES": json.dumps({"inline": INLINE_LINE, "fix": FIX_AT[0]}),
            "HAIKU_STEPS": "open,ghost,cost,action,broken"}, capture_output=True, text=True, timeout=300)
        with capsys.disabled():  # shown in every run, not only a failing one
            print(f"\nVS Code screenshots: {SHOTS}")
        assert out.exists(), drive.stdout + drive.stderr
        record = json.loads(out.read_text())
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
        log.close()
    channels = list(ud.glob("logs/*/exthost1/haiku-lsp.haiku-lsp/Haiku.log"))
    log_tail = "\n".join(channels[0].read_text().splitlines()[-15:]) if channels else "(no Haiku output channel)"
    assert record["errors"] == [], "\n".join(record["errors"]) + "\n--- Haiku output:\n" + log_tail
    done = record["steps"]

    ghost = done["ghost"]
    assert ghost["ghost"] == COMPLETION, ghost
    assert ghost["after"] == "    return math.sqrt(dx * dx + dy * dy)", ghost

    status = done["cost"]["status"]
    assert status is not None and status.startswith("Haiku $") and status != "Haiku $0.00", status
    report = done["cost"]["reportText"]  # what a click on the status item opened
    assert "Haiku usage in this session" in report, report
    # Tab ran the item's command (a second suggestion, for after the accepted line, is offered too)
    assert re.search(r"Suggestions accepted: 1 of [12] offered", report), report

    action = done["action"]
    assert action["picked"] and action["picked"].startswith("Fix with Haiku"), action["titles"]
    text = "\n".join(action["text"])
    assert "x = 1" not in text and "def unused():" in text and "    return 2" in text, text

    broken_step = done["broken"]
    failures = [t for t in broken_step["later"] if "did not start" in t["message"]]
    assert len(failures) == 1, f"{broken_step}\n--- Haiku output:\n{log_tail}"  # one message, not one per restart
    assert str(broken) in failures[0]["message"], failures
    assert {"Open Settings", "Show Output"} <= set(failures[0]["buttons"]), failures
    assert broken_step["later"] == failures, broken_step["later"]  # nothing else: no stack trace, no "EPIPE"
    assert broken_step["status"] == "Haiku", broken_step  # the status item shows the error (its colour) too
    [channel] = channels
    starts = [line for line in channel.read_text().splitlines() if "Starting server" in line and str(broken) in line]
    assert len(starts) == 1, starts  # no restart loop
