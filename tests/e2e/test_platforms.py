"""Claude on Amazon Bedrock and Google Vertex AI: the SDK's own `AnthropicBedrock` (SigV4 through botocore, the
AWS event stream) and `AnthropicVertex` clients against the fake's platform endpoints
(tests/fakes/anthropic_api/platforms.py), the language server on each `provider` with the model ids
mapped, and `haiku-lsp doctor` checking the chosen one."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import anthropic
import pytest

from tests.fakes.anthropic_api import FakeAnthropic, Fault, Reply
from tests.harness import end_of, items_of, server_env, text_of

SAMPLE = "import math\n\n\ndef distance(a, b):\n    dx = a[0] - b[0]\n    dy = a[1] - b[1]\n    return math.sq\n"
ANSWER = "rt(dx * dx + dy * dy)"
USER = [{"role": "user", "content": "hi"}]


def vertex_env(fake: FakeAnthropic) -> dict[str, str]:
    return {"CLOUD_ML_REGION": "europe-west1", "ANTHROPIC_VERTEX_PROJECT_ID": "team-proj",
            "ANTHROPIC_VERTEX_BASE_URL": fake.base_url + "/v1", "HAIKU_LSP_VERTEX_ACCESS_TOKEN": "ya29.test-token"}


def bedrock_env(fake: FakeAnthropic) -> dict[str, str]:
    return {"AWS_REGION": "eu-west-1", "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "secret-example",
            "ANTHROPIC_BEDROCK_BASE_URL": fake.base_url}


def platform_requests(fake: FakeAnthropic) -> list:
    return [r for r in fake.requests if r.path.startswith(("/model/", "/v1/projects/"))]


def test_the_sdk_platform_clients_talk_to_the_fake(fake_anthropic):
    fake_anthropic.script(Reply(text="hello"))
    vertex = anthropic.AnthropicVertex(region="europe-west1", project_id="p", access_token="tok",
                                       base_url=fake_anthropic.base_url + "/v1", max_retries=0)
    bedrock = anthropic.AnthropicBedrock(aws_region="eu-west-1", aws_access_key="AKIDEXAMPLE",
                                         aws_secret_key="secret", base_url=fake_anthropic.base_url, max_retries=0)
    try:
        assert vertex.messages.create(model="claude-haiku-4-5@20251001", max_tokens=20, messages=USER
                                      ).content[0].text == "hello"
        with vertex.messages.stream(model="claude-haiku-4-5@20251001", max_tokens=20, messages=USER) as s:
            assert "".join(s.text_stream) == "hello"
        model = "anthropic.claude-haiku-4-5-20251001-v1:0"
        assert bedrock.messages.create(model=model, max_tokens=20, messages=USER).content[0].text == "hello"
        with bedrock.messages.stream(model=model, max_tokens=20, messages=USER) as s:  # AWS event stream frames
            assert "".join(s.text_stream) == "hello"
            assert s.get_final_message().usage.output_tokens > 0
        with pytest.raises(anthropic.NotFoundError):
            vertex.messages.create(model="gpt-4@1", max_tokens=20, messages=USER)
    finally:
        vertex.close()
        bedrock.close()
    paths = [r.path for r in platform_requests(fake_anthropic)]
    assert paths[:4] == [
        "/v1/projects/p/locations/europe-west1/publishers/anthropic/models/claude-haiku-4-5@20251001:rawPredict",
        "/v1/projects/p/locations/europe-west1/publishers/anthropic/models/claude-haiku-4-5@20251001:streamRawPredict",
        f"/model/{model}/invoke", f"/model/{model}/invoke-with-response-stream"]
    signed = platform_requests(fake_anthropic)[3]
    assert signed.headers["authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
    assert signed.headers["content-type"] and signed.status == 200
    # Unsigned requests are refused as the platforms refuse them.
    unsigned = anthropic.AnthropicBedrock(aws_region="eu-west-1", api_key="", base_url=fake_anthropic.base_url,
                                          max_retries=0)
    with pytest.raises(anthropic.AnthropicError):
        unsigned.messages.create(model=model, max_tokens=20, messages=USER)
    unsigned.close()


@pytest.mark.parametrize(("provider", "env", "path"), [
    ("vertex", vertex_env, "/v1/projects/team-proj/locations/europe-west1/publishers/anthropic/models/"
                           "claude-haiku-4-5@20251001:streamRawPredict"),
    ("bedrock", bedrock_env, "/model/anthropic.claude-haiku-4-5-20251001-v1:0/invoke-with-response-stream"),
])
async def test_the_server_completes_through_each_platform(start_session, fake_anthropic, provider, env, path):
    fake_anthropic.script(Reply(text=ANSWER))
    s = await start_session(key=False, env=env(fake_anthropic), init_options={"provider": provider})
    uri = s.open("geo.py", SAMPLE)
    items = items_of(await s.inline(uri, end_of(SAMPLE, "return math.sq"), invoked=True))
    assert [text_of(i) for i in items] == [ANSWER]
    [req] = platform_requests(fake_anthropic)
    assert req.path == path and fake_anthropic.message_requests == []
    assert "return math.sq" in req.last_user_text
    stats = await s.command("haiku.showStats")
    assert list(stats["models"]) == ["claude-haiku-4-5"] and stats["usd"] > 0  # priced by the Anthropic id
    assert not any("ANTHROPIC_API_KEY" in m.message for m in s.client.messages)  # no "no key" message


def doctor(fake: FakeAnthropic, tmp: Path, *args: str, env: dict[str, str] | None = None, key: bool = True):
    environment = server_env(fake.base_url, tmp / "cache", api_key="sk-ant-test-key-0123456789abcdef" if key else None,
                             extra=env)
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "CLOUD_ML_REGION", "HAIKU_LSP_SHARED_CACHE"):
        if env is None or name not in env:
            environment.pop(name, None)
    return subprocess.run([sys.executable, "-m", "haiku_lsp", "doctor", *args], env=environment,
                          capture_output=True, text=True, timeout=120)


def test_doctor_checks_the_chosen_provider(fake_anthropic, tmp_path):
    fake_anthropic.script(Reply(text="OK"))
    first = doctor(fake_anthropic, tmp_path)
    assert first.returncode == 0 and "provider:     anthropic" in first.stdout and "call:         ok" in first.stdout
    vertex = doctor(fake_anthropic, tmp_path, "--provider", "vertex", env=vertex_env(fake_anthropic), key=False)
    assert vertex.returncode == 0, vertex.stdout + vertex.stderr
    assert "claude-haiku-4-5 -> claude-haiku-4-5@20251001" in vertex.stdout and "'OK'" in vertex.stdout
    bedrock = doctor(fake_anthropic, tmp_path, env={**bedrock_env(fake_anthropic), "HAIKU_LSP_PROVIDER": "bedrock"},
                     key=False)
    assert bedrock.returncode == 0 and "anthropic.claude-haiku-4-5-20251001-v1:0" in bedrock.stdout, bedrock.stdout
    assert len(platform_requests(fake_anthropic)) == 2
    # What is missing is said, and the call fails cleanly: exit 1.
    lost = doctor(fake_anthropic, tmp_path, "--provider", "bedrock", key=False)
    assert lost.returncode == 1 and "missing:      the AWS region" in lost.stdout and "FAILED" in lost.stdout
    fake_anthropic.reset()
    fake_anthropic.script(Reply(fault=Fault.status(401)))
    rejected = doctor(fake_anthropic, tmp_path)
    assert rejected.returncode == 1 and "FAILED (auth)" in rejected.stdout
    offline = doctor(fake_anthropic, tmp_path, "--no-call", env={"HAIKU_LSP_SHARED_CACHE": "redis://127.0.0.1:1/0"})
    assert offline.returncode == 1 and "NOT reachable" in offline.stdout
