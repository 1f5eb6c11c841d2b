"""Package exports imported on first use (PEP 562): a package names what it exports and where each comes
from, and importing the package imports none of it. The jedi worker process imports `haiku_lsp.python` and
`haiku_lsp.completion` for a few functions and must not pay for the server's side of them (asyncio, the
completion engine, the provider)."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from typing import Any


def exports(package: str, where: dict[str, str]) -> Callable[[str], Any]:
    """A module `__getattr__` for `package`: `where` maps each exported name to its submodule; the value is
    imported when first asked for, then kept in the package."""

    def __getattr__(name: str) -> Any:
        submodule = where.get(name)
        if submodule is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{package}.{submodule}"), name)
        setattr(sys.modules[package], name, value)
        return value

    return __getattr__
