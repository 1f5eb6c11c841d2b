"""End to end: jedi runs in worker processes of the server (hover, context, offline completions), which are
restarted when killed, keep huge documents apart from small ones, and end with the server."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from pathlib import Path

from tests.fakes.anthropic_api import Reply
from tests.harness import end_of, items_of

from .test_inline import CALLS_SCALE, GEOMETRY

SMALL = "import os\n\n\ndef where(name):\n    return os.path.join(name, 'x')\n"


def gone(pid: int) -> bool:
    """The process has ended (a zombie waiting to be reaped has ended too)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return True
    return state in ("Z", "X")


async def wait_gone(pids: list[int], timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not all(gone(p) for p in pids):
        assert time.monotonic() < deadline, f"still running: {[p for p in pids if not gone(p)]}"
        await asyncio.sleep(0.05)


async def hover_text(s, uri: str, text: str, needle: str) -> str:
    result = await s.hover(uri, end_of(text, needle)).wait(60)
    return result.contents.value if result else ""


async def warm_session(start_session):
    """A session with a generous context budget whose jedi worker is up and warm (a hover answered)."""
    s = await start_session(init_options={"contextTimeBudgetMs": 5000, "hoverExplanations": False})
    small = s.open("small.py", SMALL)
    assert "join(" in await hover_text(s, small, SMALL, "os.path.jo")
    return s


async def stats(s) -> dict:
    return await s.command("haiku.showStats").wait(30)


async def test_hover_is_answered_by_a_worker_process_of_its_own(start_session, fake_anthropic):
    s = await start_session(key=False)
    uri = s.open("small.py", SMALL)
    assert "join(" in await hover_text(s, uri, SMALL, "os.path.jo")
    st = await stats(s)
    worker = st["jedi"]["small"]["pid"]
    assert worker and worker != st["process"]["pid"] and worker != s.pid
    assert st["jedi"]["small"]["rssMiB"] > 10 and st["jedi"]["small"]["calls"] >= 1
    assert st["jedi"]["large"]["pid"] is None  # started only for huge documents


async def test_context_and_offline_completions_come_through_the_worker(start_session, fake_anthropic, workspace):
    (workspace / "geometry.py").write_text(GEOMETRY)
    fake_anthropic.script(Reply(text="x, 2.0)"))
    s = await warm_session(start_session)
    uri = s.open("main.py", CALLS_SCALE)
    await s.inline(uri, end_of(CALLS_SCALE, "return scale("), invoked=True)
    [req] = fake_anthropic.message_requests
    assert "Multiply value by factor" in req.system_text + req.last_user_text

    offline = await start_session(key=False)
    text = "import os\nos.path.jo"
    uri = offline.open("o.py", text)
    items = items_of(await offline.inline(uri, end_of(text, "os.path.jo"), invoked=True))
    assert any(i.insert_text.startswith("in(") for i in items)


async def test_a_killed_worker_is_replaced_and_the_next_request_works(start_session, fake_anthropic):
    s = await start_session(key=False)
    uri = s.open("small.py", SMALL)
    assert "join(" in await hover_text(s, uri, SMALL, "os.path.jo")
    first = (await stats(s))["jedi"]["small"]["pid"]
    os.kill(first, signal.SIGKILL)
    await wait_gone([first])
    assert "join(" in await hover_text(s, uri, SMALL, "os.path.jo")
    st = (await stats(s))["jedi"]["small"]
    assert st["pid"] not in (None, first) and st["starts"] == 2


async def test_a_worker_killed_during_a_hover_gives_an_empty_hover_not_an_error(start_session, fake_anthropic):
    s = await start_session(key=False)
    small = s.open("small.py", SMALL)
    assert "join(" in await hover_text(s, small, SMALL, "os.path.jo")
    huge = "import os\n" + "".join(f"def f{i}(a):\n    return a + {i}\n" for i in range(14_000)) + "os.path.join"
    big = s.open("big.py", huge)  # over the small lane's limit: the large lane's worker, started now
    pending = s.hover(big, end_of(huge, "os.path.jo"))
    deadline = time.monotonic() + 30
    while not (lane := (await stats(s))["jedi"]["large"])["busy"] or not lane["pid"]:
        assert time.monotonic() < deadline and not pending.future.done()
        await asyncio.sleep(0.02)
    await asyncio.sleep(0.3)  # the call has reached the worker (it starts up and parses for seconds)
    os.kill(lane["pid"], signal.SIGKILL)
    assert await pending.wait(30) is None  # one answer, empty
    st = (await stats(s))["jedi"]
    assert st["large"]["crashes"] == 1 and st["large"]["pid"] is None
    assert "join(" in await hover_text(s, small, SMALL, "os.path.jo")  # the small lane never noticed


async def test_a_huge_document_does_not_hold_up_hover_on_a_small_one(start_session, fake_anthropic):
    s = await start_session()
    small = s.open("small.py", SMALL)
    assert "join(" in await hover_text(s, small, SMALL, "os.path.jo")  # the worker is up
    resolutions = (await stats(s))["inline"]["jedi_resolutions"]  # small.py's imports, on didOpen
    huge = "import os\n" + "".join(f"def f{i}(a):\n    return a + {i}\n" for i in range(400_000))
    huge += "\nos.path.join"  # ~12 MB: jedi alone would take a minute on it
    big = s.open("big.py", huge)
    fake_anthropic.script(Reply(text="in('a', 'b')"))
    completion = s.inline(big, end_of(huge, "os.path.jo"), invoked=True)  # no jedi context for 12 MB
    large = "import os\n" + "".join(f"def f{i}(a):\n    return a + {i}\n" for i in range(14_000)) + "os.path.join"
    slow = s.open("slow.py", large)  # ~480 kB: seconds of jedi, in the large lane's worker
    on_large = s.hover(slow, end_of(large, "os.path.jo"))
    assert "join(" in await hover_text(s, small, SMALL, "os.path.jo")
    assert not on_large.future.done()  # the small file's hover was answered first
    assert await s.hover(big, end_of(huge, "os.path.jo")).wait(30) is None  # over jedi's size limit: none
    await completion.wait(60)
    s.cancel(on_large.msg_id)  # the user moved on: the large lane's worker is stopped, not left busy
    with contextlib.suppress(Exception):  # answered, or as cancelled
        await on_large.wait(30)
    deadline = time.monotonic() + 20  # stopped at once if still busy; else after its 10 s idle
    while (lane := (await stats(s))["jedi"]["large"])["pid"] is not None:
        assert time.monotonic() < deadline, f"the large lane is still busy: {lane}"
        await asyncio.sleep(0.05)
    assert (await stats(s))["inline"]["jedi_resolutions"] == resolutions  # no context resolution for 12 MB


async def test_the_workers_end_with_the_server(start_session, fake_anthropic):
    for end in ("exit", "kill"):
        s = await start_session(key=False)
        uri = s.open("small.py", SMALL)
        assert "join(" in await hover_text(s, uri, SMALL, "os.path.jo")
        huge = "import os\n" + "x = 1\n" * 34_000 + "os.path.join('a')"  # over the small lane's limit
        big = s.open("big.py", huge)
        assert "join(" in await hover_text(s, big, huge, "os.path.jo")
        st = (await stats(s))["jedi"]
        pids = [st["small"]["pid"], st["large"]["pid"]]
        assert all(pids)
        if end == "exit":
            await s.stop(strict=True)  # shutdown, exit
        else:
            await s.kill()  # the editor crashed: the workers see their input close
        await wait_gone(pids)


async def test_the_workers_end_when_the_server_is_killed_in_the_middle_of_their_calls(start_session, fake_anthropic):
    s = await start_session(key=False)
    small = s.open("small.py", SMALL)
    assert "join(" in await hover_text(s, small, SMALL, "os.path.jo")
    huge = "import os\n" + "".join(f"def f{i}(a):\n    return a + {i}\n" for i in range(14_000)) + "os.path.join"
    big = s.open("big.py", huge)
    s.hover(big, end_of(huge, "os.path.jo"))  # seconds of jedi work in the large lane
    s.hover(small, end_of(SMALL, "os.path.jo"))
    deadline = time.monotonic() + 30
    while not (st := (await stats(s))["jedi"])["large"]["busy"] or not st["large"]["pid"]:
        assert time.monotonic() < deadline
        await asyncio.sleep(0.02)
    pids = [st["small"]["pid"], st["large"]["pid"]]
    await s.kill()
    await wait_gone(pids)


async def test_the_worker_tidies_up_once_idle_and_drops_closed_documents(tmp_path):
    from haiku_lsp.python import JediWorker, hover_info
    from haiku_lsp.python.jedi_process import IDLE_TIDY_S, worker_stats

    path = tmp_path / "small.py"
    path.write_text(SMALL)
    worker = JediWorker()
    try:
        first = await worker.call(worker_stats, size=0, timeout=60)
        markdown, _ = await worker.call(hover_info, SMALL, str(path), str(tmp_path), 4, len("    return os.path.jo"),
                                        False, size=len(SMALL), timeout=60)
        assert markdown and "join(" in markdown
        deadline = time.monotonic() + 60
        while (now := await worker.call(worker_stats, size=0, timeout=60))["tidies"] <= first["tidies"]:
            assert time.monotonic() < deadline, "the worker never tidied up while idle"
            await asyncio.sleep(IDLE_TIDY_S * 2)
        assert str(path) in now["parsed"]
        # No OpenSSL in the worker (~3.4 MiB resident): its hashlib uses Python's own code.
        assert "libcrypto" not in Path(f"/proc/{now['pid']}/maps").read_text()
        worker.forget(str(path))
        assert str(path) not in (await worker.call(worker_stats, size=0, timeout=60))["parsed"]
    finally:
        await worker.aclose()


async def test_a_worker_grown_past_its_limit_is_recycled_once_idle_and_the_next_call_works(tmp_path):
    from haiku_lsp.python import JediWorker, hover_info

    path = tmp_path / "small.py"
    path.write_text(SMALL)
    args = (SMALL, str(path), str(tmp_path), 4, len("    return os.path.jo"), False)
    # Any growth counts here: the real worker is recycled after its first call, once idle for 0.3 s.
    worker = JediWorker(recycle_above_mib=0.0, recycle_idle_s=0.3)
    try:
        markdown, _ = await worker.call(hover_info, *args, size=len(SMALL), timeout=60)
        assert markdown and "join(" in markdown
        old = worker.small.stats()["pid"]
        deadline = time.monotonic() + 60
        while worker.small.recycles == 0:
            assert time.monotonic() < deadline, "the idle worker was never recycled"
            await asyncio.sleep(0.05)
        await wait_gone([old])
        st = worker.small.stats()
        assert st["pid"] and st["pid"] != old and st["recycles"] == 1 and st["rssMiB"] > 10
        markdown, _ = await worker.call(hover_info, *args, size=len(SMALL), timeout=60)
        assert markdown and "join(" in markdown
        assert worker.small.stats()["pid"] == st["pid"]
    finally:
        pid = worker.small.stats()["pid"]
        await worker.aclose()
    await wait_gone([pid])


async def test_context_finds_the_packages_of_the_workspace_virtualenv_even_when_gitignore_lists_it(
        start_session, fake_anthropic, workspace, request):
    """A server installed as a tool, apart from the project: the definitions of the project's dependencies come
    from its `.venv` (a real one, holding the real `inflection` wheel, which the server's own environment lacks)."""
    import subprocess
    import sys

    from tests.harness.pypi import INFLECTION, pinned_wheel, unpack_package

    from .test_gen_tests import pypi_cache

    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(workspace / ".venv")], check=True, timeout=120)
    [site] = (workspace / ".venv" / "lib").glob("python*/site-packages")
    unpack_package(pinned_wheel(*INFLECTION, pypi_cache(request)), site)
    (site / "inflection.py").unlink()  # the 0.5.1 wheel also ships a stale copy beside the package
    (workspace / ".gitignore").write_text(".venv/\n__pycache__/\n")
    text = "import inflection\n\n\ndef label(word):\n    return inflection.pluralize(word"
    fake_anthropic.script(Reply(text=")"))
    s = await warm_session(start_session)
    uri = s.open("labels.py", text)
    await s.inline(uri, end_of(text, "pluralize(word"), invoked=True)
    [req] = fake_anthropic.message_requests
    sent = req.system_text + req.last_user_text
    assert "def pluralize(word: str) -> str" in sent
    assert ".venv" not in sent  # named as the library module it is, not as a file of the project


async def test_each_name_resolved_by_the_worker_process_is_published_before_the_call_ends(tmp_path):
    from haiku_lsp.completion.context import resolve_names
    from haiku_lsp.privacy import IgnoreRules
    from haiku_lsp.python import JediWorker

    (tmp_path / "shop.py").write_text("class Cart:\n    def add(self, item: str) -> None:\n        pass\n")
    (tmp_path / "pricing.py").write_text("def total(cart, tax: float = 0.2) -> float:\n    return 0.0\n")
    source = "from shop import Cart\nfrom pricing import total\n\nCart().add\n"
    positions = {"Cart": (0, 17), "total": (1, 20)}
    worker = JediWorker()
    landed: list[tuple[str, bool]] = []
    try:
        fut = worker.call(resolve_names, source, str(tmp_path / "m.py"), str(tmp_path), 3, 0, ["Cart", "total"],
                          IgnoreRules(), positions, size=len(source), timeout=60,
                          on_partial=lambda part: landed.extend((n, fut.done()) for n in part))
        result = await fut
    finally:
        await worker.aclose()
    assert landed == [("Cart", False), ("total", False)]  # one frame per name, each before the answer
    assert "class Cart" in result["Cart"].text and "def total(cart, tax: float=0.2)" in result["total"].text
