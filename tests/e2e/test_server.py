"""The server process as a whole: CLI, start-up, logs, secrets, models without prefill."""

from __future__ import annotations

import os
import subprocess
import sys

from lsprotocol import types

from haiku_lsp import __version__
from tests.e2e.test_inline import SAMPLE
from tests.fakes.anthropic_api import Reply
from tests.harness import API_KEY, end_of, items_of, text_of


def test_version_and_help():
    out = subprocess.run([sys.executable, "-m", "haiku_lsp", "--version"], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0 and out.stdout.strip() == f"haiku-lsp {__version__}"
    bad = subprocess.run([sys.executable, "-m", "haiku_lsp", "--tcp", "nonsense"], capture_output=True,
                         text=True, timeout=60)
    assert bad.returncode == 2 and "HOST:PORT" in bad.stderr


def test_demo_runs_a_session_on_the_bundled_sample(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANTHROPIC_")}
    env["HAIKU_LSP_CACHE_DIR"] = str(tmp_path / "cache")
    out = subprocess.run([sys.executable, "-m", "haiku_lsp", "demo"], capture_output=True, text=True, env=env,
                         timeout=120, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "data/sample.py" in out.stdout and "inline completion advertised: True" in out.stdout
    assert "--- hover on `total`" in out.stdout and "Price times quantity." in out.stdout
    assert "Fix with ruff" in out.stdout and "no ANTHROPIC_API_KEY is set" in out.stdout  # offline: ruff's fixes
    # The fixes offered are for ruff's real findings in the sample, nothing made up.
    assert "line 25: F841 Local variable `dx` is assigned to but never used" in out.stdout
    assert "Fix with ruff: Local variable `dx`" in out.stdout and "`unused`" not in out.stdout


def test_demo_on_any_python_file_and_a_clear_error_for_a_missing_one(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANTHROPIC_")}
    env["HAIKU_LSP_CACHE_DIR"] = str(tmp_path / "cache")
    mine = tmp_path / "shop.py"
    mine.write_text("import os\n\n\nclass Cart:\n    def size(self):\n        return 0\n\n\nprint(Cart().size())\n")
    out = subprocess.run([sys.executable, "-m", "haiku_lsp", "demo", str(mine)], capture_output=True, text=True,
                         env=env, timeout=120, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "--- hover on `Cart` at line 9" in out.stdout, out.stdout
    assert "line 1: F401 `os` imported but unused" in out.stdout and "Fix with ruff: `os` imported" in out.stdout
    assert mine.read_text().startswith("import os")  # a copy was used
    for missing in (tmp_path / "nope.py", tmp_path):
        out = subprocess.run([sys.executable, "-m", "haiku_lsp", "demo", str(missing)], capture_output=True,
                             text=True, env=env, timeout=60, cwd=tmp_path)
        assert out.returncode == 2 and "Traceback" not in out.stderr, out.stderr
        assert out.stderr.startswith(f"haiku-lsp demo: {missing}: "), out.stderr


async def test_initialize_advertises_inline_completion_and_hover(start_session):
    s = await start_session(init_options={"hoverExplanations": False})
    caps = s.init_result.capabilities
    assert caps.inline_completion_provider is not None and caps.hover_provider
    assert caps.code_action_provider and caps.execute_command_provider
    assert s.init_result.server_info.name == "haiku-lsp"
    result = await s.client.text_document_hover_async(types.HoverParams(
        text_document=types.TextDocumentIdentifier(uri=s.open("geo.py", SAMPLE)),
        position=end_of(SAMPLE, "def dist")))
    assert isinstance(result, types.Hover) and "distance(a, b)" in result.contents.value
    assert "Euclidean distance between two points." in result.contents.value


async def test_the_key_never_reaches_logs_or_cache(start_session, fake_anthropic, tmp_path):
    log_file = tmp_path / "server.log"
    fake_anthropic.script(Reply(text="rt(dx * dx + dy * dy)"))
    s = await start_session(args=("-vv", "--log-file", str(log_file)))
    uri = s.open("geo.py", SAMPLE)
    assert items_of(await s.inline(uri, end_of(SAMPLE, "return math.sq"), invoked=True))
    logged = log_file.read_text()
    assert "inline completion file://" in logged and "model 21 chars" in logged
    assert API_KEY not in logged
    for path in (tmp_path / "cache").rglob("*"):
        if path.is_file():
            assert API_KEY.encode() not in path.read_bytes()


async def test_a_model_without_prefill_gets_no_prefill_and_tags_are_stripped(start_session, fake_anthropic):
    fake_anthropic.script(Reply(text="<COMPLETION>rt(dx * dx + dy * dy)</COMPLETION>\nWait, let me redo"))
    s = await start_session(init_options={"fastModel": "claude-sonnet-4-6"})
    uri = s.open("geo.py", SAMPLE)
    items = items_of(await s.inline(uri, end_of(SAMPLE, "return math.sq"), invoked=True))
    assert text_of(items[0]) == "rt(dx * dx + dy * dy)"  # then offline alternatives (invoked)
    [req] = fake_anthropic.message_requests
    assert req.model == "claude-sonnet-4-6" and req.messages[-1]["role"] == "user"
    assert req.status == 200
