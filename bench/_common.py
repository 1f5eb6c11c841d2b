"""What the benchmarks share: statistics, Markdown tables, and writing one section of BENCHMARKS.md.

Imported first by every benchmark: it puts this checkout's server/ and root on sys.path, so that the
benchmarks measure this checkout's code and import the test harness and the fake API from tests/."""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import statistics
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
MD_PATH = ROOT / "BENCHMARKS.md"
for _path in (ROOT / "server", ROOT):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))


def pct(values: Sequence[float], q: float) -> float:
    """Percentile with linear interpolation (q in 0..100)."""
    s = sorted(values)
    if not s:
        return float("nan")
    k = (len(s) - 1) * q / 100
    lo = int(k)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def med(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}"


def met(ok: bool) -> str:
    return "yes" if ok else "**no**"


@dataclass
class Report:
    sections: list[tuple[str, str]] = field(default_factory=list)  # (title, markdown body)
    notes: list[str] = field(default_factory=list)
    summary: list[list[str]] = field(default_factory=list)  # section, measure, figure, baseline, target, met

    def goal(self, section: int, measure: str, figure: str, baseline: str, target: str, ok: bool) -> None:
        self.summary.append([str(section), measure, figure, baseline, target, met(ok)])

    def add(self, title: str, body: str) -> None:
        self.sections.append((title, body))
        print(f"\n### {title}\n\n{body}\n", flush=True)


def header(start: str, title: str, command: str, elapsed: float, software: str = "") -> list[str]:
    """The first lines of a BENCHMARKS.md section: its start marker, title, date, machine, command."""
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return [start, f"## {title}", "",
            f"- Date: {now}; run took {elapsed:.0f} s",
            f"- Machine: {len(os.sched_getaffinity(0))} CPUs (`nproc`), {platform.platform()}, "
            f"Python {platform.python_version()}" + (f" ({software})" if software else ""),
            f"- Command: `{command}`"]


def arguments(doc: str | None, quick: str) -> argparse.ArgumentParser:
    """A benchmark's command line: its docstring's first paragraph as the description, `--quick` (what it
    does: `quick`) and `--no-write`; the benchmark adds its own options."""
    parser = argparse.ArgumentParser(description=(doc or "").split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help=quick)
    parser.add_argument("--no-write", action="store_true", help="print the tables, leave BENCHMARKS.md alone")
    return parser


def notes_section(notes: list[str]) -> list[str]:
    """The closing "Notes" of a BENCHMARKS.md section (nothing without notes)."""
    return ["### Notes", "", *[f"- {n}" for n in notes], ""] if notes else []


def table(header: list[str], rows: list[list[Any]]) -> str:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(out)


def write_section(path: Path, start: str, end: str, section: str) -> None:
    """Replace the text between `start` and `end` (markers included in `section`) in `path`, or append
    it; everything else in the file is kept byte for byte."""
    text = path.read_bytes().decode("utf-8") if path.exists() else "# Benchmarks\n"
    if start in text and end in text and text.index(start) < text.index(end):
        before, rest = text.split(start, 1)
        text = before + section + rest.split(end, 1)[1]
    else:
        text = text + ("" if text.endswith("\n") else "\n") + "\n" + section + "\n"
    path.write_bytes(text.encode("utf-8"))
