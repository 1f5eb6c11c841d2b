"""What may leave the machine: ignore rules for whole files, redaction of secrets inside text.

Ignore rules use `.gitignore` syntax and come from the workspace's `.gitignore`, `.haikuignore`
(same syntax, for files that are tracked but private) and the `ignorePatterns` setting, on top of
built-in patterns for files that hold secrets (`.env`, keys, certificates). A matched file is never
sent upstream, neither as the document being edited nor as context for another one.
"""

from __future__ import annotations

import logging
import math
import re
from collections import Counter
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
    pattern: str
    from_gitignore: bool = False


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


def _compile(line: str, from_gitignore: bool = False) -> _Rule | None:
    line = line.rstrip("\n").rstrip()
    if not line or line.startswith("#"):
        return None
    pattern = line
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
    return _Rule(re.compile(f"^{prefix}{body}(?P<below>/.*)?$"), negate, dir_only, pattern, from_gitignore)


class IgnoreRules:
    """Decides whether a workspace file may be sent upstream."""

    def __init__(self, patterns: list[str] | tuple[str, ...] = (), root: Path | None = None,
                 gitignore: list[str] | tuple[str, ...] = ()) -> None:
        self.root = root
        compiled = [*(_compile(p) for p in BUILTIN_IGNORES), *(_compile(p, from_gitignore=True) for p in gitignore),
                    *(_compile(p) for p in patterns)]
        self._rules = [r for r in compiled if r]

    @classmethod
    def for_workspace(cls, root: Path | None, extra: tuple[str, ...] = ()) -> IgnoreRules:
        read: dict[str, list[str]] = {".gitignore": [], ".haikuignore": []}
        if root is not None:
            for name in read:
                try:
                    read[name] = (root / name).read_text(encoding="utf-8", errors="replace").splitlines()
                except OSError:
                    pass
        return cls([*read[".haikuignore"], *extra], root, gitignore=read[".gitignore"])

    def is_ignored(self, path: str | Path | None, *, installed: bool = False) -> bool:
        """True when `path` (absolute or workspace-relative) must not be sent. `installed`: a file of a package
        installed in the workspace's virtualenv, which `.gitignore` rules do not cover (a virtualenv is listed
        there because it is generated, not private); the other rules do."""
        return self.why(path, installed=installed) is not None

    def why(self, path: str | Path | None, *, installed: bool = False) -> str | None:
        """The pattern that keeps `path` from being sent (the last matching rule), None when it may go."""
        if path is None:
            return None
        p = Path(path)
        if self.root is not None and p.is_absolute():
            inside = relative_to_root(p, self.root)
            if inside is not None:  # else outside the workspace: match on the path as given, minus the root '/'
                p = Path(inside)
        rel = PurePosixPath(*[part for part in p.parts if part not in ("/", "\\")]).as_posix()
        why: str | None = None
        for rule in self._rules:
            if installed and rule.from_gitignore:
                continue
            m = rule.regex.match(rel)
            if m is None:
                continue
            if rule.dir_only and not m.group("below"):
                continue  # a directory pattern matched the file itself
            why = None if rule.negate else rule.pattern
        return why


# Secret-looking strings: provider keys, tokens, private keys, and quoted values assigned to
# names that say "secret". Each is replaced by a placeholder of the same kind before sending; a
# placeholder is never redacted again (redacting twice gives what redacting once gave).
_NOT_DONE = r"(?!<REDACTED:)"
_SECRET_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("PRIVATE_KEY", re.compile(
        r"-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z ]*PRIVATE KEY-----|\Z)")),
    ("ANTHROPIC_KEY", re.compile(r"sk-ant-[A-Za-z0-9_\-]{16,}")),
    ("OPENAI_KEY", re.compile(r"\bsk-(?:proj-)?[A-Za-z0-9_\-]{20,}")),
    ("AWS_KEY", re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b")),
    ("GITHUB_TOKEN", re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{40,})\b")),
    ("SLACK_TOKEN", re.compile(r"\bxox[abprse]-[A-Za-z0-9-]{10,}")),
    ("GOOGLE_KEY", re.compile(r"\bAIza[0-9A-Za-z_\-]{35}\b")),
    ("JWT", re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}")),
    ("SECRET", re.compile(
        r"(?i)((?:password|passwd|secret|token|api_key|apikey|access_key|private_key)\w*"
        r"""['"]?\s{0,3}[:=]\s{0,3}['"])""" + _NOT_DONE + r"""[^'"\s]{8,}(?=['"])""")),
)
# Any other name ending in "key" (`STRIPE_KEY`, `signingKey`) holds many ordinary strings ("sort_key =
# 'name'"): its quoted value is redacted only when it looks random (long, mixed, high entropy).
_KEY_ASSIGNMENT = re.compile(
    r"""(?i)(\w*key['"]?\s{0,3}[:=]\s{0,3}['"])""" + _NOT_DONE + r"""([^'"\s]{16,})(?=['"])""")


def _entropy(value: str) -> float:
    """Shannon entropy in bits per character."""
    counts = Counter(value)
    return -sum(n / len(value) * math.log2(n / len(value)) for n in counts.values())


def looks_random(value: str) -> bool:
    """A key-like value: digits and letters mixed, and high entropy (a random 20-character base62 string
    has ~4.2 bits a character; an identifier or a sentence rarely reaches 3.5)."""
    return (any(c.isdigit() for c in value) and any(c.isalpha() for c in value)
            and _entropy(value) >= 3.5)


# Cheap checks first: most text holds none of the markers every pattern needs (plain substring tests
# on the lower-cased text are ~20x faster than one case-insensitive alternation).
_MARKERS = ("sk-", "akia", "asia", "ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_", "xox", "aiza", "eyj",
            "-----begin", "passw", "secret", "token", "key")


def redact(text: str) -> tuple[str, int]:
    """Replace secret-looking strings by `<REDACTED:KIND>`; return the text and how many were found.
    `redact(redact(t)[0])` changes nothing more."""
    low = text.lower()
    if not any(m in low for m in _MARKERS):
        return text, 0
    count = 0
    for kind, pattern in _SECRET_PATTERNS:
        # A pattern with a group keeps it (the name the secret was assigned to).
        repl = rf"\1<REDACTED:{kind}>" if pattern.groups else f"<REDACTED:{kind}>"
        text, n = pattern.subn(repl, text)
        count += n
    found = 0

    def key(m: re.Match[str]) -> str:
        nonlocal found
        if not looks_random(m.group(2)):
            return m.group(0)
        found += 1
        return f"{m.group(1)}<REDACTED:KEY>"

    if "key" in low:
        text = _KEY_ASSIGNMENT.sub(key, text)
    return text, count + found
