"""What bench/quality_context.py reads from the prompts the fake API received, and its tables.

A prompt's context is read from the request body as sent, not from the server's code: every text of the
system blocks and of the user message, less the `<file ...>...</file>` window, split at the lines
`# <source>` that head each definition. A snippet is the project's own when its source is a file of the
workspace, standard library when its source is a module of the standard library (or builtins), a
library's otherwise. A change of the prompt's format that loses the heads shows as recall 0, not as a
pass."""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from _common import med, pct, table  # bench/ is on sys.path when run
from quality_context_sites import Site

from tests.fakes.anthropic_api import count_tokens

START, END = "<!-- bench:context:start -->", "<!-- bench:context:end -->"
TARGET = 90.0  # % of sites with the callee's signature in the prompt once the file has been open 1 s
FILE_RE = re.compile(r"<file path=\"[^\"]*\"[^>]*>.*?</file>", re.S)
HEAD_RE = re.compile(r"^# (\S+)$", re.M)
CONDITIONS = {  # key -> (label, seconds between didOpen and the request; None: once the jedi thread is idle)
    "open": ("right after didOpen", 0.0),
    "1s": ("1 s after didOpen", 1.0),
    "settled": ("after jedi went idle (ceiling)", None),
}


@dataclass(frozen=True)
class Snippet:
    source: str
    text: str  # the head line excluded
    tokens: int  # the head line included
    origin: str  # "project", "stdlib" or "library"


def _texts(body: dict) -> list[str]:
    out = []
    users = [m.get("content") for m in body.get("messages") or [] if m.get("role") == "user"]
    for part in [body.get("system"), *users]:
        blocks = [part] if isinstance(part, str) else part or []
        for b in blocks:
            text = b if isinstance(b, str) else b.get("text", "") if isinstance(b, dict) else ""
            out.append(FILE_RE.sub("", text))
    return out


def snippets_of(body: dict, is_project: Callable[[str], bool]) -> list[Snippet]:
    """The definitions the prompt carries besides the file window, each with its origin."""
    out = []
    for text in _texts(body):
        heads = list(HEAD_RE.finditer(text))
        for i, m in enumerate(heads):
            end = heads[i + 1].start() if i + 1 < len(heads) else len(text)
            snippet = text[m.end():end].strip("\n")
            source = m.group(1)
            top = source.split(".")[0]
            origin = ("project" if is_project(source) else
                      "stdlib" if top in sys.stdlib_module_names or top == "builtins" else "library")
            out.append(Snippet(source, snippet, count_tokens(m.group(0) + "\n" + snippet), origin))
    return out


def signature_re(name: str, kind: str) -> re.Pattern[str]:
    """The first line of the definition as the prompt shows it: `def name(` or `class Name`."""
    head = rf"(?:async\s+)?def\s+{re.escape(name)}\s*\(" if kind == "def" else rf"class\s+{re.escape(name)}\b"
    return re.compile(r"^\s*" + head)


@dataclass
class Measure:
    """One site asked in one condition."""

    site: Site
    condition: str
    path: str  # the document's workspace-relative path
    expected: str  # the workspace-relative path of the callee's module
    answer: str  # what the fake answered (the call's arguments)
    seconds: float  # the Invoked request, sent to answered
    items: int
    requests: int  # upstream requests the fake recorded for the document
    snippets: list[Snippet] = field(default_factory=list)

    @property
    def found(self) -> bool:
        """The callee's signature, from the module that defines it, is in the prompt."""
        sig = signature_re(self.site.callee.name, self.site.callee.kind)
        return any(s.source == self.expected and sig.match(s.text) for s in self.snippets)

    @property
    def named(self) -> bool:
        """A signature of that name is in the prompt, from wherever."""
        sig = signature_re(self.site.callee.name, self.site.callee.kind)
        return any(sig.match(s.text) for s in self.snippets)

    def tokens(self, origin: str | None = None) -> int:
        return sum(s.tokens for s in self.snippets if origin is None or s.origin == origin)

    def why(self) -> str:
        if self.found:
            return "found"
        if self.requests == 0:
            return "no upstream request"
        if not self.snippets:
            return "no context at all"
        if self.named:
            return "another definition of the name"
        return "callee missing, other names sent"


def _rate(ms: Sequence[Measure], pred: Callable[[Measure], bool]) -> str:
    return f"{100 * sum(map(pred, ms)) / len(ms):.1f} %" if ms else "-"


def _share(ms: Sequence[Measure], origin: str) -> str:
    total = sum(m.tokens() for m in ms)
    return f"{100 * sum(m.tokens(origin) for m in ms) / total:.1f} %" if total else "-"


