"""The language server: lifecycle, settings and wiring to the `Session`. Each feature has its own module in `lsp/`."""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import threading
from collections.abc import Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.uris import to_fs_path

from haiku_lsp import __version__
from haiku_lsp.completion import CompletionQuery
from haiku_lsp.errors import BudgetExceeded, ProviderError
from haiku_lsp.llm.anthropic import AnthropicProvider
from haiku_lsp.lsp import compat
from haiku_lsp.lsp.acceptance import Acceptance
from haiku_lsp.lsp.diagnostics import RuffDiagnostics
from haiku_lsp.lsp.status import Status
from haiku_lsp.memory import IdleTidy, one_heap, rss_mib
from haiku_lsp.python import relative_to_root
from haiku_lsp.session import Session
from haiku_lsp.settings import load_settings
from haiku_lsp.text import split_lines

if TYPE_CHECKING:
    from haiku_lsp.completion import Episode
    from haiku_lsp.tracebacks import SuggestedFix

log = logging.getLogger(__name__)

PAUSE_REASONS = {"rate_limit": "the model API is rate-limiting requests", "overloaded": "the model API is overloaded",
                 "server": "the model API is failing", "connection": "the model API cannot be reached",
                 "timeout": "the model API does not answer in time", "incomplete": "the model API's answers break off",
                 "auth": "the API key was rejected (401); check ANTHROPIC_API_KEY",
                 "bad_request": "the model API refuses the requests"}

NO_KEY_MESSAGE = (
    "haiku-lsp: no ANTHROPIC_API_KEY is set, so suggestions come from the offline engine (jedi). "
    "Set ANTHROPIC_API_KEY (or ANTHROPIC_AUTH_TOKEN) in the editor's environment and restart the "
    "server to get Claude completions."
)


STATS_METHOD = "haiku/stats"


class HaikuLanguageServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__("haiku-lsp", __version__)
        self.session = Session(on_error=self.report_provider_error,
                               on_notice=lambda message: self.show(message, types.MessageType.Warning))
        self.session.completions.on_episode = self.report_episode
        self._pending_problems: list[str] = []
        self._reported: set[str] = set()
        self._told_ignored: set[str] = set()
        self._background: set[asyncio.Future[None]] = set()
        self.suggested_fixes: dict[str, SuggestedFix] = {}
        self.diagnostics = RuffDiagnostics()
        self.status = Status()
        self.acceptance = Acceptance()
        # Once idle after documents came and went and completions ran: garbage collected, freed heap returned.
        self.tidy = IdleTidy()

    def root_path(self) -> str | None:
        try:
            return self.workspace.root_path
        except Exception:  # before initialize
            return None

    def document_query(self, uri: str) -> CompletionQuery | None:
        """An open document as the completion engine sees it (no cursor); None once it is closed."""
        document = self.workspace.text_documents.get(uri)
        if document is None:
            return None
        return CompletionQuery(document.uri, split_lines(document.source), 0, 0, invoked=False, path=document.path,
                               root=self.root_path(), language=document.language_id or "python")

    def root_dir(self) -> Path | None:
        """The workspace folder (None before initialize, or when the editor opened no folder)."""
        root = self.root_path()
        return Path(root) if root else None

    def apply_settings(self, raw: object, *, announce: bool) -> None:
        settings, problems = load_settings(raw, self.session.settings)
        self.session.configure(settings, self.root_dir())
        if announce:  # a change by the user, who may have fixed what failed: try the model again at once
            self.session.completions.breaker.retry_now()
        for problem in problems:
            log.warning("%s", problem)
            if announce:
                self.show(problem, types.MessageType.Warning)
            else:
                self._pending_problems.append(problem)

    def show(self, message: str, kind: types.MessageType = types.MessageType.Info) -> None:
        self.window_show_message(types.ShowMessageParams(type=kind, message=message))

    def shown_path(self, path: str | None) -> str:
        rel = relative_to_root(path, self.root_path())
        return rel.as_posix() if rel is not None else path or "untitled"

    def write_doc(self, name: str, text: str) -> str:
        """Write a Markdown document under the cache dir; its URI."""
        safe = "".join(c if c.isalnum() or c in "-_." else "-" for c in name)[:120]
        folder = self.session.cache.directory / "docs"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / safe
        path.write_text(text, encoding="utf-8")
        return path.as_uri()

    async def open_doc(self, uri_or_name: str) -> None:
        uri = uri_or_name if "://" in uri_or_name else (self.session.cache.directory / "docs" / uri_or_name).as_uri()
        window = self.client_capabilities.window
        if window and window.show_document and window.show_document.support:
            await self.window_show_document_async(types.ShowDocumentParams(uri=uri, take_focus=True))
        else:
            self.show(f"Haiku: see {uri}")

    def stats(self) -> dict:
        session = self.session
        e, c, ledger = session.completions.stats, session.cache.stats, session.ledger
        return {
            "usd": round(ledger.total_usd, 6),
            "budgetUsd": ledger.budget_usd,
            "models": {m: vars(t) for m, t in ledger.by_model.items()},
            "features": dict(ledger.by_feature),
            "inline": {**vars(e), "jedi_resolutions": session.completions.names.jobs},
            "acceptance": self.acceptance.stats(),
            "cache": {"memoryHits": c.memory_hits, "diskHits": c.disk_hits, "sharedHits": c.shared_hits,
                      "misses": c.misses, "writes": c.writes},
            "process": {"pid": os.getpid(), "rssMiB": rss_mib(os.getpid()), "gcFrozenObjects": gc.get_freeze_count(),
                        "gcCollections": [g["collections"] for g in gc.get_stats()], "idleTidies": self.tidy.runs},
            "jedi": session.jedi.stats(),
        }

    def stats_markdown(self, stats: dict) -> str:
        rows = ["| model | calls | input | output | cache write | cache read | USD |",
                "|---|---|---|---|---|---|---|"]
        for model, t in stats["models"].items():
            rows.append(f"| {model} | {t['calls']} | {t['input']} | {t['output']} | {t['cache_write']} | "
                        f"{t['cache_read']} | {t['usd']:.4f} |")
        inline = ", ".join(f"{k} {v}" for k, v in stats["inline"].items())
        cache = ", ".join(f"{k} {v}" for k, v in stats["cache"].items())
        budget = f" of a ${stats['budgetUsd']:.2f} budget" if stats["budgetUsd"] else ""
        workers = ", ".join(f"{lane} lane {w['rssMiB']} MiB (pid {w['pid']})" for lane, w in stats["jedi"].items()
                            if isinstance(w, dict) and w["pid"]) or "none running"
        a = stats["acceptance"]
        rate = f" ({a['rate']:.0%})" if a["rate"] is not None else ""
        acceptance = (f"Suggestions accepted: {a['accepted']} of {a['shown'] or a['offered']} "
                      f"{'shown' if a['shown'] else 'offered'}{rate}, {a['partiallyAccepted']} in part.")
        return (f"# Haiku usage in this session\n\nSpent ${stats['usd']:.4f}{budget}.\n\n" + "\n".join(rows)
                + f"\n\n{acceptance}\n\nInline completions: {inline}.\n\nCache: {cache}.\n\nServer process: "
                + f"{stats['process']['rssMiB']} MiB resident. jedi workers: {workers}.\n")

    def tell_ignored(self, path: str | None) -> bool:
        """True when `path` matches an ignore rule; the editor is told so once per file (log message)."""
        why = self.session.ignore_rules.why(path) if path else None
        if why is None or path is None:
            return False
        if path not in self._told_ignored:
            self._told_ignored.add(path)
            self.window_log_message(types.LogMessageParams(type=types.MessageType.Info, message=(
                f"haiku-lsp: {self.shown_path(path)} matches the ignore rule `{why}` (.gitignore, .haikuignore, "
                "ignorePatterns or the built-in rules for secrets), so nothing of it is sent to the model: "
                "completions for it come from the offline engine only.")))
        return True

    def offline_for(self, path: str | None) -> bool:
        """`session.offline_for(path)` for a feature about to choose between the model and its offline path;
        when a reached budget is why, the user is told (once per episode, like the completions' own)."""
        if (problem := self.session.budget_problem()) is not None:
            self.report_provider_error(BudgetExceeded(problem))
        return self.session.offline_for(path)

    def note_budget(self, problem: str | None) -> None:
        """The budgets as the status saw them: once no cap is reached, the episode is over, and the next one
        is told again."""
        if problem is None:
            self._reported.discard("budget")

    def report_provider_error(self, err: ProviderError, action: bool = False) -> None:
        """Tell the user once per kind of lasting problem (always for an action they asked for);
        log the passing ones."""
        self.status.note_error(err, sum(t.calls for t in self.session.ledger.by_model.values()))
        lasting = {"auth": "the API key was rejected (401); check ANTHROPIC_API_KEY",
                   "budget": str(err.args[0]),
                   "bad_request": f"the model API refused the request: {err.args[0]}"}
        if action:
            self.show(f"Haiku: {lasting.get(err.kind) or describe(err)}; nothing was changed.",
                      types.MessageType.Error)
        elif err.kind in lasting:  # told once (per episode, for a budget), not once per keystroke
            if err.kind not in self._reported:
                self._reported.add(err.kind)
                self.show(f"haiku-lsp: {lasting[err.kind]}", types.MessageType.Error)
        else:
            self.window_log_message(types.LogMessageParams(
                type=types.MessageType.Warning, message=f"haiku-lsp: completion failed: {err}"))

    def background(self, work: Coroutine[Any, Any, None]) -> None:
        """Run `work` on the server's loop, keeping a reference until it is done."""
        task = asyncio.ensure_future(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def tell_sandbox_status(self) -> None:
        """Say once, at start-up, when model-written code cannot be confined by the OS here."""
        from haiku_lsp.tools import OPT_OUT, os_sandbox_status

        available, why = await asyncio.to_thread(os_sandbox_status)
        if not available and self.session.os_sandbox():
            self.show(f"haiku-lsp: generated tests and refactor validation will not run: no OS sandbox "
                      f"({why}); {OPT_OUT}.", types.MessageType.Warning)
        elif not self.session.os_sandbox():
            self.show("haiku-lsp: osSandbox is off: generated tests and refactor validation run without OS "
                      "isolation (still in a temporary copy, without keys in the environment).",
                      types.MessageType.Warning)

    def report_episode(self, episode: Episode) -> None:
        """Upstream failures paused inline completions, or they resumed: one message each way (not one per
        keystroke), and a `haiku/status` notification for a status bar."""
        err = episode.error
        if episode.recovered or err is None:
            message, state, kind = "the model API answers again: inline completions resumed", "ready", \
                types.MessageType.Info
        else:
            status = f" ({err.status})" if err.status else ""
            reason = PAUSE_REASONS.get(err.kind, str(err))
            if err.kind != "auth":
                reason += status
            message = f"{reason}: inline completions paused, next try in {episode.wait_s:.0f} s"
            state = "rate-limited" if err.kind in ("rate_limit", "overloaded") else "error"
            kind = types.MessageType.Error if err.kind == "auth" else types.MessageType.Warning
            self._reported.add(err.kind)
        log.warning("%s", message)
        self.show(f"haiku-lsp: {message}", kind)
        self.status.note_episode(self, state, message, round(episode.wait_s, 1))  # the one haiku/status sender

    def warm_up(self) -> None:
        """Heavy imports and the disk cache, off the `initialize` path; the jedi worker process starts (it
        imports jedi itself: the server process never does)."""
        provider, cache = self.session.upstream, self.session.cache
        one_heap()
        if isinstance(provider, AnthropicProvider) and provider.available:
            provider.start_import()
        self.session.jedi.start()

        def work() -> None:
            try:
                from haiku_lsp import tools  # noqa: F401  (ruff diagnostics on didOpen need it)
                from haiku_lsp.tracebacks import parse as traceback  # noqa: F401  (code action listing needs it)

                cache.warm()
                if isinstance(provider, AnthropicProvider) and provider.available:
                    provider.wait_for_import(timeout=120)
            except Exception as err:  # pragma: no cover - a broken environment
                log.warning("warm-up failed: %s", err)
            # What exists now (modules, classes, the SDK's models: ~250,000 objects) lives as long as the
            # process. Frozen, Python's full collections skip it; they stop every thread, the event loop
            # included, and took twice as long with it (~0.1 s more per collection on these machines).
            # First one full collection over everything, the objects cli.py froze at start-up included:
            # the garbage the imports left (~9 MiB) is reclaimed while the first completion still waits
            # for the SDK, instead of staying frozen for good.
            gc.unfreeze()
            gc.collect()
            gc.freeze()

        threading.Thread(target=work, name="warm-up", daemon=True).start()


def describe(err: ProviderError) -> str:
    """What a user reads about a provider error: the reason in words, the status, the upstream's message."""
    reason = PAUSE_REASONS.get(err.kind) or ("the model declined to answer" if err.kind == "refusal" else "")
    if not reason:
        return str(err)
    status = f" ({err.status})" if err.status and err.kind != "auth" else ""
    return f"{reason}{status}: {err.message}"


def create_server() -> HaikuLanguageServer:
    from haiku_lsp.lsp import acceptance, code_actions, commands, hover, inline_completion

    if os.environ.get("HAIKU_LSP_TRACEMALLOC"):  # a diagnostic for memory growth (ctypes, tracemalloc: only then)
        from haiku_lsp.lsp import memtrace

        memtrace.install()
    server = HaikuLanguageServer()

    @server.feature(types.INITIALIZE)
    def initialize(ls: HaikuLanguageServer, params: types.InitializeParams) -> None:
        ls.apply_settings(params.initialization_options, announce=False)

    @server.feature(types.INITIALIZED)
    def initialized(ls: HaikuLanguageServer, params: types.InitializedParams) -> None:
        ls.warm_up()
        ls.status.start(ls)
        for problem in ls._pending_problems:
            ls.show(f"haiku-lsp: {problem}", types.MessageType.Warning)
        ls._pending_problems.clear()
        if not ls.session.provider.available:
            ls.show(NO_KEY_MESSAGE, types.MessageType.Info)
        ls.background(ls.tell_sandbox_status())

    @server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
    def did_change_configuration(ls: HaikuLanguageServer, params: types.DidChangeConfigurationParams) -> None:
        ls.apply_settings(params.settings, announce=True)
        ls.diagnostics.reconfigure(ls)

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: HaikuLanguageServer, params: types.DidOpenTextDocumentParams) -> None:
        document = ls.workspace.get_text_document(params.text_document.uri)
        ls.session.completions.note_open(document.uri, document.source, document.path, ls.root_path(),
                                         document.language_id or "python")
        ls.diagnostics.schedule(ls, document.uri)
        ls.tidy.note_work()

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: HaikuLanguageServer, params: types.DidChangeTextDocumentParams) -> None:
        uri = params.text_document.uri
        # The line each change ends on (a whole-document change names none): the names near recent edits.
        edited = [c.range.start.line + c.text.count("\n") for c in params.content_changes
                  if isinstance(c, types.TextDocumentContentChangePartial)]
        ls.session.completions.note_change(uri, edited, lambda: ls.document_query(uri))
        ls.diagnostics.schedule(ls, uri, typing=True)
        compat.drop_finished_notifications(ls)  # pygls keeps them otherwise: memory grows with every keystroke
        ls.tidy.note_work()

    @server.feature(types.TEXT_DOCUMENT_DID_SAVE)
    def did_save(ls: HaikuLanguageServer, params: types.DidSaveTextDocumentParams) -> None:
        ls.session.completions.note_save()
        ls.diagnostics.schedule(ls, params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: HaikuLanguageServer, params: types.DidCloseTextDocumentParams) -> None:
        ls.session.completions.forget(params.text_document.uri)
        ls.diagnostics.clear(ls, params.text_document.uri)
        path = to_fs_path(params.text_document.uri)
        if path:
            ls.session.jedi.forget(path)  # its parse tree, in the jedi workers
        ls.tidy.note_work()

    @server.feature(STATS_METHOD)
    def usage_stats(ls: HaikuLanguageServer, params: object) -> dict:
        """`haiku/stats`: today's and the last 7 days' usage of every server sharing the cache dir."""
        return ls.session.stats()

    @server.feature(types.SHUTDOWN)
    def shutdown(ls: HaikuLanguageServer, params: None) -> None:
        ls.status.stop()
        ls.tidy.cancel()
        ls.session.close()

    inline_completion.register(server)
    hover.register(server)
    code_actions.register(server)
    commands.register(server)
    acceptance.register(server)
    return server
