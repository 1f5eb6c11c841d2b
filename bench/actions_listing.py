"""bench/actions.py, section 1: `textDocument/codeAction` listing on a 2,000-line Python module and a
2,000-line log with a traceback near its end (first request after open, same version, after an edit),
against a no-op request; listing must make no upstream request."""

from __future__ import annotations

import ast
import random
import time
from pathlib import Path
from typing import Any

from _common import Report, med, ms, table  # bench/ is on sys.path when run
from actions_common import Config, Lsp, bench_env, ms_stats, settle
from actions_documents import EDIT_MARK, deep_traceback, log_file, python_module
from lsprotocol import types


async def listing_section(cfg: Config, fake: Any, report: Report, work: Path) -> dict:
    ws = work / "ws-listing"
    ws.mkdir()
    text, _ = python_module()
    log_text, tb_last = log_file(ws=str(ws))
    deep_text, deep_last = deep_traceback()
    py_lines, log_lines = text.split("\n"), log_text.split("\n")
    edit_line = py_lines.index(EDIT_MARK)  # a comment: every edit keeps the module parseable
    lsp = Lsp(bench_env(fake.base_url, work / "cache-listing"))
    await lsp.start(ws)
    before = len(fake.requests)
    rng = random.Random(3)
    rows: list[list[Any]] = []
    facts: dict[str, Any] = {"py_lines": len(py_lines) - 1, "log_lines": len(log_lines) - 1}
    try:
        # Warm the client/server paths (first request of a session, imports) outside the samples.
        warm_uri = (ws / "warmup.py").as_uri()
        lsp.open(warm_uri, text)
        await settle(lsp, warm_uri)
        for _ in range(5):
            await lsp.list_actions(warm_uri, 100)
            await lsp.noop(warm_uri)
        lsp.close(warm_uri)

        async def cold_samples(name: str, body: str, language: str, lines: list[str],
                               settled: bool) -> tuple[list[float], list[float]]:
            firsts, bases = [], []
            for i in range(cfg.cold):
                uri = (ws / f"{name}{'-s' if settled else ''}-{i}.{'py' if language == 'python' else 'log'}").as_uri()
                lsp.open(uri, body, language)
                if settled:
                    await settle(lsp, uri)
                line = rng.randrange(len(lines) - 1)
                rt, _ = await lsp.list_actions(uri, line, min(4, len(lines[line])))
                firsts.append(rt)
                bases.append(await lsp.noop(uri))
                await settle(lsp, uri)  # let the next sample start on an idle server
                lsp.close(uri)
            return firsts, bases

        async def same_version(uri: str, lines: list[str], positions: list[int]) -> tuple[list[float], list[float],
                                                                                          list[list]]:
            rts, bases, results = [], [], []
            for line in positions:
                bases.append(await lsp.noop(uri))
                rt, actions = await lsp.list_actions(uri, line, min(4, len(lines[line])))
                rts.append(rt)
                results.append(actions)
            return rts, bases, results

        spread = sorted(rng.sample(range(len(py_lines) - 1), cfg.positions))

        # --- Python module ---
        cold_py, cold_py_base = await cold_samples("cold", text, "python", py_lines, settled=False)
        settled_py, settled_py_base = await cold_samples("cold", text, "python", py_lines, settled=True)
        uri = (ws / "big.py").as_uri()
        lsp.open(uri, text)
        await settle(lsp, uri)
        await lsp.list_actions(uri, 0)
        warm_py, warm_py_base, results = await same_version(uri, py_lines, spread)
        with_test = sum(1 for r in results if any(a.title.startswith("Generate a unit test") for a in r))
        edit_py, edit_py_base = [], []
        for i in range(cfg.edits):
            lsp.type(uri, edit_line, len(lsp.lines[uri][edit_line]), str(i % 10))
            line = rng.choice(spread)
            rt, _ = await lsp.list_actions(uri, line, min(4, len(lsp.lines[uri][line])))
            edit_py.append(rt)
            edit_py_base.append(await lsp.noop(uri))
        lsp.close(uri)
        facts["py_with_test"] = (with_test, len(spread))
        facts["edit_py"] = edit_py
        baseline_all = cold_py_base + settled_py_base + warm_py_base + edit_py_base
        rows += [
            ["Python, 1st request right after didOpen", *ms_stats(cold_py), *ms_stats(cold_py_base),
             f"{len(cold_py)} fresh documents, requested right after didOpen"],
            ["Python, 1st request after open (jedi idle)", *ms_stats(settled_py), *ms_stats(settled_py_base),
             f"{len(settled_py)} fresh documents, after the open has settled"],
            ["Python, same version", *ms_stats(warm_py), *ms_stats(warm_py_base),
             f"{len(warm_py)} cursor positions; test action offered at {with_test}"],
            ["Python, after an edit (new version)", *ms_stats(edit_py), *ms_stats(edit_py_base),
             f"{len(edit_py)} edits (1 character typed into a comment), each followed at once by the request"],
        ]

        # --- Log file ---
        cold_log, cold_log_base = await cold_samples("cold", log_text, "log", log_lines, settled=False)
        uri = (ws / "service.log").as_uri()
        lsp.open(uri, log_text, "log")
        await lsp.list_actions(uri, 0)
        log_spread = sorted(rng.sample(range(len(log_lines) - 1), cfg.positions))
        warm_log, warm_log_base, results = await same_version(uri, log_lines, log_spread)
        explain_far = sum(1 for r in results if any(a.title.startswith("Explain") for a in r))
        tb_positions = [tb_last - k for k in range(0, 28)] * max(1, cfg.positions // 56)
        on_tb, on_tb_base, results = await same_version(uri, log_lines, tb_positions)
        explain_on = sum(1 for r in results if any(a.title.startswith("Explain") for a in r))
        edit_log, edit_log_base = [], []
        for i in range(cfg.edits):
            lsp.type(uri, 10, 0, "x")
            line = tb_last - (i % 28)
            rt, _ = await lsp.list_actions(uri, line, 0)
            edit_log.append(rt)
            edit_log_base.append(await lsp.noop(uri))
        lsp.close(uri)
        facts["log_explain"] = (explain_far, len(log_spread), explain_on, len(tb_positions))
        rows += [
            ["Log, 1st request right after didOpen", *ms_stats(cold_log), *ms_stats(cold_log_base),
             f"{len(cold_log)} fresh documents (language `log`: no test action, traceback detector only)"],
            ["Log, same version, anywhere", *ms_stats(warm_log), *ms_stats(warm_log_base),
             f"{len(warm_log)} positions; explain action offered at {explain_far} (those within 40 lines of it)"],
            ["Log, same version, on the traceback", *ms_stats(on_tb), *ms_stats(on_tb_base),
             f"{len(on_tb)} requests on its 28 lines; explain action offered at {explain_on}"],
            ["Log, after an edit, on the traceback", *ms_stats(edit_log), *ms_stats(edit_log_base),
             f"{len(edit_log)} edits (the detector has no per-version memo: same work as above)"],
        ]

        # --- Stress: a 2,000-line traceback (mutual recursion is not collapsed by CPython) ---
        uri = (ws / "recursion.log").as_uri()
        deep_lines = deep_text.split("\n")
        lsp.open(uri, deep_text, "log")
        await lsp.list_actions(uri, 0)
        stress_pos = [deep_last - k for k in range(0, 40, 2)] + [len(deep_lines) // 2 + k for k in range(0, 40, 2)]
        stress, stress_base, results = await same_version(uri, deep_lines, stress_pos)
        explain_deep = sum(1 for r in results if any(a.title.startswith("Explain") for a in r))
        lsp.close(uri)
        rows.append([f"Log, {len(deep_lines) - 1}-line traceback (stress), same version", *ms_stats(stress),
                     *ms_stats(stress_base),
                     f"{len(stress)} positions at its end and middle; explain offered at {explain_deep}"])
        baseline_all += cold_log_base + warm_log_base + on_tb_base + edit_log_base + stress_base
        facts["baseline"] = baseline_all
        facts["upstream"] = len(fake.requests) - before
        facts["listings"] = lsp.sent[types.TEXT_DOCUMENT_CODE_ACTION]
    finally:
        await lsp.stop()

    # In-process reference: the listing finds the enclosing def/class by indentation (engine.outline)
    # instead of parsing; a full parse is what it would cost otherwise.
    from haiku_lsp.python import enclosing_definition

    parse_s, outline_s = [], []
    lines = text.split("\n")
    for i in range(20):
        variant = text + "#" * i  # a new version each time, as after an edit
        t0 = time.perf_counter()
        ast.parse(variant)
        parse_s.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        for line in range(0, len(lines), 97):
            enclosing_definition(lines, line)
        outline_s.append((time.perf_counter() - t0) / len(range(0, len(lines), 97)))
    slow_edits = sum(1 for rt in facts["edit_py"] if rt > 2 * med(facts["edit_py"]))
    print(f"Upstream requests made while listing code actions: {facts['upstream']}", flush=True)
    body = table(["request", "median ms", "p95 ms", "baseline median ms", "baseline p95 ms", "notes"], rows)
    body += (f"\n\nDocuments: a generated {facts['py_lines']}-line Python module (functions, classes with methods, "
             "nested and async defs, decorators, doctests) and a "
             f"{facts['log_lines']}-line service log with a chained traceback near its end. Baseline: the no-op "
             "round trip (a hover on a line past the end of the document, answered null before any work), "
             "interleaved with the samples of the same row. Cursor requests with an empty range and no "
             "diagnostics, as an editor sends on every cursor move.\n\n"
             "In-process reference (this benchmark's process, the same module): the listing finds the "
             f"enclosing def/class by indentation (`engine.outline.enclosing_definition`): {ms(med(outline_s))} ms "
             f"median per cursor position, against {ms(med(parse_s))} ms for an `ast.parse` of the module (what a "
             f"parse per new version would cost on the event loop); {slow_edits} of the {len(facts['edit_py'])} "
             "after-edit samples above took more than twice their median.\n\n"
             f"**Upstream requests made while listing: {facts['upstream']}** (the fake API's request log, "
             f"over the {facts['listings']} listing requests of this section).")
    report.add("Code action listing (`textDocument/codeAction`)", body)
    return facts
