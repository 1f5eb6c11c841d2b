"""What bench/quality.py measures on: the HumanEval-infilling tasks (loaded, sampled), each one's hole as an
editor holds it (document, cursor, the perfect answer), the model answers of each variant, the item
applied as an editor applies it, and the filled program run against the task's tests in a subprocess."""

from __future__ import annotations

import asyncio
import concurrent.futures
import gzip
import hashlib
import json
import random
import re
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

from lsprotocol import types

from tests.harness import apply_change, items_of, text_of

# set name -> file in the data folder; the sets a seeded sample is taken from by default.
SETS = {
    "single-line": "HumanEval-SingleLineInfilling.jsonl.gz",
    "multi-line": "HumanEval-MultiLineInfilling.jsonl.gz",
    "random-span": "HumanEval-RandomSpanInfilling.jsonl.gz",
}
SAMPLED = ("multi-line", "random-span")
VARIANTS = ("perfect", "fenced", "prose", "suffix-echo", "run-on")
OPEN, CLOSE = "<COMPLETION>", "</COMPLETION>"  # the answer protocol of server/haiku_lsp/completion/prompts.py
SEED = 20260101
# What the `run-on` answer goes on with past the hole (at the indentation of the code that follows the
# hole, where a model writing on past the hole puts it): the rest as a stub. Kept, the tests fail.
RUN_ON = ("# TODO: handle the remaining cases", "raise NotImplementedError")


@dataclass(frozen=True)
class Task:
    set_name: str
    task_id: str
    prompt: str  # the code before the hole
    middle: str  # canonical_solution: what fills the hole
    suffix: str  # the code after it
    test: str
    entry_point: str

    @property
    def slug(self) -> str:
        """A file name for the task (unique within its set)."""
        return re.sub(r"[^A-Za-z0-9]+", "_", self.task_id.split("/", 1)[-1]).strip("_")

    def program(self, filled: str) -> str:
        """The filled file with the task's tests, as the data set's README runs it."""
        return filled + "\n" + self.test + f"\ncheck({self.entry_point})\n"


def load(data: Path, set_name: str) -> list[Task]:
    with gzip.open(data / SETS[set_name], "rt", encoding="utf-8") as f:
        rows = [json.loads(line) for line in f if line.strip()]
    return [Task(set_name, r["task_id"], r["prompt"], r["canonical_solution"], r["suffix"], r["test"],
                 r["entry_point"]) for r in rows]


def sample(tasks: list[Task], n: int | None) -> list[Task]:
    """`n` tasks drawn with a fixed seed (all of them when n is None or not smaller), in set order."""
    if n is None or n >= len(tasks):
        return tasks
    keep = set(random.Random(SEED).sample(range(len(tasks)), n))
    return [t for i, t in enumerate(tasks) if i in keep]


# --------------------------------------------------------------------------------------------------
# The hole as an editor holds it


@dataclass(frozen=True)
class Hole:
    """The document with the hole removed, the cursor (line, code point) where it starts, the perfect
    answer (the text to insert there), what follows the cursor, and the indentation of the code that
    follows the hole (of the first non-blank line after the one the hole ends on: where the run-on lines
    go)."""

    document: str
    line: int
    col: int
    answer: str
    after: str
    next_indent: str

    @property
    def next_line(self) -> str:
        """The first non-blank line after the cursor's line (the server takes it for the code after the hole)."""
        return next((x.rstrip() for x in self.document.split("\n")[self.line + 1 :] if x.strip()), "")

    @property
    def mode(self) -> str:
        """Where the cursor is, as the server tells them apart: "after code" (code before it on its line:
        the line is completed), "before code" (only indentation before it, code after it: one line),
        "empty line" (a statement or a block)."""
        text = self.document.split("\n")[self.line]
        if text[: self.col].strip():
            return "after code"
        return "before code" if text[self.col:].strip() else "empty line"


def _indent(line: str) -> str:
    return line[: len(line) - len(line.lstrip(" \t"))]


def _at_line_start(text: str) -> bool:
    return text == "" or text.endswith("\n")


