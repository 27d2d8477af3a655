"""The OpenAI-compatible provider against the local fake server's /chat/completions."""

from __future__ import annotations

import email.utils
import json
import time

import pytest

from digest.config import LLMConfig
from digest.errors import AuthError, BadRequest, QuotaExhausted, RateLimited, TransientError
from digest.llm import build_provider
from digest.llm.base import Attachment
from digest.llm.openai_compat import OpenAICompatProvider, inline_attachments, pdf_text
from digest.schemas import Analysis, DeepDive
from tests.fakes.llm_server import FakeLLMServer, Reply, load_fixture, minimal_pdf

KEY = "sk-fake-test-key-0123456789abcdef"


@pytest.fixture
def server():
    with FakeLLMServer(api_key=KEY) as srv:
        yield srv


def _provider(srv: FakeLLMServer, *, key: str | None = KEY, **overrides) -> OpenAICompatProvider:
    cfg = LLMConfig(
        provider="openai",
        model=overrides.pop("model", "deepseek-chat"),
        base_url=srv.openai_url,
        api_key_env="DEEPSEEK_API_KEY",
        timeout_s=overrides.pop("timeout_s", 5),
        **overrides,
    )
    provider = build_provider(cfg, key)
    assert isinstance(provider, OpenAICompatProvider)
    return provider


def test_ok_parses_text_usage_and_model(server):
    server.script(Reply.raw(200, load_fixture("openai_compat_deepseek_response.json")))
    gen = _provider(server).generate("hi")
    assert gen.text == "Hello! How can I assist you today?"
    assert (gen.usage.tokens_in, gen.usage.tokens_out) == (14, 9)
    assert gen.finish_reason == "stop" and gen.model == "deepseek-chat"
    req = server.requests[0]
    assert req.path == "/v1/chat/completions"
    assert req.body["messages"] == [{"role": "user", "content": "hi"}]
    assert req.body["model"] == "deepseek-chat" and req.body["max_tokens"] == 8192
    assert "response_format" not in req.body


def test_default_mode_is_json_object_which_every_server_accepts(server):
    _provider(server).generate("深入分析", schema=DeepDive)
    assert server.requests[0].body["response_format"] == {"type": "json_object"}


def test_schema_mode_sends_json_schema_and_answer_validates(server):
    gen = _provider(server, json_mode="schema").generate("深入分析", schema=DeepDive)
    fmt = server.requests[0].body["response_format"]
    assert fmt["type"] == "json_schema"
    assert fmt["json_schema"]["name"] == "DeepDive" and fmt["json_schema"]["strict"] is False
    assert "$defs" in fmt["json_schema"]["schema"]
    DeepDive.model_validate_json(gen.text)


def test_object_mode_sends_json_object_and_mentions_json(server):
    _provider(server, json_mode="object").generate("分析这篇论文", schema=Analysis)
    req = server.requests[0]
    assert req.body["response_format"] == {"type": "json_object"}
    assert "json" in req.prompt.lower()


def test_recorded_openai_429_hint_in_ms(server):
    server.script(Reply.raw(429, load_fixture("openai_compat_429_openai.json")))
    with pytest.raises(RateLimited) as info:
        _provider(server).generate("x")
    assert info.value.retry_after == pytest.approx(0.006)


def test_429_retry_after_header_seconds_and_http_date(server):
    body = {"error": {"message": "slow down", "type": "requests", "code": "rate_limit_exceeded"}}
    date = email.utils.formatdate(time.time() + 120, usegmt=True)
    server.script(Reply.raw(429, body, {"Retry-After": "17"}), Reply.raw(429, body, {"Retry-After": date}))
    provider = _provider(server)
    with pytest.raises(RateLimited) as first:
        provider.generate("x")
    assert first.value.retry_after == 17
    with pytest.raises(RateLimited) as second:
        provider.generate("x")
    assert 110 < second.value.retry_after <= 121


def test_server_rate_limit_reply_and_rpm_quota():
    with FakeLLMServer(rpm=1, window_s=20) as srv:
        provider = _provider(srv)
        provider.generate("a")
        with pytest.raises(RateLimited) as info:
            provider.generate("b")
        assert 15 < info.value.retry_after <= 20
        assert srv.stats.rate_limited == 1


