"""The real google-genai client against the local fake server: requests, answers, error mapping."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from digest.config import PROVIDERS, LLMConfig
from digest.errors import AuthError, BadRequest, QuotaExhausted, RateLimited, TransientError
from digest.llm import build_provider, provider_names
from digest.llm.base import Attachment
from digest.llm.gemini import GeminiProvider
from digest.schemas import Analysis, DeepDive
from tests.fakes.llm_server import FakeLLMServer, Reply, load_fixture, minimal_pdf

KEY = "AIzaSyFAKE-test-key-0123456789abcdefg"


@pytest.fixture
def server():
    with FakeLLMServer(api_key=KEY) as srv:
        yield srv


def _provider(srv: FakeLLMServer, *, key: str = KEY, **overrides) -> GeminiProvider:
    cfg = LLMConfig(provider="gemini", base_url=srv.url, timeout_s=overrides.pop("timeout_s", 5), **overrides)
    provider = build_provider(cfg, key)
    assert isinstance(provider, GeminiProvider)
    return provider


def test_json_mode_ok_parses_text_usage_and_sends_schema(server):
    server.script(Reply.raw(200, load_fixture("gemini_generate_content_json_mode.json")))
    gen = _provider(server).generate("分析", schema=Analysis)
    assert json.loads(gen.text)["stars"] == 5
    assert (gen.usage.tokens_in, gen.usage.tokens_out, gen.usage.tokens_thinking) == (102, 160, 278)
    assert gen.finish_reason == "stop"
    assert gen.model == "gemini-2.5-flash"
    req = server.requests[0]
    assert req.path == "/v1/models/gemini-2.5-flash:generateContent"
    config = req.body["generationConfig"]
    assert config["responseMimeType"] == "application/json"
    assert config["responseJsonSchema"]["properties"]["one_line"]["type"] == "string"
    assert config["maxOutputTokens"] == 16384
    assert req.prompt == "分析"


def test_nested_schema_with_lists_and_optional_round_trips(server):
    # The server's default responder answers from the schema it received: the JSON Schema must keep
    # $defs, nullable fields and minItems for the answer to validate as DeepDive.
    gen = _provider(server).generate("深入分析", schema=DeepDive)
    sent = server.requests[0].body["generationConfig"]["responseJsonSchema"]
    assert "$defs" in sent and sent["properties"]["summary"]["$ref"].endswith("DeepSummary")
    parsed = DeepDive.model_validate_json(gen.text)
    assert len(parsed.summary.quick_pipeline) >= 3


def test_plain_text_without_schema(server):
    server.script(Reply.raw(200, load_fixture("gemini_generate_content_ok.json")))
    gen = _provider(server).generate("Say hi")
    assert gen.text == "HSD OS Gemini API is live in production."
    assert (gen.usage.tokens_in, gen.usage.tokens_out) == (12, 10)
    assert "responseMimeType" not in server.requests[0].body.get("generationConfig", {})


def test_json_mode_object_sends_no_schema(server):
    _provider(server, json_mode="object").generate("x", schema=Analysis)
    config = server.requests[0].body["generationConfig"]
    assert config["responseMimeType"] == "application/json"
    assert "responseJsonSchema" not in config and "responseSchema" not in config


def test_thinking_budget_is_sent_only_when_configured(server):
    _provider(server, thinking_budget=512).generate("x", schema=Analysis)
    _provider(server).generate("x", schema=Analysis)
    first, second = (r.body["generationConfig"] for r in server.requests)
    # google-genai 3.4 sends the nested field in snake_case; the API's proto JSON accepts both spellings
    assert first["thinkingConfig"] in ({"thinkingBudget": 512}, {"thinking_budget": 512})
    assert "thinkingConfig" not in second
    assert first["maxOutputTokens"] == 16384


def test_per_minute_429_is_rate_limited_with_the_longest_hint(server):
    server.script(Reply.rate_limited(retry_s=29.083414095))
    with pytest.raises(RateLimited) as info:
        _provider(server).generate("x")
    assert info.value.retry_after >= 29.08  # "Please retry in 29.083414095s" beats RetryInfo "29s"
    assert info.value.status == 429


def test_recorded_free_tier_429_with_per_day_violation_is_quota(server):
    # The recorded body lists PerDay violations and "limit: 0": waiting 29 s will not help.
    server.script(Reply.raw(429, load_fixture("gemini_429_free_tier.json")))
    with pytest.raises(QuotaExhausted) as info:
        _provider(server).generate("x")
    assert info.value.retry_after >= 29.08


def test_per_day_429_is_quota_exhausted(server):
    server.script(Reply.raw(429, load_fixture("gemini_429_per_day.json")))
    with pytest.raises(QuotaExhausted):
        _provider(server).generate("x")


def test_server_rpm_quota_answers_429_after_limit():
    with FakeLLMServer(rpm=2, window_s=30) as srv:
        provider = _provider(srv)
        provider.generate("a")
        provider.generate("b")
        with pytest.raises(RateLimited) as info:
            provider.generate("c")
        assert 25 < info.value.retry_after <= 30
        assert srv.stats.ok == 2 and srv.stats.rate_limited == 1


def test_server_per_day_quota():
    with FakeLLMServer(per_day=1) as srv:
        provider = _provider(srv)
        provider.generate("a")
        with pytest.raises(QuotaExhausted):
            provider.generate("b")
        assert srv.stats.quota_exhausted == 1


@pytest.mark.parametrize("status", [500, 503])
def test_5xx_is_transient(server, status):
    server.script(Reply.server_error(status))
    with pytest.raises(TransientError) as info:
        _provider(server).generate("x")
    assert info.value.status == status


def test_invalid_key_is_auth_error_naming_env_not_key(server):
    with pytest.raises(AuthError) as info:
        _provider(server, key="AIzaSyWRONG-key-9876543210zyxwvut").generate("x")
    msg = str(info.value)
    assert "GEMINI_API_KEY" in msg
    assert "AIzaSyWRONG" not in msg and KEY not in msg
    assert server.stats.auth_errors == 1


def test_missing_key_is_auth_error(server):
    with pytest.raises(AuthError, match="GEMINI_API_KEY"):
        build_provider(LLMConfig(provider="gemini", base_url=server.url), None)


def test_403_is_auth_and_404_is_bad_request(server):
    server.script(
        Reply.raw(403, {"error": {"code": 403, "message": "denied", "status": "PERMISSION_DENIED"}}),
        Reply.raw(404, {"error": {"code": 404, "message": "models/x is not found", "status": "NOT_FOUND"}}),
    )
    provider = _provider(server)
    with pytest.raises(AuthError):
        provider.generate("x")
    with pytest.raises(BadRequest):
        provider.generate("x")


def test_max_tokens_finish_reason(server):
    server.script(Reply(text='{"a": ', finish="max_tokens"))
    gen = _provider(server).generate("x")
    assert gen.finish_reason == "max_tokens" and gen.text == '{"a": '


@pytest.mark.parametrize("finish", ["blocked", "safety"])
def test_blocked_or_empty_candidates_give_safety_and_empty_text(server, finish):
    server.script(Reply(finish=finish))
    gen = _provider(server).generate("x")
    assert gen.finish_reason == "safety" and gen.text == ""


def test_pdf_attachment_arrives_as_inline_data(server):
    pdf = minimal_pdf("Hello PDF")
    _provider(server).generate(
        "总结", attachments=[Attachment(mime_type="application/pdf", data=pdf, name="p.pdf")]
    )
    req = server.requests[0]
    assert req.attachments == [("application/pdf", pdf)]
    parts = req.body["contents"][0]["parts"]
    assert "inlineData" in parts[0] and parts[-1]["text"] == "总结"


def test_timeout_and_dropped_connection_are_transient(server):
    server.script(Reply(text="late", delay=1.5), Reply.drop())
    provider = _provider(server, timeout_s=0.4)
    with pytest.raises(TransientError, match="timed out"):
        provider.generate("x")
    with pytest.raises(TransientError):
        provider.generate("x")


def test_connection_refused_is_transient():
    with FakeLLMServer() as srv:
        url = srv.url
    provider = build_provider(LLMConfig(provider="gemini", base_url=url, timeout_s=2), KEY)
    with pytest.raises(TransientError):
        provider.generate("x")


def test_sdk_does_not_retry(server):
    server.script(Reply.server_error(503))
    with pytest.raises(TransientError):
        _provider(server).generate("x")
    assert server.stats.requests == 1


def test_key_only_in_auth_header(server):
    provider = _provider(server)
    provider.generate("x", schema=Analysis)
    provider.generate("y", attachments=[Attachment(mime_type="application/pdf", data=minimal_pdf("z"))])
    assert server.leaks == []
    assert KEY not in repr(server.requests)
    assert server.requests[0].headers["x-goog-api-key"] == "<redacted>"
    assert all(r.auth_ok for r in server.requests)


def test_config_accepts_exactly_the_registered_providers():
    assert set(provider_names()) == set(PROVIDERS)
    with pytest.raises(ValidationError, match="provider: openai with base_url"):
        LLMConfig(provider="nope")
