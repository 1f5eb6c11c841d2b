"""Giving memory back: the idle tidy-up of the server (`IdleTidy`), `release_memory`, and dropping the
parse trees of closed documents (`forget_documents`)."""

from __future__ import annotations

import asyncio
import time
import weakref

from parso.cache import parser_cache

from haiku_lsp.memory import IdleTidy, release_memory
from haiku_lsp.python.jedi_service import forget_documents, jedi_script


async def until(condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


async def test_the_tidy_up_runs_once_after_a_burst_of_work_and_not_before_it_ends():
    released: list[int] = []
    tidy = IdleTidy(delay_s=0.05, release=lambda: released.append(1))
    for _ in range(5):
        tidy.note_work()
    assert released == []  # not while work comes in
    await until(lambda: tidy.runs == 1)
    await asyncio.sleep(0.2)
    assert released == [1]  # once for the whole burst
    tidy.note_work()
    await until(lambda: tidy.runs == 2)


async def test_a_cancelled_tidy_up_does_not_run():
    released: list[int] = []
    tidy = IdleTidy(delay_s=0.05, release=lambda: released.append(1))
    tidy.note_work()
    tidy.cancel()
    await asyncio.sleep(0.2)
    assert released == [] and tidy.runs == 0


def test_release_memory_collects_cycles():
    class Node:
        pass

    a, b = Node(), Node()
    a.other, b.other = b, a  # type: ignore[attr-defined]
    ref = weakref.ref(a)
    del a, b
    release_memory()
    assert ref() is None


def test_a_closed_documents_parse_tree_is_dropped_and_the_others_stay(tmp_path):
    paths = []
    for i in range(2):
        path = tmp_path / f"closed{i}.py"
        code = f"def f{i}(x):\n    return str(x).upper()\n"
        path.write_text(code)
        jedi_script(code, str(path), None).infer(2, len("    return str(x).up"))
        paths.append(str(path))

    def cached() -> set[str]:
        return {str(k) for items in parser_cache.values() for k in items} & set(paths)

    assert cached() == set(paths)
    assert forget_documents([paths[0]]) == 1
    assert cached() == {paths[1]}
    assert forget_documents([paths[0]]) == 0
