"""What a `gen-tests` run says: one `Outcome` per function, the `Report` of a run (or of several shards
merged), as JSON and as Markdown for a CI job summary, and the exit code.

Exit codes: 0 when every generated test passed, 1 when some failed (or the model could not be used for
some), 2 when the run could not happen at all (`Report.fatal`).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

REPORT_VERSION = 1
STATUSES = ("passed", "failed", "skipped", "error")


@dataclass
class Outcome:
    """One function's result: `passed` (a test that passed, maybe after the one repair), `failed` (still
    failing after the repair), `skipped` (no usable test was written: why in `reason`), `error` (the
    model could not be used: why in `reason`)."""

    id: str
    status: str
    test_path: str = ""
    summary: str = ""  # pytest's summary line
    origin: str = ""  # model | cache | batch
    repaired: bool = False
    input_tokens: int = 0
    output_tokens: int = 0
    usd: float = 0.0
    seconds: float = 0.0
    reason: str = ""
    notes: str = ""
    applied: bool = False
    code: str = field(default="", repr=False)  # the test code (not in the JSON report)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("code")
        return data


@dataclass
class Report:
    mode: str  # interactive | batch | merged
    outcomes: list[Outcome] = field(default_factory=list)
    shard: str = ""
    seconds: float = 0.0
    batches: list[str] = field(default_factory=list)
    fatal: str = ""

    @property
    def counts(self) -> dict[str, int]:
        counts = dict.fromkeys(STATUSES, 0)
        for o in self.outcomes:
            counts[o.status] = counts.get(o.status, 0) + 1
        return counts

    @property
    def usd(self) -> float:
        return sum(o.usd for o in self.outcomes)

    @property
    def exit_code(self) -> int:
        if self.fatal:
            return 2
        counts = self.counts
        return 1 if counts["failed"] or counts["error"] else 0

    def to_json(self) -> dict[str, Any]:
        return {"version": REPORT_VERSION, "mode": self.mode, "shard": self.shard, "seconds": round(self.seconds, 3),
                "batches": self.batches, "fatal": self.fatal, "counts": self.counts, "usd": round(self.usd, 6),
                "input_tokens": sum(o.input_tokens for o in self.outcomes),
                "output_tokens": sum(o.output_tokens for o in self.outcomes),
                "functions": [o.to_json() for o in self.outcomes]}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Report:
        if not isinstance(data, dict) or data.get("version") != REPORT_VERSION or "functions" not in data:
            raise ValueError("not a haiku-lsp gen-tests JSON report (version 1)")
        known = set(Outcome.__dataclass_fields__) - {"code"}
        outcomes = [Outcome(**{k: v for k, v in f.items() if k in known}) for f in data["functions"]]
        return cls(data.get("mode", ""), outcomes, data.get("shard", ""), data.get("seconds", 0.0),
                   list(data.get("batches", [])), data.get("fatal", ""))

    def markdown(self) -> str:
        counts = self.counts
        title = "## haiku-lsp gen-tests" + (f" (shard {self.shard})" if self.shard else "")
        lines = [title, ""]
        if self.fatal:
            lines += [f"**Could not run:** {self.fatal}", ""]
        lines.append(f"{len(self.outcomes)} functions: {counts['passed']} passed, {counts['failed']} failed after "
                     f"repair, {counts['skipped']} skipped, {counts['error']} errors; "
                     f"${self.usd:.4f} ({self.mode}, {self.seconds:.1f} s)")
        if self.outcomes:
            lines += ["", "| function | result | test file | tokens in/out | $ |", "|---|---|---|---|---|"]
            for o in self.outcomes:
                result = o.summary or o.reason or o.status
                tag = {"passed": "passed", "failed": "failed", "skipped": "skipped", "error": "error"}[o.status]
                extra = " (repaired)" if o.repaired else ""
                extra += " (cached)" if o.origin == "cache" else ""
                extra += " (written)" if o.applied else ""
                lines.append(f"| `{o.id}` | {tag}{extra}: {_cell(result)} | {o.test_path or ''} | "
                             f"{o.input_tokens}/{o.output_tokens} | {o.usd:.4f} |")
        return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")[:160]


def merge_reports(reports: list[Report]) -> Report:
    """One report of several shards' reports; a function reported twice keeps its last outcome; fatal
    when any shard could not run."""
    by_id: dict[str, Outcome] = {}
    for report in reports:
        for outcome in report.outcomes:
            by_id[outcome.id] = outcome
    shards = [r.shard for r in reports if r.shard]
    fatal = "; ".join(f"shard {r.shard or '?'}: {r.fatal}" for r in reports if r.fatal)
    return Report("merged", sorted(by_id.values(), key=lambda o: o.id), ", ".join(shards),
                  sum(r.seconds for r in reports), [b for r in reports for b in r.batches], fatal)


def read_report(path: Path) -> Report:
    return Report.from_json(json.loads(path.read_text(encoding="utf-8")))
