"""The exception hierarchy (errors.py) and the provider-facing pure logic (llm/provider.py)."""

from __future__ import annotations

import pytest

from haiku_lsp import errors
from haiku_lsp.llm.anthropic import AnthropicProvider
from haiku_lsp.llm.provider import Provider, model_version, supports_prefill


@pytest.mark.parametrize(("model", "version", "prefill"), [
    ("claude-haiku-4-5", (4, 5), True),
    ("claude-haiku-4-5-20251001", (4, 5), True),
    ("claude-sonnet-4-5", (4, 5), True),
    ("claude-sonnet-4-20250514", (4, 0), True),  # the date is no minor version
    ("claude-opus-4-1-20250805", (4, 1), True),
    ("claude-3-5-sonnet-20241022", (3, 5), True),
    ("claude-sonnet-4-6", (4, 6), False),
    ("claude-opus-4-7", (4, 7), False),
    ("claude-sonnet-5", (5, 0), False),
    ("some-proxy-model", None, True),
])
def test_model_versions_and_prefill(model, version, prefill):
    assert model_version(model) == version
    assert supports_prefill(model) is prefill


@pytest.mark.parametrize(("status", "cls"), [
    (400, errors.BadRequestError), (401, errors.AuthError), (403, errors.AuthError), (404, errors.BadRequestError),
    (413, errors.BadRequestError), (422, errors.BadRequestError), (429, errors.RateLimitError),
    (500, errors.UpstreamServerError), (503, errors.UpstreamServerError), (529, errors.OverloadedError),
    (418, errors.BadRequestError),
])
def test_provider_errors_by_status(status, cls):
    err = errors.provider_error_for_status(status, "boom")
    assert type(err) is cls and err.status == status
    assert str(err) == f"{cls.kind} {status}: boom" and err.message == "boom"


def test_every_provider_error_kind_is_distinct_and_documented():
    kinds = {cls: cls.kind for cls in errors.ProviderError.__subclasses__()}
    assert len(set(kinds.values())) == len(kinds)
    assert "cancelled" in kinds.values()
    for cls, kind in kinds.items():
        assert cls.__name__ in errors.__doc__ and f'"{kind}"' in errors.__doc__
    assert set(errors.__all__) == {n for n in vars(errors) if not n.startswith("_") and n != "annotations"}


def test_user_facing_and_refactor_errors_share_the_base():
    for cls in (errors.ActionError, errors.ProviderError, errors.RefactorError, errors.PlanError,
                errors.MergeConflict, errors.SubtaskFailed):
        assert issubclass(cls, errors.HaikuError)
    assert all(issubclass(c, errors.ProviderError) for c in errors.FATAL_PROVIDER_ERRORS)


def test_the_anthropic_provider_is_a_provider():
    provider: Provider = AnthropicProvider()  # mypy checks the protocol; this checks the members exist
    members = {name for name in dir(Provider) if not name.startswith("_")} | {"ledger"}
    assert members == {"available", "ready", "stream", "complete", "ledger"}
    assert all(hasattr(provider, name) for name in members)
