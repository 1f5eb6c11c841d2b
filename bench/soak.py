"""Soak: thousands of inline completion requests against one server, 30 % of them cancelled by the client,
an upstream fault every few hundred calls (HTTP errors, a dropped connection, malformed SSE, an error
event, a 429 with retry-after). Reports resident memory and open file descriptors of the server process
at the start, every tenth of the run and the end, a hover on another file now and then (how long it
waits), and checks that every request got exactly one response.

    python bench/soak.py            # 5,000 requests, writes its section of BENCHMARKS.md
    python bench/soak.py --quick    # 500 requests, a smoke run
    python bench/soak.py --no-write # leave BENCHMARKS.md alone
    python bench/soak.py --tracemalloc DIR  # the server traces its allocations: a snapshot at each
                                    # tenth into DIR, then the biggest growths from 10 % to the end
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import tempfile
import time
from pathlib import Path

from _common import MD_PATH, ROOT, header, med, ms, pct, table, write_section  # bench/ is on sys.path when run
from lsprotocol import types

from tests.fakes.anthropic_api import FakeAnthropic, Fault, Reply
from tests.harness import API_KEY, Editor, haiku_command, items_of, server_env

START, END = "<!-- bench:soak:start -->", "<!-- bench:soak:end -->"
FAULT_EVERY = 250  # upstream calls between two faults
FAULTS = [Fault.status(500), Fault.status(529), Fault.drop(3), Fault.malformed(3),
          Fault.error_event(3, type="api_error"), Fault.status(429, retry_after=0.3)]
CANCELLED = 0.30
DOCS = 12
OTHER = "import os\n\nos.path.join\n"


def document(k: int) -> list[str]:
    return ["import math", "", "", f"def area{k}(r):", '    """Area of a circle."""', "    return math.p"]


def process_figures(pid: int) -> tuple[float, float, float, int]:
    """(VmRSS, RssAnon, RssFile in MiB, open file descriptors) of a process. RssFile is mapped files: the
    disk cache's SQLite maps its database (up to 64 MiB), which counts as resident once read."""
    kib = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "RssAnon", "RssFile"):
            kib[name] = int(value.split()[0]) / 1024
    nan = float("nan")
    return kib.get("VmRSS", nan), kib.get("RssAnon", nan), kib.get("RssFile", nan), len(os.listdir(f"/proc/{pid}/fd"))


class Upstream:
    """The fake's replies: quick answers, every FAULT_EVERY-th call a fault (the kinds in turn)."""

    def __init__(self) -> None:
        self.calls = self.faults = 0

    def __call__(self, body: dict) -> Reply:
        self.calls += 1
        if self.calls % FAULT_EVERY == 0:
            self.faults += 1
            return Reply(text="i * r ** 2", chunk_chars=4, fault=FAULTS[(self.faults - 1) % len(FAULTS)])
        return Reply(text="i * r ** 2\n\n\ndef other():\n    pass", chunk_chars=6)


async def snapshot(pid: int, folder: Path, n: int) -> None:
    """Ask the server for its `n`-th tracemalloc snapshot (haiku_lsp/lsp/memtrace.py) and wait until written."""
    os.kill(pid, signal.SIGUSR1)
    path = folder / f"snapshot-{pid}-{n:02d}.json"  # written last
    for _ in range(600):
        await asyncio.sleep(0.1)
        if path.exists() and path.stat().st_size and time.time() - path.stat().st_mtime > 0.3:
            return


def growth_report(folder: Path, top: int = 25) -> str:
    """The biggest growths between the second snapshot (10 %: warm) and the last, by line and by traceback."""
    import tracemalloc

    paths = sorted(folder.glob("snapshot-*.json"))
    rows = []
    for path in paths:  # what tracemalloc cannot see: malloc's own figures, pymalloc's arenas
        f = json.loads(path.read_text())
        m, p = f.get("mallinfo2") or {}, f.get("pymalloc") or {}
        rows.append([path.stem.rsplit("-", 1)[-1], f"{f.get('traced', 0) / 2**20:.1f}", f.get("objects", "?"),
                     f"{m.get('uordblks', 0) / 2**20:.1f}", f"{m.get('fordblks', 0) / 2**20:.1f}",
                     f"{m.get('hblkhd', 0) / 2**20:.1f}", p.get("arenas allocated current", "?")])
    figures = table(["Snapshot", "traced MiB", "objects", "malloc in use MiB", "malloc free MiB", "malloc mmapped MiB",
                     "pymalloc arenas"], rows)
    traces = sorted(folder.glob("snapshot-*.tracemalloc"))
    if len(traces) < 3:
        return figures
    first, last = tracemalloc.Snapshot.load(str(traces[1])), tracemalloc.Snapshot.load(str(traces[-1]))
    skip = [tracemalloc.Filter(False, tracemalloc.__file__), tracemalloc.Filter(False, "<frozen importlib._bootstrap>")]
    first, last = first.filter_traces(skip), last.filter_traces(skip)
    out = [figures, "", f"traced: {sum(s.size for s in first.statistics('filename')) / 2**20:.1f} MiB at 10 % -> "
           f"{sum(s.size for s in last.statistics('filename')) / 2**20:.1f} MiB at the end", "", "by line:"]
    out += [str(d) for d in last.compare_to(first, "lineno")[:top]]
    out += ["", "by traceback (the 8 biggest):"]
    for d in last.compare_to(first, "traceback")[:8]:
        out += [f"{d.size_diff / 1024:+.1f} KiB in {d.count_diff:+d} blocks", *("    " + line for line in
                                                                                   d.traceback.format()[-16:])]
    return "\n".join(out)