def model_path(m: Measure) -> bool:
    """Answered by the model path: the fake's answer was not empty and came back as an item (an empty one
    sends an Invoked request on to jedi's completions: not the latency measured here)."""
    return bool(m.answer.strip()) and m.items > 0


def by_condition(measures: Sequence[Measure]) -> dict[str, list[Measure]]:
    return {c: [m for m in measures if m.condition == c] for c in CONDITIONS if any(m.condition == c for m in measures)}


def summary(measures: Sequence[Measure]) -> list[dict]:
    """One row per condition, as numbers (what --json writes)."""
    rows = []
    for cond, ms in by_condition(measures).items():
        total = sum(m.tokens() for m in ms)
        secs = [m.seconds for m in ms if model_path(m)] or [float("nan")]
        rows.append({
            "condition": cond, "sites": len(ms),
            "recall": 100 * sum(m.found for m in ms) / len(ms),
            "named": 100 * sum(m.named for m in ms) / len(ms),
            "with_context": 100 * sum(bool(m.snippets) for m in ms) / len(ms),
            "median_context_tokens": med([m.tokens() for m in ms]),
            "project_share": 100 * sum(m.tokens("project") for m in ms) / total if total else 0.0,
            "stdlib_share": 100 * sum(m.tokens("stdlib") for m in ms) / total if total else 0.0,
            "library_share": 100 * sum(m.tokens("library") for m in ms) / total if total else 0.0,
            "latency_median_ms": 1000 * med(secs), "latency_p90_ms": 1000 * pct(secs, 90),
            "latency_max_ms": 1000 * max(secs), "latency_n": sum(map(model_path, ms)),
        })
    return rows


def results_table(measures: Sequence[Measure]) -> str:
    rows = []
    for r in summary(measures):
        label, _ = CONDITIONS[r["condition"]]
        met = "met" if r["recall"] >= TARGET else "not met"
        goal = f">= {TARGET:.0f} % ({met})" if r["condition"] == "1s" else ""
        rows.append([label, r["sites"], f"**{r['recall']:.1f} %**", goal, f"{r['named']:.1f} %",
                     f"{r['with_context']:.1f} %", f"{r['median_context_tokens']:.0f}", f"{r['project_share']:.1f} %",
                     f"{r['stdlib_share']:.1f} % / {r['library_share']:.1f} %",
                     f"{r['latency_median_ms']:.0f} / {r['latency_p90_ms']:.0f} / {r['latency_max_ms']:.0f} "
                     f"(n={r['latency_n']})"])
    return table(["Asked", "sites", "callee's signature in the prompt", "target", "a signature of that name",
                  "any context", "median context tokens", "project's own tokens", "stdlib / library tokens",
                  "Invoked latency ms (median / p90 / max)"], rows)


def forms_table(measures: Sequence[Measure]) -> str:
    """Recall by how the callee is named at the site."""
    groups = by_condition(measures)
    forms = {"name": "`f(` imported at module level", "attribute": "`module.f(`",
             "local": "`f(` imported in the function"}
    rows = []
    for form, label in forms.items():
        n = sum(m.site.form == form for m in next(iter(groups.values()), []))
        if n:
            rows.append([label, n, *(_rate([m for m in ms if m.site.form == form], lambda m: m.found)
                                     for ms in groups.values())])
    return table(["Callee named as", "sites", *(CONDITIONS[c][0] for c in groups)], rows)


def reasons_table(measures: Sequence[Measure]) -> str:
    groups = by_condition(measures)
    kinds = ["found", "callee missing, other names sent", "no context at all", "another definition of the name",
             "no upstream request"]
    rows = [[k, *(sum(m.why() == k for m in ms) for ms in groups.values())] for k in kinds]
    return table(["Outcome", *(CONDITIONS[c][0] for c in groups)], [r for r in rows if any(r[1:])])


def misses(measures: Sequence[Measure], condition: str, limit: int = 8) -> list[str]:
    """A few sites missed in `condition`: where, the callee, what the context held instead."""
    out = []
    for m in [m for m in measures if m.condition == condition and not m.found][:limit]:
        held = ", ".join(f"{s.source.split('/')[-1]}:{s.text.split(chr(10))[0][:40]}" for s in m.snippets[:3])
        out.append(f"{m.site.module}:{m.site.line + 1} `{m.site.call[:50]}` -> {m.site.callee.kind} "
                   f"{m.site.callee.name} in {m.site.callee.module}: {m.why()}" + (f" ({held})" if held else ""))
    return out
