"""What may leave the machine: ignore rules for whole files, redaction of secrets inside text.

Ignore rules use `.gitignore` syntax and come from the workspace's `.gitignore`, `.haikuignore`
(same syntax, for files that are tracked but private) and the `ignorePatterns` setting, on top of
built-in patterns for files that hold secrets (`.env`, keys, certificates). A matched file is never
sent upstream, neither as the document being edited nor as context for another one.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from haiku_lsp.python import relative_to_root

log = logging.getLogger(__name__)

BUILTIN_IGNORES = (
    ".env",
    ".env.*",
    "*.pem",
    "*.key",
    "*.p12",
    "*.pfx",
    "id_rsa*",
    "id_ed25519*",
    "*.keystore",
    ".netrc",
    ".pypirc",
    "credentials*",
    "*secret*",
    ".git/",
)


@dataclass(frozen=True)
class _Rule:
    regex: re.Pattern[str]
    negate: bool
    dir_only: bool


def _translate(pattern: str) -> str:
    """gitignore glob -> regex over a '/'-separated relative path."""
    out, i = [], 0
    while i < len(pattern):
        c = pattern[i]
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("/**", i) and i + 3 == len(pattern):
            out.append("/.*")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif c == "*":
            out.append("[^/]*")
            i += 1
        elif c == "?":
            out.append("[^/]")
            i += 1
        elif c == "[":
            j = pattern.find("]", i + 1)
            if j == -1:
                out.append(re.escape(c))
                i += 1
            else:
                body = pattern[i + 1 : j].replace("\\", "\\\\")
                if body.startswith("!"):
                    body = "^" + body[1:]
                out.append(f"[{body}]")
                i = j + 1
        elif c == "\\" and i + 1 < len(pattern):
            out.append(re.escape(pattern[i + 1]))
            i += 2
        else:
            out.append(re.escape(c))
            i += 1
    return "".join(out)


def _compile(line: str) -> _Rule | None:
    line = line.rstrip("\n").rstrip()
    if not line or line.startswith("#"):
        return None
    negate = line.startswith("!")
    if negate:
        line = line[1:]
    dir_only = line.endswith("/")
    line = line.rstrip("/")
    if not line:
        return None
    anchored = "/" in line
    line = line.lstrip("/")
    body = _translate(line)
    prefix = "" if anchored else "(?:.*/)?"
    # A match on a directory ignores everything below it.
    return _Rule(re.compile(f"^{prefix}{body}(?P<below>/.*)?$"), negate, dir_only)


class IgnoreRules:
    """Decides whether a workspace file may be sent upstream."""

    def __init__(self, patterns: list[str] | tuple[str, ...] = (), root: Path | None = None) -> None:
        self.root = root
        self._rules = [r for r in (_compile(p) for p in (*BUILTIN_IGNORES, *patterns)) if r]

    @classmethod
    def for_workspace(cls, root: Path | None, extra: tuple[str, ...] = ()) -> IgnoreRules:
        patterns: list[str] = []
        if root is not None:
            for name in (".gitignore", ".haikuignore"):
                try:
                    patterns += (root / name).read_text(encoding="utf-8", errors="replace").splitlines()
                except OSError:
                    pass
        return cls([*patterns, *extra], root)

    def is_ignored(self, path: str | Path | None) -> bool:
        """True when `path` (absolute or workspace-relative) must not be sent."""
        if path is None:
            return False
        p = Path(path)
        if self.root is not None and p.is_absolute():
            inside = relative_to_root(p, self.root)
            if inside is not None:  # else outside the workspace: match on the path as given, minus the root '/'
                p = Path(inside)
        rel = PurePosixPath(*[part for part in p.parts if part not in ("/", "\\")]).as_posix()
        ignored = False
        for rule in self._rules:
            m = rule.regex.match(rel)
            if m is None:
                continue
            if rule.dir_only and not m.group("below"):
                continue  # a directory pattern matched the file itself
            ignored = not rule.negate
        return ignored


# Secret-looking strings: provider keys, tokens, private keys, and quoted values assigned to
# names that say "secret". Each is replaced by a placeholder of the same kind before sending.
_SECRET_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("PRIVATE_KEY", re.compile(
        r"-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z ]*PRIVATE KEY-----|\Z)")),
    ("ANTHROPIC_KEY", re.compile(r"sk-ant-[A-Za-z0-9_\-]{16,}")),
    ("OPENAI_KEY", re.compile(r"\bsk-(?:proj-)?[A-Za-z0-9_\-]{20,}")),
    ("AWS_KEY", re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b")),
    ("GITHUB_TOKEN", re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{40,})\b")),
    ("SLACK_TOKEN", re.compile(r"\bxox[abprs]-[A-Za-z0-9-]{10,}")),
    ("GOOGLE_KEY", re.compile(r"\bAIza[0-9A-Za-z_\-]{35}\b")),
    ("JWT", re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}")),
    ("SECRET", re.compile(
        r"(?i)((?:password|passwd|secret|token|api_key|apikey|access_key|private_key)\w*"
        r"""['"]?\s{0,3}[:=]\s{0,3}['"])[^'"\s]{8,}(?=['"])""")),
)


# Cheap checks first: most text holds none of the markers every pattern needs (plain substring tests
# on the lower-cased text are ~20x faster than one case-insensitive alternation).
_MARKERS = ("sk-", "akia", "asia", "ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_", "xox", "aiza", "eyj",
            "-----begin", "passw", "secret", "token",
            "api_key", "apikey", "access_key", "private_key")


def redact(text: str) -> tuple[str, int]:
    """Replace secret-looking strings by `<REDACTED:KIND>`; return the text and how many were found."""
    low = text.lower()
    if not any(m in low for m in _MARKERS):
        return text, 0
    count = 0
    for kind, pattern in _SECRET_PATTERNS:
        # A pattern with a group keeps it (the name the secret was assigned to).
        repl = rf"\1<REDACTED:{kind}>" if pattern.groups else f"<REDACTED:{kind}>"
        text, n = pattern.subn(repl, text)
        count += n
    return text, count