async def soak(requests: int, seed: int, cache: bool = True, trace: Path | None = None) -> dict:
    rng = random.Random(seed)
    upstream = Upstream()
    fake = FakeAnthropic().start()
    fake.script(upstream)
    tmp = Path(tempfile.mkdtemp(prefix="haiku-soak-"))
    ws = tmp / "ws"
    ws.mkdir()
    # The server runs this checkout's code also when the venv has another checkout installed (a worktree).
    path = os.pathsep.join(p for p in (str(ROOT / "server"), os.environ.get("PYTHONPATH")) if p)
    extra = {"PYTHONPATH": path, **({"HAIKU_LSP_TRACEMALLOC": str(trace)} if trace else {})}
    env = server_env(fake.base_url, tmp / "cache", api_key=API_KEY, extra=extra)
    editor = Editor(haiku_command(), env, name="soak")
    await editor.start(ws, {"debounceMs": 0, "debounceMinMs": 0, "debounceMaxMs": 0, "inlineTimeoutMs": 2000,
                        "cacheEnabled": cache})
    other = editor.open("other.py", OTHER)
    uris = [editor.open(f"circle{k}.py", "\n".join(document(k))) for k in range(DOCS)]
    await editor.hover(other, types.Position(line=2, character=10)).wait(60)  # jedi warm
    await editor.inline(uris[0], types.Position(line=5, character=17), invoked=True).wait(60)  # the SDK warm
    samples = [("start", 0, *process_figures(editor.pid))]
    if trace:
        await snapshot(editor.pid, trace, 0)
    marks = {requests * k // 10: f"{k * 10} %" for k in range(1, 10)}
    pending, cancelled, hovers = [], 0, []
    with_items = 0
    t0 = time.monotonic()
    for n in range(1, requests + 1):
        k = rng.randrange(DOCS)
        uri = uris[k]
        lines = editor.lines[uri]
        # Typing: one more character on the last line (a new prompt: no cache hit), now and then a fresh line.
        if len(lines[5]) > 60:
            editor.set_line(uri, 5, "    return math.p")
        editor.type(uri, 5, len(lines[5]), rng.choice("abcdefghij"))
        request = editor.inline(uri, types.Position(line=5, character=len(editor.lines[uri][5])),
                                invoked=rng.random() < 0.2)
        pending.append(request)
        if rng.random() < CANCELLED:
            cancelled += 1
            await asyncio.sleep(rng.choice((0, 0.001, 0.005)))
            editor.cancel(request.msg_id)
        if n % 4 == 0:  # a few in flight at a time, as in an editor with several documents busy
            done = await asyncio.gather(*(p.wait(60) for p in pending[-4:]), return_exceptions=True)
            with_items += sum(1 for d in done if not isinstance(d, BaseException) and items_of(d))
        if n % 500 == 0:
            h = editor.hover(other, types.Position(line=2, character=10))
            await h.wait(60)
            hovers.append(h.seconds)
        if n in marks:
            samples.append((marks[n], n, *process_figures(editor.pid)))
            if trace:
                await snapshot(editor.pid, trace, len(samples) - 1)
    results = await asyncio.gather(*(p.wait(60) for p in pending), return_exceptions=True)
    elapsed = time.monotonic() - t0
    await asyncio.sleep(1.0)  # late answers would show up as second responses
    samples.append(("end", requests, *process_figures(editor.pid)))
    if trace:
        await snapshot(editor.pid, trace, len(samples) - 1)
    responses = editor.protocol.responses
    ids = [p.msg_id for p in pending]
    answered_once = sum(1 for i in ids if responses.get(i) == 1)
    errors = [r for r in results if isinstance(r, BaseException)]
    stats = await editor.command("haiku.showStats").wait(30)
    await editor.stop()
    fake.stop()
    inline = stats.get("inline", {}) if isinstance(stats, dict) else {}
    return {"requests": requests, "cancelled": cancelled, "answered_once": answered_once,
            "unanswered": sum(1 for i in ids if i not in responses),
            "twice": sum(1 for i in ids if responses.get(i, 0) > 1),
            "errors": len(errors), "error_kinds": sorted({type(e).__name__ for e in errors}),
            "with_items": with_items, "upstream": upstream.calls, "faults": upstream.faults, "elapsed": elapsed,
            "samples": samples, "hovers": hovers, "paused": inline.get("paused", "?")}


def render(r: dict) -> str:
    rows = [[label, n, f"{rss:.1f}", f"{anon:.1f}", f"{file:.1f}", fds]
            for label, n, rss, anon, file, fds in r["samples"]]
    first, mid, last = r["samples"][0], r["samples"][len(r["samples"]) // 2], r["samples"][-1]
    facts = [
        ["requests", r["requests"]],
        ["cancelled by the client ($/cancelRequest)", r["cancelled"]],
        ["answered exactly once", r["answered_once"]],
        ["never answered / answered twice", f"{r['unanswered']} / {r['twice']}"],
        ["answered with items (the others: nothing to add, cancelled, superseded, a fault)", r["with_items"]],
        ["answered with a JSON-RPC error (RequestCancelled)", f"{r['errors']} {', '.join(r['error_kinds'])}".strip()],
        ["upstream calls (the rest: typed-ahead, superseded, cache, paused)", r["upstream"]],
        ["upstream faults played", r["faults"]],
        ["requests held back by the circuit breaker", r["paused"]],
        ["wall time", f"{r['elapsed']:.0f} s ({r['requests'] / r['elapsed']:.0f} requests/s)"],
        ["hover on another file during the run: median / max (ms)",
         f"{ms(med(r['hovers']))} / {ms(max(r['hovers'], default=float('nan')))}"],
        ["RSS growth start -> end (anonymous / mapped files)",
         f"{last[2] - first[2]:+.1f} MiB ({last[3] - first[3]:+.1f} / {last[4] - first[4]:+.1f})"],
        ["RSS growth over the second half", f"{last[2] - mid[2]:+.1f} MiB"],
        ["open fds start -> end", f"{first[5]} -> {last[5]}"],
    ]
    return (table(["Point", "Requests done", "RSS MiB", "anonymous", "mapped files", "Open fds"], rows) + "\n\n"
            + table(["Measure", "Figure"], facts) + "\n\n"
            + f"Hover p95 over {len(r['hovers'])} samples: {ms(pct(r['hovers'], 95))} ms.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="500 requests (a smoke run)")
    parser.add_argument("--requests", type=int, help="how many inline requests (default 5,000)")
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("--no-cache", action="store_true", help="with the cache off (cacheEnabled false)")
    parser.add_argument("--no-write", action="store_true", help="do not write BENCHMARKS.md")
    parser.add_argument("--tracemalloc", metavar="DIR", type=Path,
                        help="trace the server's allocations: snapshots into DIR, the growths printed (no write)")
    args = parser.parse_args()
    requests = args.requests or (500 if args.quick else 5000)
    t0 = time.monotonic()
    result = asyncio.run(soak(requests, args.seed, cache=not args.no_cache, trace=args.tracemalloc))
    body = render(result)
    print(body)
    if args.tracemalloc:
        print("\n" + growth_report(args.tracemalloc))
    ok = result["answered_once"] == requests
    print("every request answered exactly once:", "yes" if ok else "NO")
    if not args.no_write and not args.quick and not args.no_cache and not args.tracemalloc:
        command = "python bench/soak.py" + (f" --requests {requests}" if args.requests else "")
        lines = header(START, "Soak: inline requests with cancels and upstream faults", command,
                       time.monotonic() - t0)
        intro = (f"{requests:,} inline requests on {DOCS} documents, each after a typed character (a new "
                 f"prompt), four in flight at a time, {CANCELLED:.0%} cancelled by the client right after "
                 f"sending, 20 % Invoked; the fake API answers at once and every {FAULT_EVERY}th call "
                 "fails (500, 529, a dropped connection, malformed SSE, an error event, 429 with "
                 "retry-after 0.3 s, in turn). RSS and open file descriptors of the server process; a hover "
                 "on another file every 500 requests. RSS split into anonymous memory and mapped files (the disk "
                 "cache's SQLite maps its database).")
        write_section(MD_PATH, START, END, "\n".join([*lines, "", intro, "", body, "", END]))
    raise SystemExit(0 if ok else 1)


if __name__ == "__main__":
    main()
