"""What the benchmarks share: statistics, Markdown tables, and writing one section of BENCHMARKS.md."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from pathlib import Path
from typing import Any


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
