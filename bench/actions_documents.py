"""The documents bench/actions.py works on, generated (seeded): a realistic Python module of about 2,000
lines, a service log with a chained traceback near its end, and a deep (recursion) traceback."""

from __future__ import annotations

import datetime
import random

WORDS = ["alpha", "beta", "gamma", "delta", "omega", "sigma", "kappa", "lambda_", "theta", "zeta", "rho", "tau"]
VERBS = ["load", "parse", "merge", "score", "render", "filter", "rank", "split", "encode", "check", "build", "scan"]

FUNC_DOCTEST = '''
def @NAME@(values: list[float], scale: float = @K@) -> float:
    """Return the scaled sum of the non-negative ``values``.

    >>> @NAME@([1.0, 2.0], scale=2.0)
    6.0
    >>> @NAME@([-1.0], scale=@K@)
    0.0
    """
    total = 0.0
    for value in values:
        if value < 0:
            continue
        total += value * scale
    return total
'''

FUNC_PLAIN = '''
def @NAME@(text: str, limit: int = @K@) -> list[str]:
    """Split ``text`` into at most ``limit`` stripped, non-empty words."""
    words = [w.strip() for w in text.split()]
    kept = [w for w in words if w]
    if len(kept) > limit:
        kept = kept[:limit]
    return kept
'''

FUNC_ASYNC = '''
async def @NAME@(urls: list[str], limit: int = @K@) -> list[str]:
    """Fetch (pretend) the first ``limit`` urls."""
    results: list[str] = []
    for url in urls[:limit]:
        await asyncio.sleep(0)
        results.append(url.upper())
    return results
'''

FUNC_DECORATED = '''
@functools.lru_cache(maxsize=@K@)
def @NAME@(n: int) -> int:
    """Memoised helper: the n-th number of a Fibonacci-like sequence."""
    if n < 2:
        return n
    return @NAME@(n - 1) + @NAME@(n - 2)
'''

CLASS = '''
@dataclasses.dataclass
class @NAME@:
    """A bounded store of counters keyed by name.

    >>> s = @NAME@("demo", limit=2)
    >>> s.add("a", 1)
    >>> s.total
    1
    """

    name: str
    limit: int = @K@
    _items: dict[str, int] = dataclasses.field(default_factory=dict)

    def add(self, key: str, value: int) -> None:
        """Add ``value`` under ``key``."""
        if key not in self._items and len(self._items) >= self.limit:
            raise ValueError(f"{self.name} is full")
        self._items[key] = self._items.get(key, 0) + value

    @property
    def total(self) -> int:
        return sum(self._items.values())

    def top(self, n: int = 3) -> list[tuple[str, int]]:
        """The ``n`` largest counters."""
        def weight(item: tuple[str, int]) -> int:
            return -item[1]

        return sorted(self._items.items(), key=weight)[:n]

    def merge(self, other: "@NAME@") -> "@NAME@":
        merged = @NAME@(self.name, self.limit + other.limit)
        for key, value in [*self._items.items(), *other._items.items()]:
            merged.add(key, value)
        return merged
'''

EDIT_MARK = "# --- the benchmark types at the end of this comment ---"


def python_module(lines_wanted: int = 2000, seed: int = 7) -> tuple[str, list[str]]:
    """A realistic module of about `lines_wanted` lines (functions, classes with methods, nested defs,
    decorators, doctests) ending in a main() that calls the plain functions; (text, plain names)."""
    rng = random.Random(seed)
    head = ('"""Generated module for the haiku-lsp code action benchmark."""\n\nfrom __future__ import annotations\n\n'
            "import asyncio\nimport dataclasses\nimport functools\n\nLIMIT = 10\n")
    parts, plain, used = [head], [], set()
    templates = [FUNC_DOCTEST, FUNC_PLAIN, FUNC_PLAIN, FUNC_ASYNC, FUNC_DECORATED, CLASS]
    count = 0
    while sum(p.count("\n") for p in parts) < lines_wanted - 60:
        template = templates[count % len(templates)]
        while True:
            name = f"{rng.choice(VERBS)}_{rng.choice(WORDS).rstrip('_')}_{count}"
            if name not in used:
                break
        used.add(name)
        if template is CLASS:
            name = "".join(w.capitalize() for w in name.split("_"))
        if template is FUNC_PLAIN:
            plain.append(name)
        parts.append("\n" + template.replace("@NAME@", name).replace("@K@", str(rng.randint(3, 64))))
        if count == 40:
            parts.append(f"\n{EDIT_MARK}\nEDITED = 0\n")
        count += 1
    calls = "".join(f"    r{i} = {name}('a b c', limit={i + 2})\n" for i, name in enumerate(plain))
    parts.append(f'\n\ndef main() -> None:\n    """Call every helper once."""\n{calls}    print("done")\n\n\n'
                 'if __name__ == "__main__":\n    main()\n')
    return "".join(parts), plain


