"""bench/inline.py, section 7: prompt size (input tokens as the fake counts them) at seeded positions in
real Python files, with the default context budget and a patient one."""

from __future__ import annotations

import asyncio
import collections
import random
from pathlib import Path

from _common import ROOT, med, met, pct, table  # bench/ is on sys.path when run
from inline_common import STDLIB, Bench, Lsp, input_tokens

from tests.fakes.anthropic_api import Reply, count_tokens


async def prompt_tokens(bench: Bench) -> None:
    n = bench.cfg.prompt_positions
    print(f"[prompt] {n} completion requests in real Python files, x2 context budgets", flush=True)
    fast = {"debounceMs": 0, "debounceMinMs": 0, "debounceMaxMs": 0}
    servers = {"default": bench.haiku("prompt", "prompt"),
               "patient": bench.haiku("prompt-patient", "patient")}
    # The second one names the model by its dated id, so the fake's records tell the two apart.
    models = {"default": "claude-haiku-4-5", "patient": "claude-haiku-4-5-20251001"}
    options = {"default": {**fast, "fastModel": models["default"]},
               "patient": {**fast, "fastModel": models["patient"], "contextTimeBudgetMs": 3000}}
    await asyncio.gather(*(s.start(ROOT, options[k]) for k, s in servers.items()))
    await asyncio.gather(*(bench.first_completion(s, (bench.tmp / "scratch_prompt.py").as_uri())
                           for s in servers.values()))
    files = [STDLIB / "json" / "decoder.py", STDLIB / "argparse.py", STDLIB / "subprocess.py",
             ROOT / "server/haiku_lsp/completion/engine.py", ROOT / "server/haiku_lsp/completion/context.py",
             ROOT / "server/haiku_lsp/llm/anthropic.py", ROOT / "server/haiku_lsp/lsp/server.py",
             ROOT / "server/haiku_lsp/llm/cache.py"]
    files = [f for f in files if f.exists()]
    spots = prompt_spots(files, n + 2)
    bench.holder.reply = Reply(text="pass", ttft=0.0, chunk_chars=8, chunk_delay=0.0)
    totals: dict[str, list[int]] = {k: [] for k in servers}
    parts: dict[str, dict[str, list[int]]] = {
        k: {"system": [], "context": [], "file": []} for k in servers}
    with_context = {k: 0 for k in servers}
    skipped: list[str] = []
    async def ask(lsp: Lsp, uri: str, text: str, line: int, col: int) -> None:
        lsp.open(uri, text)
        await lsp.complete(uri, line, col)
        lsp.close(uri)

    for i, (path, text, line, col) in enumerate(spots):
        before = len(bench.fake.message_requests)
        # Both servers at once (two cores): only token counts are measured here, not time. The
        # patient one (slow: it waits for jedi) takes every other position.
        asked = [name for name in servers if name == "default" or i % 2 == 0]
        await asyncio.gather(*(ask(servers[name], path.as_uri(), text, line, col) for name in asked))
        if i < 2:
            continue  # the first two are not counted (jedi's first inferences are slow)
        for name in asked:
            recs = [r for r in bench.new_requests(before) if r.model == models[name]]
            if len(recs) != 1:
                skipped.append(f"{name} {path.name}:{line + 1}:{col}: {len(recs)} upstream requests")
                continue
            rec = recs[0]
            totals[name].append(input_tokens(rec))
            system = rec.body.get("system") or []
            with_context[name] += len(system) > 1
            parts[name]["system"].append(count_tokens(system[0]["text"]) if system else 0)
            parts[name]["context"].append(sum(count_tokens(b["text"]) for b in system[1:]))
            parts[name]["file"].append(count_tokens(rec.messages[0]["content"]) if rec.messages else 0)
    for lsp in servers.values():
        await bench.stop(lsp)
    if skipped:
        bench.report.notes.append("Prompt-size samples without exactly one upstream request (skipped): "
                                  + "; ".join(skipped[:5]))
    names = ", ".join(p.name if p.is_relative_to(STDLIB) else str(p.relative_to(ROOT)) for p in files)
    labels = {"default": "default settings (jedi context within `contextTimeBudgetMs` 150)",
              "patient": "jedi context given 3 s (`contextTimeBudgetMs: 3000`)"}
    rows = []
    for name in servers:
        t = totals[name]
        rows.append([f"**input tokens** per request, {labels[name]}; {with_context[name]}/{len(t)} "
                     "with context", f"{med(t):.0f}", f"{pct(t, 95):.0f}", f"{max(t)}", "median <= 1,500",
                     met(med(t) <= 1500)])
        for key, label in (("system", "instructions (system block 1)"),
                           ("context", "jedi context (system block 2)"),
                           ("file", "file window + task (user message)")):
            values = parts[name][key]
            rows.append([f"of which: {label}", f"{med(values):.0f}", f"{pct(values, 95):.0f}",
                         f"{max(values)}", "", ""])
    modes = collections.Counter("block" if not text.split("\n")[line].strip() else "line"
                                for _, text, line, _ in spots[2:])
    t = totals["default"]
    bench.report.goal(7, "median prompt (input) tokens, default settings", f"{med(t):.0f}",
                      f"p95 {pct(t, 95):.0f}, max {max(t)}", "<= 1,500", med(t) <= 1500)
    bench.report.add(
        "7. Prompt size",
        f"{n} positions ({modes['line']} mid-line, {modes['block']} on a new empty line; 2 warm-up "
        f"requests first), seeded, in: {names}; the document is cut at the cursor as if being typed; "
        "workspace root = the repo. Input tokens = input + cache write + cache read, as counted by the "
        "fake (a BPE-like stand-in, ~3.5-4 characters a token of code). Each position is asked of two "
        "servers: default settings, and (every other position) one that waits for the jedi context.\n\n"
        + table(["Measure", "median", "p95", "max", "Target", "Met"], rows))


def prompt_spots(files: list[Path], count: int) -> list[tuple[Path, str, int, int]]:
    """(file, document text, cursor line, cursor column): seeded positions, the file cut at the cursor as
    if that line were being typed; every fourth one on a new empty line (block mode)."""
    rng = random.Random(42)
    spots = []
    for i in range(count):
        path = files[i % len(files)]
        lines = path.read_text().split("\n")
        candidates = [j for j, t in enumerate(lines) if t.strip() and not t.strip().startswith(("#", '"'))
                      and 20 < j < len(lines) - 5]
        j = rng.choice(candidates)
        text = lines[j]
        indent = len(text) - len(text.lstrip())
        if i % 4 == 3:
            lines.insert(j, " " * indent)
            col = indent
        else:
            col = rng.randint(indent + 1, len(text))
            lines[j] = text[:col]
        spots.append((path, "\n".join(lines), j, col))
    return spots
