"""Awaiting many coroutines in the caller's task tree."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any


async def run_all(coroutines: list[Awaitable[Any]]) -> list[Any]:
    """Await all in one asyncio.TaskGroup: the first error cancels the others and is raised as itself
    (not as an exception group); cancelling the caller cancels them all."""
    try:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(c) for c in coroutines]  # type: ignore[arg-type]
    except BaseExceptionGroup as errors:
        first = errors.exceptions[0]
        while isinstance(first, BaseExceptionGroup):
            first = first.exceptions[0]
        raise first from None
    return [t.result() for t in tasks]


async def bounded(coroutines: list[Awaitable[Any]], limit: int) -> list[Any]:
    """run_all with at most `limit` of them running at a time; results in order."""
    gate = asyncio.Semaphore(max(1, limit))

    async def one(c: Awaitable[Any]) -> Any:
        async with gate:
            return await c

    return await run_all([one(c) for c in coroutines])
