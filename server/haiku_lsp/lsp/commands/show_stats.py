"""`haiku.showStats()`: this session's spending, cache and completion counters as a Markdown document
(and in the answer)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from haiku_lsp.lsp.server import HaikuLanguageServer


async def show_stats(ls: HaikuLanguageServer, *args: Any) -> dict:
    stats = ls.stats()
    doc_uri = ls.write_doc("stats.md", ls.stats_markdown(stats))
    await ls.open_doc(doc_uri)
    return {"status": "ok", "document": doc_uri, **stats}
