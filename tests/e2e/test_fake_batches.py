"""The fake's Message Batches API (tests/fakes/anthropic_api/batches.py), driven by the real SDK's
``client.messages.batches`` calls: create, retrieve (processing_status, request_counts), results as JSONL
(succeeded / errored / expired / canceled entries by custom_id), cancel, list, delete, and the envelope
checks the API makes at create time."""

from __future__ import annotations

import time

import anthropic
import httpx2
import pytest

from tests.fakes.anthropic_api import FakeAnthropic, Fault, Reply

HAIKU = "claude-haiku-4-5"


def params(text: str, **extra) -> dict:
    return {"model": HAIKU, "max_tokens": 200, "messages": [{"role": "user", "content": text}], **extra}


@pytest.fixture
def client(fake_anthropic: FakeAnthropic):
    c = anthropic.Anthropic(base_url=fake_anthropic.base_url, api_key="test-key", max_retries=0)
    yield c
    c.close()


def wait_ended(client: anthropic.Anthropic, batch_id: str, timeout: float = 10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        batch = client.messages.batches.retrieve(batch_id)
        if batch.processing_status == "ended":
            return batch
        time.sleep(0.05)
    raise TimeoutError(batch_id)


def test_a_batch_is_processed_and_its_results_come_back_by_custom_id(fake_anthropic, client):
    fake_anthropic.batches.batch_seconds = 0.6
    fake_anthropic.script(Reply(text="four"), match="two plus two")
    fake_anthropic.script(Reply(fault=Fault.status(529)), match="overload me")
    fake_anthropic.batches.expire_match = "too slow"
    batch = client.messages.batches.create(requests=[
        {"custom_id": "sum", "params": params("two plus two")},
        {"custom_id": "busy", "params": params("overload me")},
        {"custom_id": "late", "params": params("too slow")},
        {"custom_id": "bad", "params": params("x", temperature=0.5)},  # the 2026 API version refuses it
        {"custom_id": "model", "params": {**params("x"), "model": "gpt-4"}},
    ])
    assert batch.id.startswith("msgbatch_") and batch.type == "message_batch"
    assert batch.processing_status == "in_progress" and batch.results_url is None and batch.ended_at is None
    assert batch.request_counts.processing == 5 and batch.request_counts.succeeded == 0
    assert (batch.expires_at - batch.created_at).total_seconds() == 24 * 3600
    with pytest.raises(anthropic.AnthropicError, match="finished processing"):
        client.messages.batches.results(batch.id)  # the SDK's own check: no results_url yet

    ended = wait_ended(client, batch.id)
    counts = ended.request_counts
    assert (counts.processing, counts.succeeded, counts.errored, counts.expired, counts.canceled) == (0, 1, 3, 1, 0)
    assert ended.results_url.endswith(f"/v1/messages/batches/{batch.id}/results") and ended.ended_at is not None
    results = {r.custom_id: r.result for r in client.messages.batches.results(batch.id)}
    assert set(results) == {"sum", "busy", "late", "bad", "model"}
    ok = results["sum"]
    assert ok.type == "succeeded" and ok.message.content[0].text == "four"
    assert ok.message.usage.input_tokens > 0 and ok.message.usage.output_tokens > 0
    assert ok.message.usage.service_tier == "batch" and ok.message.stop_reason == "end_turn"
    assert results["busy"].type == "errored" and results["busy"].error.error.type == "overloaded_error"
    assert results["late"].type == "expired"
    assert results["bad"].type == "errored" and "temperature" in results["bad"].error.error.message
    assert results["model"].type == "errored" and results["model"].error.error.type == "not_found_error"
    # The scripts answered the batch's requests like /v1/messages ones; no /v1/messages call was made.
    assert fake_anthropic.message_requests == []
    assert [cid for cid, _ in fake_anthropic.batches.created[0].requests] == ["sum", "busy", "late", "bad", "model"]


def test_cancel_cancels_what_was_not_done_yet(fake_anthropic, client):
    fake_anthropic.batches.batch_seconds = 30
    batch = client.messages.batches.create(requests=[{"custom_id": f"r{i}", "params": params(f"q{i}")}
                                                     for i in range(3)])
    canceling = client.messages.batches.cancel(batch.id)
    assert canceling.cancel_initiated_at is not None
    ended = wait_ended(client, batch.id)
    assert ended.request_counts.canceled == 3 and ended.request_counts.succeeded == 0
    assert {r.result.type for r in client.messages.batches.results(batch.id)} == {"canceled"}


def test_list_retrieve_and_delete(fake_anthropic, client):
    first = client.messages.batches.create(requests=[{"custom_id": "a", "params": params("a")}])
    second = client.messages.batches.create(requests=[{"custom_id": "b", "params": params("b")}])
    assert [b.id for b in client.messages.batches.list(limit=10)] == [second.id, first.id]
    page = client.messages.batches.list(limit=1)
    assert [b.id for b in page.data] == [second.id] and page.has_more
    assert client.messages.batches.delete(first.id).type == "message_batch_deleted"
    with pytest.raises(anthropic.NotFoundError):
        client.messages.batches.retrieve(first.id)


def test_the_envelope_is_checked_at_create_time(fake_anthropic, client):
    with pytest.raises(anthropic.BadRequestError, match="not unique"):
        client.messages.batches.create(requests=[{"custom_id": "a", "params": params("a")},
                                                 {"custom_id": "a", "params": params("b")}])
    with pytest.raises(anthropic.BadRequestError, match="pattern"):
        client.messages.batches.create(requests=[{"custom_id": "no spaces", "params": params("a")}])
    with pytest.raises(anthropic.BadRequestError, match="at least 1"):
        client.messages.batches.create(requests=[])
    with pytest.raises(anthropic.NotFoundError):
        client.messages.batches.retrieve("msgbatch_nope")
    unauthenticated = httpx2.get(fake_anthropic.base_url + "/v1/messages/batches",
                                 headers={"anthropic-version": "2023-06-01"})
    assert unauthenticated.status_code == 401
    assert fake_anthropic.batches.created == []
