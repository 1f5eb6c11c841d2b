"""Answering a reply: the plan (content cut by the request's stop sequences and max_tokens, stop reason,
usage), sent as one JSON message or as an SSE stream, with the reply's fault played out."""

from __future__ import annotations

from dataclasses import dataclass

from .connection import Exchange
from .faults import MALFORMED_BODY, MALFORMED_EVENT, http_error, sse_error, truncate_blocks
from .recording import RecordedRequest
from .scripting import Reply
from .tokens import PromptCache, count_tokens, cut_tokens
from .wire import block_payload, chunk, rand_id, response_head


@dataclass
class Plan:
    """What the answer to a reply will be: content, stop reason and sequence, usage."""

    blocks: list[dict]
    stop_reason: str | None
    stop_sequence: str | None
    usage: dict


def plan_answer(body: dict, reply: Reply, cache: PromptCache, cache_min_tokens: int | None) -> Plan:
    """The answer to ``reply``: its text cut by the request's stop sequences and max_tokens, the tool
    use block, the stop reason, and the usage (input tokens through the prompt ``cache``, see
    ``PromptCache.input_usage``; ``reply.usage`` merged over it)."""
    text = reply.text
    tool = reply.tool_use
    max_tokens: int = body["max_tokens"]
    stop_reason: str | None = "end_turn"
    stop_sequence = None
    best = None
    for seq in body.get("stop_sequences") or []:
        pos = text.find(seq) if seq else -1
        if pos >= 0 and (best is None or pos < best[0]):
            best = (pos, seq)
    if best is not None:
        text = text[: best[0]]
        stop_reason, stop_sequence, tool = "stop_sequence", best[1], None
    blocks: list[dict] = []
    if max_tokens == 0:
        text, tool, stop_reason, stop_sequence = "", None, "max_tokens", None
    else:
        if count_tokens(text) > max_tokens:
            text = cut_tokens(text, max_tokens)
            stop_reason, stop_sequence, tool = "max_tokens", None, None
        elif tool is not None and count_tokens(text) == max_tokens:
            stop_reason, tool = "max_tokens", None
        blocks.append({"type": "text", "text": text})
        if tool is not None:
            stop_reason = "tool_use"
            tool_block = {
                "type": "tool_use",
                "id": tool.get("id") or rand_id("toolu_"),
                "name": tool["name"],
                "input": tool.get("input", {}),
            }
            if text:
                blocks.append(tool_block)
            else:
                blocks = [tool_block]
    if reply.stop_reason is not None:
        stop_reason = reply.stop_reason
    out_tokens = sum(count_tokens(block_payload(b)) for b in blocks)
    if blocks and out_tokens == 0:
        out_tokens = 1  # the API never reports 0 output tokens for a generated message
    usage = cache.input_usage(body, cache_min_tokens)
    usage["output_tokens"] = out_tokens
    usage["service_tier"] = "standard"
    if reply.usage:
        usage.update(reply.usage)
    return Plan(blocks=blocks, stop_reason=stop_reason, stop_sequence=stop_sequence, usage=usage)


def _message_obj(rec: RecordedRequest, blocks: list[dict], plan: Plan, usage: dict) -> dict:
    return {
        "id": rec.request_id.replace("req_", "msg_", 1),
        "type": "message",
        "role": "assistant",
        "model": rec.body["model"],
        "content": blocks,
        "stop_reason": plan.stop_reason,
        "stop_sequence": plan.stop_sequence,
        "usage": usage,
    }


def _pieces(reply: Reply, plan: Plan) -> list[tuple[int, str]]:
    """(block index, delta payload) pairs; a piece boundary is put at the fault's ``after_chars``."""
    size = max(1, reply.chunk_chars)
    cut = reply.fault.after_chars if reply.fault is not None else None
    out: list[tuple[int, str]] = []
    offset = 0
    for index, block in enumerate(plan.blocks):
        payload = block_payload(block)
        if not payload:
            continue
        bounds = set(range(0, len(payload), size))
        if cut is not None and offset < cut < offset + len(payload):
            bounds.add(cut - offset)
        starts = sorted(bounds)
        for a, b in zip(starts, starts[1:] + [len(payload)], strict=True):
            out.append((index, payload[a:b]))
        offset += len(payload)
    return out


def _delay(reply: Reply, piece: str) -> float:
    if reply.tokens_per_second:
        return count_tokens(piece) / reply.tokens_per_second
    return reply.chunk_delay


async def answer_json(ex: Exchange, reply: Reply, plan: Plan, latency: float) -> bool:
    """Answer with one JSON message, after the time streaming it would take (``latency`` + ttft + the
    chunk delays)."""
    conn, rec = ex.conn, ex.rec
    pieces = _pieces(reply, plan)
    wait = latency + reply.ttft + sum(_delay(reply, p) for _, p in pieces[1:])
    fault = reply.fault
    if fault is not None and fault.kind == "stall":
        wait += fault.seconds
    if not await conn.sleep(wait):
        return False
    blocks, stop_reason, stop_sequence = plan.blocks, plan.stop_reason, plan.stop_sequence
    if fault is not None:
        if fault.kind == "drop":
            conn.close()
            return False
        if fault.kind == "error_event":
            return await ex.send_error(http_error(fault))
        if fault.kind == "malformed":
            head = response_head(200, rec.request_id, [("content-type", "application/json"),
                                                       ("content-length", str(len(MALFORMED_BODY)))])
            ex.update(status=200)
            ex.finish()
            return await conn.send(head + MALFORMED_BODY)
        if fault.kind == "no_stop":
            blocks = truncate_blocks(blocks, fault.after_chars)
            stop_reason = stop_sequence = None
    usage = dict(plan.usage)
    message = _message_obj(rec, blocks, plan, usage)
    message["stop_reason"], message["stop_sequence"] = stop_reason, stop_sequence
    text = "".join(b["text"] for b in blocks if b["type"] == "text")
    tool_json = "".join(block_payload(b) for b in blocks if b["type"] == "tool_use")
    ex.update(
        sent_text=text,
        sent_json=tool_json,
        output_tokens=usage["output_tokens"],
        stop_reason=stop_reason,
        stop_sequence=stop_sequence,
        usage=usage,
    )
    return await ex.send_json(200, message)


