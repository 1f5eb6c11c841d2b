"""End to end: what never leaves the machine. Secrets planted in the document being worked on, files
matched by ignore rules (as the document and as jedi context from a module it imports), and the API
key itself -- through every model-backed feature of the real server (inline completion, hover, fix
diagnostic, generate test, explain stack trace, refactor planner and workers), read back from what the
local Messages API received and from every file the server wrote."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

from lsprotocol import types

from tests.fakes.anthropic_api import Reply
from tests.harness import API_KEY, end_of

SECRETS = {
    "AWS_KEY": "AKIAIOSFODNN7EXAMPLE",
    "GITHUB_TOKEN": "ghp_" + "aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3z5A",
    "ANTHROPIC_KEY": "sk-ant-api03-" + "Qw3rTy8uIo0pAs2dFg4hJk6lZx" * 2,
    "SLACK_TOKEN": "xoxb-2048113377-7f3kQ9zLw2Xv",
    "PRIVATE_KEY": "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ",
    "KEY": "rk_live_51HxQ2kLmN8pZt3RvW9yB",  # a high-entropy value assigned to a *KEY name
    "SECRET": "Tr0ub4dor-and-3-horses",  # assigned to db_password
}
TOKEN_VALUE = "9f8e7d6c5b4a39281706"  # assigned to auth_token
CLIENT_SECRET = "cs-61f0e4d2b8a7c9e3"  # assigned to client_secret

CALC = f'''from helpers import scale
from vault import unlock

AWS_ACCESS_KEY_ID = "{SECRETS["AWS_KEY"]}"
GITHUB = "{SECRETS["GITHUB_TOKEN"]}"
SLACK_HOOK = "{SECRETS["SLACK_TOKEN"]}"
STRIPE_KEY = "{SECRETS["KEY"]}"
DEPLOY = """-----BEGIN OPENSSH PRIVATE KEY-----
{SECRETS["PRIVATE_KEY"]}
-----END OPENSSH PRIVATE KEY-----"""


def add(a, b):
    """Return a + b.

    >>> add(2, 3)
    5
    """
    anthropic = "{SECRETS["ANTHROPIC_KEY"]}"
    return a + b


def mean(values):
    db_password = "{SECRETS["SECRET"]}"
    auth_token = "{TOKEN_VALUE}"
    total = sum(values)
    return total / len(values)


def unused():
    x = 1
    client_secret = "{CLIENT_SECRET}"
    return 2


def opened(code):
    return scale(unlock(
'''
HELPERS = ('def scale(value, factor=2):\n    """HELPERS-MARKER: multiply a value by a factor."""\n'
           "    return value * factor\n")
VAULT = ('def unlock(code):\n    """VAULT-MARKER: opens the vault with the master code."""\n'
         '    return code == "VAULT-MARKER-CODE"\n')
# Files that ignore rules keep out, each with a marker that must never be sent.
IGNORED = {
    ".env": "ENV-MARKER=1\n",
    "deploy.pem": "PEM-MARKER\n",
    "id_rsa": "IDRSA-MARKER\n",
    "credentials.json": '{"CREDENTIALS-MARKER": 1}\n',
    "secrets.yaml": "SECRETS-YAML-MARKER: 1\n",
    "private/conf.py": "import math\nPRIVATE_MARKER = 1\nx = math.sq\n",  # .gitignore
    "scratch_notes.py": "import math\nSCRATCH_MARKER = 1\nx = math.sq\n",  # ignorePatterns
}
MARKERS = ["VAULT-MARKER", "ENV-MARKER", "PEM-MARKER", "IDRSA-MARKER", "CREDENTIALS-MARKER", "SECRETS-YAML-MARKER",
           "PRIVATE_MARKER", "SCRATCH_MARKER"]

TRACEBACK = '''2026-11-24 10:00:01 ERROR worker: job failed, slack {slack}
Traceback (most recent call last):
  File "{ws}/calc.py", line {line}, in mean
    return total / len(values)
  File "{ws}/vault.py", line 3, in unlock
    return code == "VAULT-MARKER-CODE"
ZeroDivisionError: division by zero
'''

PLAN = {"notes": "One subtask.", "subtasks": [
    {"id": "s1", "title": "Hint add", "target": {"symbols": ["add"], "lines": []},
     "instructions": "Add type hints.", "depends_on": []}]}
WORKER = {"replacement": 'def add(a: int, b: int) -> int:\n    """Return a + b.\n\n    >>> add(2, 3)\n    5\n    """\n'
                         "    return a + b", "imports": [], "notes": "hinted"}
TEST = {"test_path": "tests/test_calc.py",
        "code": "from calc import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n",
        "command": "pytest tests/test_calc.py", "notes": "Adds."}
EXPLANATION = {
    "hypotheses": [{"title": "empty input", "explanation": "len([]) is 0.", "confidence": "high"},
                   {"title": "caller", "explanation": "passes [].", "confidence": "medium"},
                   {"title": "other", "explanation": "unlikely.", "confidence": "low"}],
    "reproduction": ["python -c 'from calc import mean; mean([])'"], "patch": None, "summary": "Guard mean()"}


def line_of(text: str) -> int:
    return CALC.split("\n").index(text)


def system_has(words: str):
    return lambda body: words in json.dumps(body.get("system"))


def script_every_feature(fake) -> None:
    fake.script(Reply(text=json.dumps(PLAN)), match=lambda body: body["model"] == "claude-sonnet-4-6")
    fake.script(Reply(text=json.dumps(WORKER)), match="Subtask s1:")
    fake.script(Reply(text=json.dumps({"summary": "Averages values."})), match=system_has("hovering over a name"))
    fake.script(Reply(text=json.dumps({"replacement": "def unused():\n    return 2", "explanation": "Removed."})),
                match=system_has("You fix one diagnostic"))
    fake.script(Reply(text=json.dumps(TEST)), match=system_has("pytest unit tests"))
    fake.script(Reply(text=json.dumps(EXPLANATION)), match=system_has("debugging a failure"))
    fake.script(Reply(text="code))"))  # inline completions


def plant(workspace: Path) -> None:
    (workspace / ".gitignore").write_text("private/\n")
    (workspace / ".haikuignore").write_text("vault.py\n")
    (workspace / "tests").mkdir()
    (workspace / "calc.py").write_text(CALC)
    (workspace / "helpers.py").write_text(HELPERS)
    (workspace / "vault.py").write_text(VAULT)
    for name, text in IGNORED.items():
        (workspace / name).parent.mkdir(parents=True, exist_ok=True)
        (workspace / name).write_text(text)


async def hover(s, uri: str, where: types.Position):
    return await s.client.text_document_hover_async(types.HoverParams(
        text_document=types.TextDocumentIdentifier(uri=uri), position=where))


async def run_every_feature(s, fake, workspace: Path) -> dict[str, int]:
    """Each model-backed feature once on calc.py, and the ignored files as documents; the number of model
    requests each feature made."""
    made: dict[str, int] = {}

    def count(feature: str, before: int) -> None:
        made[feature] = len(fake.message_requests) - before

    uri = s.open("calc.py", CALC)
    n = len(fake.message_requests)
    await s.inline(uri, end_of(CALC, "return scale(unlock("), invoked=True)
    count("inline", n)
    s.set_line(uri, line_of("    return scale(unlock("), "    return scale(unlock(code))")  # parses again

    n = len(fake.message_requests)
    assert "**Haiku:**" in (await hover(s, uri, end_of(CALC, "def mea"))).contents.value
    shown = await hover(s, uri, end_of(CALC, "scale(unl"))  # defined in the ignored vault.py
    assert shown is not None and "Haiku" not in shown.contents.value
    count("hover", n)

    n = len(fake.message_requests)
    x = line_of("    x = 1")
    unused_x = {"range": {"start": {"line": x, "character": 4}, "end": {"line": x, "character": 5}},
                "message": "Local variable `x` is assigned to but never used", "source": "Ruff", "code": "F841"}
    await s.command("haiku.fixDiagnostic", uri, unused_x)
    count("fix", n)

    n = len(fake.message_requests)
    result = await s.command("haiku.generateTest", uri, {"line": line_of("def add(a, b):"), "character": 4})
    assert result["status"] == "applied", result
    count("testgen", n)

    n = len(fake.message_requests)
    log = s.open("crash.log", TRACEBACK.format(ws=workspace, slack=SECRETS["SLACK_TOKEN"],
                                               line=line_of("    return total / len(values)") + 1), language="log")
    result = await s.command("haiku.explainStackTrace", log, {"start": {"line": 2, "character": 0},
                                                              "end": {"line": 2, "character": 0}})
    assert result["status"] == "ok", result
    count("explain", n)

    n = len(fake.message_requests)
    result = await s.command("haiku.refactorFile", uri, "add type hints")
    assert result["status"] in ("applied", "unchanged"), result
    count("refactor", n)

    n = len(fake.message_requests)
    for name, text in IGNORED.items():
        doc = s.open(name, text, language="python" if name.endswith(".py") else "plaintext")
        await s.inline(doc, end_of(text, text.rstrip("\n")[-3:]), invoked=True)
    private = s.open("private/conf.py", IGNORED["private/conf.py"])
    for _ in range(3):  # typing on: the editor is told once
        await s.inline(private, end_of(IGNORED["private/conf.py"], "math.sq"), invoked=True)
    await hover(s, private, end_of(IGNORED["private/conf.py"], "PRIVATE_MA"))
    await s.command("haiku.fixDiagnostic", private, {
        "range": {"start": {"line": 0, "character": 7}, "end": {"line": 0, "character": 11}},
        "message": "`math` imported but unused", "source": "Ruff", "code": "F401"})
    await s.command("haiku.refactorFile", private, "add type hints")
    count("ignored", n)
    return made


async def test_no_planted_secret_and_no_ignored_file_reaches_the_api(start_session, fake_anthropic, workspace):
    plant(workspace)
    script_every_feature(fake_anthropic)
    s = await start_session(init_options={"contextTimeBudgetMs": 5000, "hoverBudgetMs": 10_000,
                                          "ignorePatterns": ["scratch_*.py"]})
    made = await run_every_feature(s, fake_anthropic, workspace)
    assert made["ignored"] == 0, made
    for feature in ("inline", "hover", "fix", "testgen", "explain", "refactor"):
        assert made[feature] >= 1, (feature, made)
    assert len(fake_anthropic.requests) == sum(made.values())

    sent = [json.dumps(r.body, ensure_ascii=False) for r in fake_anthropic.requests]
    everything = "\n".join(sent)
    for secret in (*SECRETS.values(), TOKEN_VALUE, CLIENT_SECRET):
        assert secret not in everything, secret
    for marker in MARKERS:
        assert marker not in everything, marker
    # What was sent is the code, secrets replaced by placeholders of their kind: the features did send
    # the planted lines, and the definition of the imported, non-ignored helper reached the inline prompt.
    for kind in SECRETS:
        assert f"<REDACTED:{kind}>" in everything, kind
    assert "HELPERS-MARKER" in sent[0] and "unlock(" in sent[0]

    told = [m.message for m in s.client.log_messages if "matches the ignore rule" in m.message]
    assert sum("private/conf.py" in m for m in told) == 1, told
    assert any("private/conf.py matches the ignore rule `private/`" in m for m in told)
    assert any(".env matches the ignore rule `.env`" in m for m in told), told

    # The audit log keeps the prompts as sent: redacted too.
    audit = (workspace.parent / "cache" / "audit" / "audit.jsonl").read_text()
    assert len(audit.splitlines()) == len(fake_anthropic.requests)
    for secret in (*SECRETS.values(), TOKEN_VALUE, CLIENT_SECRET, *MARKERS):
        assert secret not in audit, secret


def files_under(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file()]


async def test_the_api_key_is_never_written(start_session, fake_anthropic, workspace, tmp_path):
    plant(workspace)
    script_every_feature(fake_anthropic)
    log_file = tmp_path / "server.log"
    s = await start_session(args=("-vv", "--log-file", str(log_file)),
                            init_options={"contextTimeBudgetMs": 5000, "hoverBudgetMs": 10_000})
    await run_every_feature(s, fake_anthropic, workspace)
    await s.command("haiku.showStats")
    await s.request("haiku/stats", None)
    await s.stop()
    # The key did go out (as the SDK's bearer token), so a leak had every chance.
    assert all(API_KEY in r.headers.get("authorization", "") + r.headers.get("x-api-key", "")
               for r in fake_anthropic.message_requests)
    cache = tmp_path / "cache"
    written = files_under(cache) + files_under(workspace) + [log_file]
    assert any(p.parent.name == "audit" for p in written) and any(p.parent.name == "usage" for p in written)
    assert any(p.parent.name == "docs" for p in written) and log_file.stat().st_size > 10_000
    for path in written:
        assert API_KEY.encode() not in path.read_bytes(), path
    messages = [m.message for m in (*s.client.messages, *s.client.log_messages)]
    assert not any(API_KEY in m for m in messages)


async def test_an_ignored_document_gets_offline_completions_and_one_note_per_file(start_session, fake_anthropic,
                                                                                 workspace):
    (workspace / ".haikuignore").write_text("internal_*.py\n")
    text = "import math\nx = math.sq\n"
    fake_anthropic.script(Reply(text="rt(2)"))
    s = await start_session()
    uris = [s.open(name, text) for name in ("internal_a.py", "internal_b.py")]
    t0 = time.monotonic()
    for _ in range(4):
        for uri in uris:
            items = await s.inline(uri, end_of(text, "math.sq"), invoked=True)
            assert "rt(" in [i.insert_text for i in items.items]  # the offline engine still helps
    await asyncio.sleep(0.2)
    assert fake_anthropic.requests == [] and time.monotonic() - t0 < 30
    told = [m.message for m in s.client.log_messages if "matches the ignore rule" in m.message]
    assert len(told) == 2 and all("`internal_*.py`" in m for m in told), told
