"""Which platform ids the models are sent as, what each platform needs from the environment, and the
`provider` setting. The SDK's clients against the fake's platform endpoints: tests/e2e/test_platforms.py."""

from __future__ import annotations

import pytest

from haiku_lsp.llm import AnthropicProvider, Ledger
from haiku_lsp.llm.platforms import MODEL_IDS, available, missing, platform_model
from haiku_lsp.settings import Settings, load_settings
from tests.fakes.anthropic_api.platforms import canonical_model


def test_model_ids_are_mapped_per_platform_and_unknown_ones_pass_through():
    assert platform_model("anthropic", "claude-haiku-4-5") == "claude-haiku-4-5"
    assert platform_model("bedrock", "claude-haiku-4-5") == "anthropic.claude-haiku-4-5-20251001-v1:0"
    assert platform_model("vertex", "claude-haiku-4-5") == "claude-haiku-4-5@20251001"
    assert platform_model("bedrock", "us.anthropic.claude-haiku-4-5-20251001-v1:0") == (
        "us.anthropic.claude-haiku-4-5-20251001-v1:0")
    # Every default model of the settings has an id on each platform, and the fake reads them all back.
    for platform, table in MODEL_IDS.items():
        for model in (Settings().fast_model, Settings().planner_model):
            assert model in table, (platform, model)
        for anthropic_id, platform_id in table.items():
            assert canonical_model(platform_id) == anthropic_id


@pytest.mark.parametrize("name", ["AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ACCESS_KEY_ID", "AWS_PROFILE",
                                  "AWS_BEARER_TOKEN_BEDROCK", "CLOUD_ML_REGION", "ANTHROPIC_VERTEX_PROJECT_ID",
                                  "HAIKU_LSP_VERTEX_ACCESS_TOKEN", "ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN",
                                  "HOME"])
def test_what_each_platform_lacks(monkeypatch, tmp_path, name):
    monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.aws/credentials
    for var in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ACCESS_KEY_ID", "AWS_PROFILE", "AWS_BEARER_TOKEN_BEDROCK",
                "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_WEB_IDENTITY_TOKEN_FILE", "CLOUD_ML_REGION",
                "ANTHROPIC_VERTEX_PROJECT_ID", "ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    assert not available("anthropic") and available("bedrock") and available("vertex") and not available("azure")
    assert [m.split(" (")[0] for m in missing("bedrock")][:2] == ["the AWS region", "AWS credentials"]
    assert [m.split(" (")[0] for m in missing("vertex")][:2] == ["the Vertex region", "the Google Cloud project"]
    assert missing("anthropic") == ["an API key (ANTHROPIC_API_KEY or ANTHROPIC_AUTH_TOKEN)"]
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    monkeypatch.setenv("AWS_BEARER_TOKEN_BEDROCK", "token")
    assert not [m for m in missing("bedrock") if "AWS" in m]


def test_the_provider_setting_is_checked_and_switches_the_client():
    assert load_settings({"provider": "vertex"})[0].provider == "vertex"
    settings, problems = load_settings({"provider": "azure"})
    assert settings.provider == "anthropic" and problems and "expected one of anthropic, bedrock, vertex" in problems[0]
    provider = AnthropicProvider(Ledger())
    provider._client = object()  # as if a call had been made
    provider.set_platform("bedrock")
    assert provider.platform == "bedrock" and provider._client is None and len(provider._retired) == 1