async def answer_stream(ex: Exchange, reply: Reply, plan: Plan, latency: float) -> bool:
    """Answer with an SSE stream (the timeline is in the package docstring), playing out the fault."""
    conn, rec = ex.conn, ex.rec
    head = response_head(
        200,
        rec.request_id,
        [
            ("content-type", "text/event-stream; charset=utf-8"),
            ("cache-control", "no-cache"),
            ("transfer-encoding", "chunked"),
        ],
    )
    ex.update(status=200)
    if not await conn.send(head):
        return False

    start_usage = {k: v for k, v in plan.usage.items() if k != "output_tokens"}
    start_usage["output_tokens"] = 1 if plan.blocks else 0
    start_msg = _message_obj(rec, [], plan, start_usage)
    start_msg["stop_reason"] = start_msg["stop_sequence"] = None
    if not await ex.emit("message_start", {"type": "message_start", "message": start_msg}):
        return False

    fault = reply.fault
    pieces = _pieces(reply, plan)
    state = {"pos": 0, "ttft_done": False, "fault_fired": False, "n": 0}

    async def checkpoint() -> str | None:
        """Before a delta (and before the end of the content): ttft wait and fault trigger."""
        if not state["ttft_done"]:
            state["ttft_done"] = True
            if not await conn.sleep(latency + reply.ttft):
                return "closed"
        if fault is not None and not state["fault_fired"] and state["pos"] >= fault.after_chars:
            state["fault_fired"] = True
            if fault.kind == "stall":
                return None if await conn.sleep(fault.seconds) else "closed"
            return fault.kind
        return None

    async def handle(outcome: str) -> bool:
        if outcome == "closed":
            return False
        if outcome == "drop":
            ex.finish()
            conn.close()
            return False
        if outcome == "error_event":
            assert fault is not None  # the outcome is the fault's kind
            error = sse_error(fault)
            ex.update(error=error)
            if await ex.emit("error", {"type": "error", "error": error, "request_id": rec.request_id}):
                ex.finish()  # done sending: the client may hang up before the final chunk
                await conn.send(b"0\r\n\r\n")
            ex.finish()
            conn.close()
            return False
        if outcome == "no_stop":
            ok = await conn.send(b"0\r\n\r\n")
            return ok
        if outcome == "malformed":
            if await conn.send(chunk(MALFORMED_EVENT)):
                rec.events.append("malformed")
                ex.finish()
                await conn.send(b"0\r\n\r\n")
            ex.finish()
            conn.close()
            return False
        raise AssertionError(outcome)

    for index, block in enumerate(plan.blocks):
        start_block = dict(block)
        if block["type"] == "text":
            start_block["text"] = ""
        else:
            start_block["input"] = {}
        if not await ex.emit("content_block_start", {"type": "content_block_start", "index": index,
                                                     "content_block": start_block}):  # fmt: skip
            return False
        if index == 0 and not await ex.emit("ping", {"type": "ping"}):
            return False
        for piece_index, piece in ((i, p) for i, (bi, p) in enumerate(pieces) if bi == index):
            if piece_index > 0 and not await conn.sleep(_delay(reply, piece)):
                return False
            outcome = await checkpoint()
            if outcome is not None:
                return await handle(outcome)
            if block["type"] == "text":
                delta = {"type": "text_delta", "text": piece}
            else:
                delta = {"type": "input_json_delta", "partial_json": piece}
            if not await ex.emit("content_block_delta", {"type": "content_block_delta", "index": index,
                                                         "delta": delta}):  # fmt: skip
                return False
            state["pos"] += len(piece)
            ex.log.add_sent(rec, piece, text=block["type"] == "text")
        if index == len(plan.blocks) - 1:
            outcome = await checkpoint()
            if outcome is not None:
                return await handle(outcome)
        if not await ex.emit("content_block_stop", {"type": "content_block_stop", "index": index}):
            return False
    if not plan.blocks:
        outcome = await checkpoint()
        if outcome is not None:
            return await handle(outcome)

    delta_usage = {
        k: plan.usage[k]
        for k in (
            "input_tokens",
            "cache_creation_input_tokens",
            "cache_read_input_tokens",
            "output_tokens",
        )
        if k in plan.usage
    }
    delta = {"stop_reason": plan.stop_reason, "stop_sequence": plan.stop_sequence}
    if not await ex.emit("message_delta", {"type": "message_delta", "delta": delta, "usage": delta_usage}):
        return False
    ex.update(
        stop_reason=plan.stop_reason,
        stop_sequence=plan.stop_sequence,
        usage=dict(plan.usage),
        output_tokens=plan.usage["output_tokens"],
    )
    if not await ex.emit("message_stop", {"type": "message_stop"}):
        return False
    ex.finish()  # all events sent: a client hanging up before the final chunk is not a cancel
    return await conn.send(b"0\r\n\r\n")
