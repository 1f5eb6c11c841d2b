"""Acceptance of inline suggestions, measured locally (nothing leaves the machine).

Each item the server offers carries the command `haiku.didAcceptCompletion` (arguments: the document URI
and the item's length), which clients run when the user accepts the item (VS Code; Neovim 0.12). Clients
that report more send Copilot's notifications: `textDocument/didShowCompletion` (`{item}`) and
`textDocument/didPartiallyAcceptCompletion` (`{item, acceptedLength}`, in UTF-16 units). The counts are in
`haiku.showStats`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from haiku_lsp.lsp.server import HaikuLanguageServer

ACCEPT_COMMAND = "haiku.didAcceptCompletion"
DID_SHOW = "textDocument/didShowCompletion"
DID_PARTIALLY_ACCEPT = "textDocument/didPartiallyAcceptCompletion"


@dataclass
class Acceptance:
    offered: int = 0  # answers with at least one suggestion
    shown: int = 0  # reported shown by the client (when it reports it)
    accepted: int = 0
    partially_accepted: int = 0
    accepted_chars: int = 0

    def tell(self, ls: HaikuLanguageServer) -> None:
        """Hand the counts to the completion engine, whose debounce learns from them."""
        ls.session.completions.note_acceptance(self.shown or self.offered, self.accepted)

    def stats(self) -> dict[str, Any]:
        base = self.shown or self.offered
        rate = round(self.accepted / base, 3) if base else None  # whole accepts per suggestion shown
        return {"offered": self.offered, "shown": self.shown, "accepted": self.accepted,
                "partiallyAccepted": self.partially_accepted, "acceptedChars": self.accepted_chars, "rate": rate}


def _length(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 1_000_000 else 0


def register(server: HaikuLanguageServer) -> None:
    @server.feature(DID_SHOW)
    def did_show(ls: HaikuLanguageServer, params: Any) -> None:
        ls.acceptance.shown += 1
        ls.acceptance.tell(ls)

    @server.feature(DID_PARTIALLY_ACCEPT)
    def did_partially_accept(ls: HaikuLanguageServer, params: Any) -> None:
        ls.acceptance.partially_accepted += 1
        ls.acceptance.accepted_chars += _length(getattr(params, "acceptedLength", 0))

    @server.command(ACCEPT_COMMAND)
    def did_accept(ls, *args):  # noqa: ANN001, ANN202 - untyped: pygls would convert typed arguments
        """The item's length comes as an argument; anything else is ignored (never an error)."""
        ls.acceptance.accepted += 1
        ls.acceptance.accepted_chars += _length(args[1] if len(args) > 1 else 0)
        ls.acceptance.tell(ls)
        return {"status": "ok"}
