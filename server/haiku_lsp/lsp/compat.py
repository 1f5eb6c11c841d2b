"""Every use of pygls internals, in one place. Checked against pygls 2.1.1 (pinned `>=2.1,<2.2`).

`PRIVATE_ATTRIBUTES` names each private attribute read or written here; tests/test_pygls_compat.py
asserts that they still exist on a real server and its protocol (and that this list is complete),
so a pygls upgrade that drops one fails that test instead of the server.
"""

from __future__ import annotations

import threading
from typing import Any

from pygls.server import JsonRPCServer

PYGLS_CHECKED = "2.1.1"

# owner ("server" or "protocol") -> the private attributes of it used below
PRIVATE_ATTRIBUTES: dict[str, tuple[str, ...]] = {
    "server": ("_stop_event",),
    "protocol": ("_shutdown", "_request_futures"),
}


def unstructure(server: JsonRPCServer, obj: Any) -> Any:
    """`obj` (an lsprotocol object) as JSON-ready data, camelCase as on the wire, e.g. to pass it as a
    command argument. Public API: the protocol's feature manager exposes the converter pygls itself
    uses (`protocol.fm.converter`, the same object as its private `protocol._converter`)."""
    return server.protocol.fm.converter.unstructure(obj)


def set_stop_event(server: JsonRPCServer, event: threading.Event) -> None:
    """Make `server.shutdown()` set `event`, the stop event of a message loop we run ourselves (pygls'
    own `start_io` creates and stores one the same way). Private: `JsonRPCServer._stop_event`, pygls
    2.1.1; there is no public setter."""
    server._stop_event = event


def shutdown_requested(server: JsonRPCServer) -> bool:
    """True once the client sent the `shutdown` request (LSP: then `exit` means exit code 0). Private:
    `JsonRPCProtocol._shutdown`, pygls 2.1.1 (its own `exit` handler reads it); there is no public
    accessor."""
    return bool(getattr(server.protocol, "_shutdown", False))


def drop_finished_notifications(server: JsonRPCServer) -> int:
    """Forget the finished futures of notifications; how many. pygls 2.1.1 keeps the future of every
    notification whose handler is a generator (its own didOpen/didChange/didClose/didSave handlers) in
    `JsonRPCProtocol._request_futures` under a fresh uuid and never removes it: ~600 bytes a keystroke,
    for as long as the server runs. A request's future is removed when it is answered, so the finished
    ones left are those. Private: `_request_futures`, pygls 2.1.1."""
    futures = server.protocol._request_futures
    done = [key for key, future in futures.items() if future.done()]
    for key in done:
        futures.pop(key, None)
    return len(done)
