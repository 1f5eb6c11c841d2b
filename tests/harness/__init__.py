"""The LSP client harness of the tests and the benchmarks: haiku-lsp in a subprocess pointed at the fake
Anthropic API, driven by an `Editor` (VS Code's capabilities, documents, requests timed from sending to
the answer read). It hooks into pygls only through public parameters: the client's `protocol_cls`
(`protocol.ResponseLog` times and counts responses) and `converter_factory` (code actions decoded as
VS Code does)."""

from tests.harness.client import Editor, Pending
from tests.harness.protocol import CheckedClientProtocol, ClientProtocol, ResponseLog, converter_factory
from tests.harness.server import API_KEY, haiku_command, server_env
from tests.harness.text import apply_change, apply_insert, column, end_of, item_texts, items_of, text_of, utf16_len

__all__ = [
    "API_KEY",
    "CheckedClientProtocol",
    "ClientProtocol",
    "Editor",
    "Pending",
    "ResponseLog",
    "apply_change",
    "apply_insert",
    "column",
    "converter_factory",
    "end_of",
    "haiku_command",
    "item_texts",
    "items_of",
    "server_env",
    "text_of",
    "utf16_len",
]
