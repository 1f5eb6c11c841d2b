"""The client side of JSON-RPC, through pygls' public hooks: a protocol class (``protocol_cls``) that
timestamps and counts every response as it is read, and a converter (``converter_factory``) that decodes
code actions as VS Code does."""

from __future__ import annotations

import collections
import time
from typing import Any, Union

import cattrs
from lsprotocol import types
from pygls.protocol import JsonRPCResponseMessage, LanguageServerProtocol, default_converter
from pytest_lsp import LanguageClientProtocol


class ResponseLog:
    """Mixed into a pygls protocol class: `received[id]` is the time.monotonic() at which the first
    response to request `id` was read off the stream (before any client-side handling: the future's
    callbacks, pytest-lsp's checks), `responses[id]` how many responses to it came (a server must send
    exactly one)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.received: dict[str, float] = {}
        self.responses: collections.Counter[str] = collections.Counter()

    def handle_message(self, message: Any) -> None:
        # A response (result or error) is the message with an id and no method; pygls dispatches it to
        # the request's future inside this call.
        if getattr(message, "method", None) is None and getattr(message, "id", None) is not None:
            msg_id = str(message.id)
            self.received.setdefault(msg_id, time.monotonic())
            self.responses[msg_id] += 1
        super().handle_message(message)  # type: ignore[misc]


class ClientProtocol(ResponseLog, LanguageServerProtocol):
    """pygls' plain client protocol (no checks on what goes either way): for the benchmarks."""


class CheckedClientProtocol(ResponseLog, LanguageClientProtocol):
    """pytest-lsp's protocol: every request's params and result are checked against the client's
    capabilities (the LSP specification); for the tests."""


def converter_factory() -> cattrs.Converter:
    """pygls' converter, except for two decodings. lsprotocol takes every CodeAction that carries a command
    for a bare Command (it only checks that a "command" key exists); VS Code tells them apart by the key's
    type (a Command's is the command's name, a CodeAction's an object), and so does this one."""
    converter = default_converter()

    def command_or_code_action(obj: Any, _type: Any) -> types.Command | types.CodeAction:
        kind = types.Command if isinstance(obj.get("command"), str) else types.CodeAction
        return converter.structure(obj, kind)

    converter.register_structure_hook(Union[types.Command, types.CodeAction], command_or_code_action)
    # The answer to a request outside LSP (haiku/stats) stays JSON: pygls would make named tuples of its
    # objects, renaming keys that are not identifiers ("claude-haiku-4-5", "2026-11-30").
    converter.register_structure_hook(JsonRPCResponseMessage, lambda obj, cls: cls(**obj))
    return converter
