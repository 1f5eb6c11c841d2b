"""`haiku.showStats()`: this session's spending, cache and completion counters, and today's and the
last 7 days' usage of every server sharing the cache dir (what `haiku-lsp stats` prints), as a Markdown
document (and in the answer, the latter under "usage")."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from haiku_lsp.llm import render_stats

if TYPE_CHECKING:
    from haiku_lsp.lsp.server import HaikuLanguageServer


async def show_stats(ls: HaikuLanguageServer, *args: Any) -> dict:
    stats = ls.stats()
    usage = ls.session.stats()
    markdown = (ls.stats_markdown(stats) + "\n# Every server of this user (haiku-lsp stats)\n\n```\n"
                + render_stats(usage) + "```\n")
    doc_uri = ls.write_doc("stats.md", markdown)
    await ls.open_doc(doc_uri)
    return {"status": "ok", "document": doc_uri, **stats, "usage": usage}
