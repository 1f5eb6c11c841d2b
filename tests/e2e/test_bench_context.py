"""bench/quality_context.py --quick end to end: the pinned click wheel (downloaded once into the bench cache,
then reused), the real server, the fake API; its table and summary must be sane. Asserts no timing."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.timeout(240)  # ~25 s on an idle machine; the two shared CPUs are often busy
def test_quick_context_benchmark_prints_a_sane_table(tmp_path: Path) -> None:
    out = tmp_path / "context.json"
    proc = subprocess.run([sys.executable, str(ROOT / "bench" / "quality_context.py"), "--quick", "--no-write",
                           "--json", str(out)], cwd=ROOT, capture_output=True, text=True, timeout=220)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    for label in ("right after didOpen", "1 s after didOpen", "after jedi went idle (ceiling)"):
        assert any(line.startswith(f"| {label} | 3 | **") for line in proc.stdout.splitlines()), proc.stdout
    report = json.loads(out.read_text())
    assert report["sites_total"] >= 100  # click 8.1.7 has ~150 cross-module call sites
    rows = {r["condition"]: r for r in report["summary"]}
    assert list(rows) == ["open", "1s", "settled"]
    for r in rows.values():
        assert r["sites"] == 3 and r["latency_median_ms"] > 0
        for key in ("recall", "named", "with_context", "project_share", "stdlib_share", "library_share"):
            assert 0 <= r[key] <= 100, (key, r)
    assert all(m["requests"] == 1 for m in report["measures"]), report["measures"]
    # Once the jedi thread is idle the imports opened with the file are resolved (no timing involved): the
    # sample's first sites call names imported at module level, so the reading of the prompt finds them.
    assert rows["settled"]["recall"] > 0 and rows["settled"]["project_share"] > 0, rows["settled"]