def test_insufficient_quota_and_402_are_quota_exhausted(server):
    server.script(
        Reply.per_day(),
        Reply.raw(402, {"error": {"message": "Insufficient Balance", "type": "unknown_error"}}),
    )
    provider = _provider(server)
    with pytest.raises(QuotaExhausted):
        provider.generate("x")
    with pytest.raises(QuotaExhausted):
        provider.generate("x")


def test_invalid_key_is_auth_error_naming_env_not_key(server):
    with pytest.raises(AuthError) as info:
        _provider(server, key="sk-WRONG-key-9876543210").generate("x")
    msg = str(info.value)
    assert "DEEPSEEK_API_KEY" in msg and "sk-WRONG" not in msg and KEY not in msg
    assert info.value.status == 401


def test_403_is_auth_other_4xx_is_bad_request(server):
    server.script(
        Reply.raw(403, {"error": {"message": "forbidden"}}),
        Reply.raw(400, {"error": {"message": "bad model", "type": "invalid_request_error"}}),
    )
    provider = _provider(server)
    with pytest.raises(AuthError):
        provider.generate("x")
    with pytest.raises(BadRequest, match="bad model"):
        provider.generate("x")


@pytest.mark.parametrize("status", [500, 502, 503])
def test_5xx_is_transient(server, status):
    server.script(Reply.server_error(status))
    with pytest.raises(TransientError):
        _provider(server).generate("x")


def test_non_json_200_is_transient(server):
    server.script(Reply.raw(200, "<html>gateway</html>"))
    with pytest.raises(TransientError):
        _provider(server).generate("x")


def test_length_is_max_tokens_and_content_filter_is_safety(server):
    server.script(Reply(text="{", finish="max_tokens"), Reply(finish="safety"))
    provider = _provider(server)
    assert provider.generate("x").finish_reason == "max_tokens"
    gen = provider.generate("x")
    assert gen.finish_reason == "safety" and gen.text == ""


def test_pdf_attachment_text_is_appended_to_prompt(server):
    pdf = minimal_pdf("Deep dive full text marker")
    _provider(server).generate("总结全文", attachments=[Attachment("application/pdf", pdf, "2406.00001.pdf")])
    prompt = server.requests[0].prompt
    assert prompt.startswith("总结全文")
    assert "Deep dive full text marker" in prompt and "2406.00001.pdf" in prompt


def test_pdf_text_is_cut_and_bad_pdf_is_bad_request():
    pdf = minimal_pdf("word " * 400)
    assert len(pdf_text(pdf, max_chars=1000)) <= 1000
    with pytest.raises(BadRequest):
        pdf_text(b"not a pdf at all", max_chars=1000)
    assert inline_attachments("p", None, max_chars=1000) == "p"


def test_timeout_and_drop_are_transient(server):
    server.script(Reply(text="late", delay=1.5), Reply.drop())
    provider = _provider(server, timeout_s=0.4)
    with pytest.raises(TransientError, match="timed out"):
        provider.generate("x")
    with pytest.raises(TransientError):
        provider.generate("x")


def test_key_only_in_authorization_header(server):
    provider = _provider(server)
    provider.generate("x", schema=Analysis)
    provider.generate("y", attachments=[Attachment("application/pdf", minimal_pdf("z"))])
    assert server.leaks == []
    assert KEY not in repr(server.requests)
    assert server.requests[0].headers["Authorization"] == "<redacted>"
    assert all(r.auth_ok for r in server.requests)


def test_no_key_sends_no_authorization():
    with FakeLLMServer() as srv:
        _provider(srv, key=None).generate("x")
        assert "Authorization" not in srv.requests[0].headers


def test_request_matches_reference_shape(server):
    ref = load_fixture("openai_compat_request.json")
    body = _provider(server, json_mode="object").request_body(
        "Rate this abstract 1-10 as JSON", schema=Analysis
    )
    assert set(ref) <= set(body) | {"messages"}
    assert body["response_format"] == ref["response_format"]
    json.dumps(body)
