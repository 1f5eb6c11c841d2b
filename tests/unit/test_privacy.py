"""Ignore rules (gitignore syntax) and redaction of secrets before anything is sent."""

from __future__ import annotations

from pathlib import Path

import pytest

from haiku_lsp.privacy import IgnoreRules, redact

ROOT = Path("/ws")


@pytest.mark.parametrize(("path", "ignored"), [
    ("/ws/.env", True), ("/ws/sub/.env.local", True), ("/ws/certs/server.pem", True),
    ("/ws/build/out.py", True), ("/ws/src/build/out.py", True), ("/ws/local.py", True),
    ("/ws/src/local.py", False), ("/ws/debug.log", True), ("/ws/keep.log", False),
    ("/ws/docs/a/b.md", True), ("/ws/main.py", False), ("/ws/config/secrets.py", True),
    ("/ws/.git/config", True),
])
def test_gitignore_semantics(path, ignored):
    rules = IgnoreRules(["build/", "/local.py", "*.log", "!keep.log", "docs/**/*.md"], ROOT)
    assert rules.is_ignored(path) is ignored


def test_rules_come_from_workspace_files(tmp_path):
    (tmp_path / ".gitignore").write_text("# comment\n\ngenerated/\n")
    (tmp_path / ".haikuignore").write_text("private_*.py\n")
    rules = IgnoreRules.for_workspace(tmp_path, ("extra.py",))
    assert rules.is_ignored(tmp_path / "generated" / "x.py")
    assert rules.is_ignored(tmp_path / "pkg" / "private_data.py")
    assert rules.is_ignored(tmp_path / "extra.py")
    assert not rules.is_ignored(tmp_path / "pkg" / "public.py")


def test_an_installed_package_is_not_covered_by_gitignore_but_by_every_other_rule(tmp_path):
    (tmp_path / ".gitignore").write_text(".venv/\n")
    site = tmp_path / ".venv" / "lib" / "python3.11" / "site-packages"
    rules = IgnoreRules.for_workspace(tmp_path)
    assert rules.is_ignored(site / "inflection" / "__init__.py")  # as a file of the workspace
    assert not rules.is_ignored(site / "inflection" / "__init__.py", installed=True)
    assert rules.is_ignored(site / "pkg" / ".env", installed=True)  # the built-in rules still hold
    (tmp_path / ".haikuignore").write_text(".venv/\n")
    assert IgnoreRules.for_workspace(tmp_path).is_ignored(site / "inflection" / "__init__.py", installed=True)
    assert IgnoreRules([".venv/"], tmp_path).is_ignored(site / "inflection" / "__init__.py", installed=True)


def test_redaction_of_secret_looking_strings():
    text = (
        'ANTHROPIC = "sk-ant-api03-abcdefghijklmnopqrstuvwxyz012345"\n'
        "aws = 'AKIAABCDEFGHIJKLMNOP'\n"
        'password = "hunter2hunter2"\n'
        "DB_TOKEN: 'abcdefghijkl'\n"
        "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA\n-----END RSA PRIVATE KEY-----\n"
        'name = "not a secret"\n'
    )
    out, n = redact(text)
    assert n == 5
    for secret in ("sk-ant-api03", "AKIAABCDEFGHIJKLMNOP", "hunter2hunter2", "abcdefghijkl", "MIIEpAIB"):
        assert secret not in out
    assert 'password = "<REDACTED:SECRET>"' in out and 'name = "not a secret"' in out


def test_plain_code_is_untouched():
    code = "def token_count(text: str) -> int:\n    return len(text.split())\n"
    assert redact(code) == (code, 0)