def log_file(lines_wanted: int = 2000, seed: int = 11, tb_at: int = 1950, ws: str = "/srv/app") -> tuple[str, int]:
    """A service log of `lines_wanted` lines with one chained traceback starting near line `tb_at`;
    (text, 0-based line of the final exception line)."""
    rng = random.Random(seed)
    out = []
    t = datetime.datetime(2026, 11, 24, 10, 0, 0)
    levels = ["INFO"] * 12 + ["DEBUG"] * 4 + ["WARNING"]
    tb = [
        "Traceback (most recent call last):",
        f'  File "{ws}/worker/jobs.py", line 88, in run',
        "    result = handler(job.payload)",
        "             ^^^^^^^^^^^^^^^^^^^^",
        f'  File "{ws}/worker/handlers.py", line 41, in handle_report',
        "    rows = load_rows(payload['source'])",
        "           ~~~~~~~~~^^^^^^^^^^^^^^^^^^^",
        f'  File "{ws}/worker/io.py", line 17, in load_rows',
        "    return json.loads(text)['rows']",
        "           ^^^^^^^^^^^^^^^^",
        '  File "/usr/lib/python3.11/json/__init__.py", line 346, in loads',
        "    return _default_decoder.decode(s)",
        "           ^^^^^^^^^^^^^^^^^^^^^^^^^^",
        '  File "/usr/lib/python3.11/json/decoder.py", line 337, in decode',
        "    obj, end = self.raw_decode(s, idx=_w(s, 0).end())",
        "               ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^",
        '  File "/usr/lib/python3.11/json/decoder.py", line 355, in raw_decode',
        "    raise JSONDecodeError(\"Expecting value\", s, err.value) from None",
        "json.decoder.JSONDecodeError: Expecting value: line 1 column 1 (char 0)",
        "",
        "The above exception was the direct cause of the following exception:",
        "",
        "Traceback (most recent call last):",
        f'  File "{ws}/worker/pool.py", line 120, in _loop',
        "    self._run_one(job)",
        f'  File "{ws}/worker/pool.py", line 131, in _run_one',
        "    raise JobFailed(job.id) from err",
        "worker.errors.JobFailed: job 4711 failed",
    ]
    last = 0
    while len(out) < lines_wanted:
        t += datetime.timedelta(milliseconds=rng.randint(5, 900))
        stamp = t.strftime("%Y-%m-%d %H:%M:%S") + f",{t.microsecond // 1000:03d}"
        if len(out) == tb_at:
            out.append(f"{stamp} ERROR worker.pool: job 4711 crashed")
            out += tb
            last = len(out) - 1
            continue
        level = rng.choice(levels)
        job = rng.randint(1000, 9999)
        msg = rng.choice([f"processed job {job} in {rng.randint(1, 500)} ms",
                          f"GET /api/jobs/{job} 200 {rng.randint(1, 80)}ms",
                          f"queue depth {rng.randint(0, 40)}, workers {rng.randint(1, 8)}",
                          f"retrying job {job} (attempt {rng.randint(2, 4)})",
                          f"cache miss for key report:{job}"])
        out.append(f"{stamp} {level} worker.{rng.choice(['pool', 'io', 'api', 'cache'])}: {msg}")
    return "\n".join(out) + "\n", last


def deep_traceback(frames: int = 1000, ws: str = "/srv/app") -> tuple[str, int]:
    """A 2-function mutual recursion traceback (CPython does not collapse it): about 2 lines per frame."""
    out = ["2026-11-24 10:00:00,000 ERROR worker: crashed", "Traceback (most recent call last):"]
    for i in range(frames):
        fn, line, code = (("ping", 5, "return pong(n + 1)") if i % 2 == 0 else ("pong", 9, "return ping(n + 1)"))
        out += [f'  File "{ws}/recur.py", line {line}, in {fn}', f"    {code}"]
    out.append("RecursionError: maximum recursion depth exceeded")
    return "\n".join(out) + "\n", len(out) - 1
