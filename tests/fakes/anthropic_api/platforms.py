"""Claude on the cloud platforms, as the SDK's `AnthropicVertex` and `AnthropicBedrock` clients call it:

- Vertex AI: ``POST /v1/projects/{project}/locations/{region}/publishers/anthropic/models/{model}:rawPredict``
  (``:streamRawPredict`` streams SSE as the first-party API does); the model is in the path, not the
  body; ``anthropic_version`` is in the body; a Bearer token authenticates.
- Bedrock: ``POST /model/{model}/invoke`` (JSON) and ``/model/{model}/invoke-with-response-stream``,
  whose body is an AWS event stream (``application/vnd.amazon.eventstream``): one binary frame per event,
  its payload ``{"bytes": base64(event JSON)}``; SigV4 (``AWS4-HMAC-SHA256``) or a Bedrock API key
  (Bearer) authenticates.

``platform_request`` turns such a request into the first-party body the rest of the fake answers, and
says how to frame the stream.  Platform model ids (``anthropic.claude-haiku-4-5-20251001-v1:0``,
``us.anthropic...``, ``claude-haiku-4-5@20251001``) are recorded as sent.
"""

from __future__ import annotations

import base64
import re
import struct
import zlib
from dataclasses import dataclass
from urllib.parse import unquote

from .wire import ApiError, json_bytes

_VERTEX = re.compile(r"^/v1/projects/([^/]+)/locations/([^/]+)/publishers/anthropic/models/([^/]+?)"
                     r"(?::|%3A)(rawPredict|streamRawPredict)$")
_BEDROCK = re.compile(r"^/model/([^/]+)/(invoke|invoke-with-response-stream)$")
EVENTSTREAM_TYPE = "application/vnd.amazon.eventstream"


@dataclass(frozen=True)
class PlatformRequest:
    platform: str  # vertex | bedrock
    model: str  # as in the path
    stream: bool
    body: dict  # the first-party equivalent: model in the body, anthropic_version out of it
    api_version: str


def is_platform_path(path: str) -> bool:
    return bool(_VERTEX.match(path) or _BEDROCK.match(path))


def canonical_model(model: str) -> str:
    """The Anthropic id of a platform model id (for the fake's model checks)."""
    model = re.sub(r"^(?:[a-z]{2,6}\.)?anthropic\.", "", model)  # bedrock, with an inference-profile prefix
    model = re.sub(r"-v\d+(?::\d+)?$", "", model)  # bedrock's version suffix
    model = re.sub(r"-\d{8}$", "", model)  # bedrock's date
    return model.split("@", 1)[0]  # vertex's date


def platform_request(path: str, headers: dict[str, str], body: dict) -> PlatformRequest:
    """The request to ``path`` as a first-party one; ApiError as the platform would answer."""
    if m := _VERTEX.match(path):
        platform, model, stream = "vertex", unquote(m.group(3)), m.group(4) == "streamRawPredict"
        if not headers.get("authorization", "").lower().startswith("bearer "):
            raise ApiError(401, "Request is missing required authentication credential. Expected OAuth 2 access "
                                "token.", "authentication_error")
    elif m := _BEDROCK.match(path):
        platform, model, stream = "bedrock", unquote(m.group(1)), m.group(2) == "invoke-with-response-stream"
        auth = headers.get("authorization", "")
        signed = auth.startswith("AWS4-HMAC-SHA256 Credential=") and "x-amz-date" in headers
        if not (signed or auth.lower().startswith("bearer ")):
            raise ApiError(403, "Missing Authentication Token", "permission_error")
    else:
        raise ApiError(404, f"Not found: {path}")
    if "model" in body:
        raise ApiError(400, "model: Extra inputs are not permitted (the model is in the URL)")
    version = body.get("anthropic_version")
    if not isinstance(version, str) or not version:
        raise ApiError(400, "anthropic_version: Field required")
    first_party = {k: v for k, v in body.items() if k != "anthropic_version"}
    first_party["model"] = model
    if platform == "bedrock":
        if "stream" in body:
            raise ApiError(400, "stream: Extra inputs are not permitted (use invoke-with-response-stream)")
        if stream:
            first_party["stream"] = True
    elif bool(body.get("stream")) != stream:
        raise ApiError(400, "stream must match the method (streamRawPredict streams, rawPredict does not)")
    return PlatformRequest(platform, model, stream, first_party, version)


def _header(name: str, value: str) -> bytes:
    raw_name, raw_value = name.encode(), value.encode()
    return struct.pack(">B", len(raw_name)) + raw_name + b"\x07" + struct.pack(">H", len(raw_value)) + raw_value


def eventstream_frame(_event: str, data: dict) -> bytes:
    """One AWS event stream message carrying a Messages API event, as Bedrock streams it."""
    headers = (_header(":event-type", "chunk") + _header(":content-type", "application/json")
               + _header(":message-type", "event"))
    payload = json_bytes({"bytes": base64.b64encode(json_bytes(data)).decode("ascii")})
    total = 12 + len(headers) + len(payload) + 4
    prelude = struct.pack(">II", total, len(headers))
    message = prelude + struct.pack(">I", zlib.crc32(prelude) & 0xFFFFFFFF) + headers + payload
    return message + struct.pack(">I", zlib.crc32(message) & 0xFFFFFFFF)