def hole_of(task: Task) -> Hole:
    """The hole as an editor holds it, with prompt + middle + suffix unchanged (the document with the
    answer inserted at the cursor):

    - a hole starting inside a line's indentation starts at the line's start, and whole blank lines at
      its start stay in the document; one ending inside the next line's indentation ends at that line's
      start, and whole blank lines at its end stay in the document (an answer never starts or ends with
      them);
    - a hole starting a line: the cursor sits at the indentation of its first line (the line holds that
      indentation, as an editor's auto-indent puts it), the answer starts after it;
    - a hole ending with a newline leaves that newline in the document (the cursor's line is its own line,
      as after pressing Enter), the answer ends before it."""
    p, m, s = task.prompt, task.middle, task.suffix
    head = p[p.rfind("\n") + 1 :]
    if head and not head.strip():
        p, m = p[: len(p) - len(head)], head + m
    while _at_line_start(p) and "\n" in m and not m.split("\n", 1)[0].strip():
        first, m = m.split("\n", 1)
        p += first + "\n"
    tail = m[m.rfind("\n") + 1 :] if "\n" in m else "x"
    if tail and not tail.strip():
        m, s = m[: len(m) - len(tail)], tail + s
    while m.endswith("\n") and "\n" in m[:-1] and not m[:-1].rsplit("\n", 1)[1].strip():
        blank = m[:-1].rsplit("\n", 1)[1]
        m, s = m[: len(m) - len(blank) - 1], blank + "\n" + s
    indent = _indent(m.split("\n", 1)[0]) if _at_line_start(p) else ""
    answer, after = m[len(indent) :], s
    if answer.endswith("\n"):
        answer, after = answer[:-1], "\n" + s
    before = p + indent
    line = before.count("\n")
    col = len(before) - (before.rfind("\n") + 1)
    following = [x for x in after.split("\n")[1:] if x.strip()]
    return Hole(before + after, line, col, answer, after, _indent(following[0]) if following else indent)


def reply_text(variant: str, hole: Hole) -> str:
    """What the model sends after the `<COMPLETION>` prefill, closing tag included."""
    a = hole.answer
    if variant == "perfect":
        body = a
    elif variant == "fenced":
        body = f"```python\n{a}\n```"
    elif variant == "prose":
        body = f"Here is the code:\n{a}"
    elif variant == "suffix-echo":  # the rest of the cursor's line and the next 2 lines, copied
        body = a + "\n".join(hole.after.split("\n")[:3])
    elif variant == "run-on":
        body = a + "".join(f"\n{hole.next_indent}{x}" for x in RUN_ON)
    else:
        raise ValueError(f"unknown variant {variant!r}")
    return body + CLOSE


def apply_first(hole: Hole, result: types.InlineCompletionList | list[types.InlineCompletionItem] | None,
                at: types.Position) -> tuple[str, str | None]:
    """(the document with the first item applied as an editor applies it: its insertText at its range,
    or at the cursor when it has none; the inserted text, None when there was no item)."""
    items = items_of(result)
    lines = hole.document.split("\n")
    if not items:
        return hole.document, None
    item = items[0]
    rng = item.range or types.Range(start=at, end=at)
    text = text_of(item)
    apply_change(lines, rng, text)
    return "\n".join(lines), text


# --------------------------------------------------------------------------------------------------
# Running the tests


@dataclass(frozen=True)
class Verdict:
    passed: bool
    why: str  # "" when passed; else "timeout" or the last line of stderr (the exception)


class ProgramRunner:
    """Runs filled programs in subprocesses (one per program, `workers` at a time, each killed after
    `timeout` seconds); the same program is run once (memoized by its text)."""

    def __init__(self, cwd: Path, workers: int = 2, timeout: float = 10.0) -> None:
        self.cwd, self.timeout = cwd, timeout
        self.pool = concurrent.futures.ThreadPoolExecutor(workers, thread_name_prefix="tests")
        self.memo: dict[str, concurrent.futures.Future[Verdict]] = {}
        self.lock = threading.Lock()
        self.runs = 0

    async def check(self, program: str) -> Verdict:
        key = hashlib.sha256(program.encode()).hexdigest()
        with self.lock:
            fut = self.memo.get(key)
            if fut is None:
                fut = self.memo[key] = self.pool.submit(self._run, program)
        return await asyncio.wrap_future(fut)

    def _run(self, program: str) -> Verdict:
        with self.lock:
            self.runs += 1
        try:
            done = subprocess.run([sys.executable, "-I", "-"], input=program, text=True, capture_output=True,
                                  timeout=self.timeout, cwd=self.cwd)
        except subprocess.TimeoutExpired:
            return Verdict(False, "timeout")
        if done.returncode == 0:
            return Verdict(True, "")
        last = [x for x in done.stderr.strip().split("\n") if x.strip()]
        return Verdict(False, (last[-1] if last else f"exit {done.returncode}")[:120])

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)
