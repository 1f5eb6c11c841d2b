"""Where the Messages API is reached: Anthropic's own API (default), Amazon Bedrock or Google Vertex AI,
each through the anthropic SDK's own client (`AsyncAnthropic`, `AsyncAnthropicBedrock`,
`AsyncAnthropicVertex`), with the model ids each platform names its models by.

Models are named by their Anthropic ids everywhere in haiku-lsp (settings, prices, cache keys, the
ledger); `platform_model` maps one to the platform's id at the moment a request is sent. An id the table
does not know (a Bedrock inference profile such as `us.anthropic...`, a Vertex `...@date` id) goes out as
it is.

Credentials and places are the SDK's: Bedrock reads `AWS_REGION` and the AWS credential chain (or
`AWS_BEARER_TOKEN_BEDROCK`), `ANTHROPIC_BEDROCK_BASE_URL`; Vertex reads `CLOUD_ML_REGION`,
`ANTHROPIC_VERTEX_PROJECT_ID`, `ANTHROPIC_VERTEX_BASE_URL` and Google's application default credentials
(or the token in `HAIKU_LSP_VERTEX_ACCESS_TOKEN`, e.g. from `gcloud auth print-access-token`).
"""

from __future__ import annotations

import os
from typing import Any

PLATFORMS = ("anthropic", "bedrock", "vertex")
VERTEX_TOKEN_ENV = "HAIKU_LSP_VERTEX_ACCESS_TOKEN"

MODEL_IDS: dict[str, dict[str, str]] = {
    "bedrock": {
        "claude-haiku-4-5": "anthropic.claude-haiku-4-5-20251001-v1:0",
        "claude-sonnet-4-5": "anthropic.claude-sonnet-4-5-20250929-v1:0",
        "claude-sonnet-4-6": "anthropic.claude-sonnet-4-6",
    },
    "vertex": {
        "claude-haiku-4-5": "claude-haiku-4-5@20251001",
        "claude-sonnet-4-5": "claude-sonnet-4-5@20250929",
        "claude-sonnet-4-6": "claude-sonnet-4-6",
    },
}

# What each platform needs from the environment: (variable, what it is), any one of a group being enough.
_NEEDS: dict[str, list[tuple[tuple[str, ...], str]]] = {
    "anthropic": [(("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN"), "an API key")],
    "bedrock": [(("AWS_REGION", "AWS_DEFAULT_REGION"), "the AWS region"),
                (("AWS_BEARER_TOKEN_BEDROCK", "AWS_ACCESS_KEY_ID", "AWS_PROFILE", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                  "AWS_WEB_IDENTITY_TOKEN_FILE"), "AWS credentials")],
    "vertex": [(("CLOUD_ML_REGION",), "the Vertex region"),
               (("ANTHROPIC_VERTEX_PROJECT_ID",), "the Google Cloud project")],
}
_EXTRAS = {"bedrock": ("botocore", "haiku-lsp[bedrock]"), "vertex": ("google.auth", "haiku-lsp[vertex]")}


def platform_model(platform: str, model: str) -> str:
    """The id `platform` knows the Anthropic model `model` by (unknown ids unchanged)."""
    return MODEL_IDS.get(platform, {}).get(model, model)


def missing(platform: str) -> list[str]:
    """What the environment lacks for `platform` (empty: nothing known to be missing). Credentials that
    live in files (~/.aws, application default credentials) are not looked for: the first call tells."""
    out = []
    for names, what in _NEEDS.get(platform, []):
        if not any(os.environ.get(n) for n in names):
            if platform == "bedrock" and what == "AWS credentials" and os.path.exists(
                    os.path.expanduser("~/.aws/credentials")):
                continue
            out.append(f"{what} ({' or '.join(names)})")
    if platform == "vertex" and not os.environ.get(VERTEX_TOKEN_ENV):
        module, extra = _EXTRAS["vertex"]
        if not _importable(module):
            out.append(f"Google credentials ({VERTEX_TOKEN_ENV}, or pip install '{extra}' for application "
                       "default credentials)")
    if platform == "bedrock" and not _importable(_EXTRAS["bedrock"][0]):
        out.append(f"botocore (pip install '{_EXTRAS['bedrock'][1]}')")
    return out


def _importable(module: str) -> bool:
    import importlib.util

    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def available(platform: str) -> bool:
    """Whether calls can be tried at all: a key for Anthropic's API; for Bedrock and Vertex, the choice
    itself (their credentials are resolved by the SDK on the first call)."""
    if platform == "anthropic":
        return bool(os.environ.get("ANTHROPIC_API_KEY") or os.environ.get("ANTHROPIC_AUTH_TOKEN"))
    return platform in PLATFORMS


def make_client(sdk: Any, platform: str, *, max_retries: int) -> Any:
    """The SDK's async client for `platform` (the SDK reads the rest from the environment)."""
    if platform == "bedrock":
        return sdk.AsyncAnthropicBedrock(max_retries=max_retries)
    if platform == "vertex":
        token = os.environ.get(VERTEX_TOKEN_ENV) or None
        return sdk.AsyncAnthropicVertex(max_retries=max_retries, access_token=token)
    return sdk.AsyncAnthropic(max_retries=max_retries)


def endpoint(platform: str) -> str:
    """Where calls go, as far as the environment says (for `haiku-lsp doctor`)."""
    if platform == "bedrock":
        region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "?"
        return os.environ.get("ANTHROPIC_BEDROCK_BASE_URL") or f"https://bedrock-runtime.{region}.amazonaws.com"
    if platform == "vertex":
        region = os.environ.get("CLOUD_ML_REGION") or "?"
        base = os.environ.get("ANTHROPIC_VERTEX_BASE_URL") or f"https://{region}-aiplatform.googleapis.com/v1"
        return f"{base} (project {os.environ.get('ANTHROPIC_VERTEX_PROJECT_ID') or '?'}, region {region})"
    return os.environ.get("ANTHROPIC_BASE_URL") or "https://api.anthropic.com"
