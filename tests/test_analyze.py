"""Validation and the re-ask loop, with a FakeLLM behind the real Session (no HTTP)."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from digest.analyze import Job, Session
from digest.config import Config
from digest.errors import InvalidOutput, QuotaExhausted
from digest.jobs import analysis_job
from digest.llm.base import Generation
from digest.llm.ratelimit import Limiter
from digest.models import Entry, Paper
from digest.prompts import prompts_dir
from digest.schemas import Analysis
from digest.store import Store
from digest.validate import check_text, unverified_figures, validate
from tests.fakes.answers import analysis
from tests.fakes.fake_llm import FakeLLM

DAY = dt.date(2025, 6, 2)
ABSTRACT = ("We propose FastSR, a super-resolution network. It improves PSNR by 0.35 dB on Set5 and runs "
            "2.5x faster, with 23% fewer parameters.")


def _gen(data: object, finish: str = "stop") -> Generation:
    return Generation(text=data if isinstance(data, str) else json.dumps(data, ensure_ascii=False),
                      finish_reason=finish)


def _session(tmp_path, provider, **llm) -> Session:
    cfg = Config.model_validate({"llm": {"max_attempts": 4, **llm}})
    store = Store(tmp_path / "d.db")
    return Session(cfg, provider=provider, store=store, date=DAY, prompts=prompts_dir(None),
                   limiter=Limiter(10_000, 2))


def _job(tmp_path) -> Job:
    entry = Entry(paper=Paper(id="2506.00001", title="FastSR", abstract=ABSTRACT, categories=["cs.CV"]))
    return analysis_job(entry, Config(), prompts_dir(None))


@pytest.mark.parametrize("bad, reason", [
    ({"contributions": "x"}, "did not match the schema"),
    ("not json at all", "not valid JSON"),
    ('{"contributions": "截', "not valid JSON"),
    (dict(analysis(), contributions="请提供论文的具体内容"), "refusal"),
    (dict(analysis(), contributions="Please provide the full paper."), "refusal"),
    (dict(analysis(), impact="好的，作为一名研究员，我认为该方法很好。"), "filler"),
    (dict(analysis(), impact="This method improves quality substantially on benchmarks."), "not written in Chinese"),
    (dict(analysis(), limitations="  "), "empty"),
])
def test_validate_rejects_with_a_reason(bad, reason):
    with pytest.raises(InvalidOutput, match=reason):
        validate(_gen(bad), Analysis)


def test_validate_accepts_fenced_json_and_truncation_is_named():
    assert validate(_gen("```json\n" + json.dumps(analysis(), ensure_ascii=False) + "\n```"), Analysis)
    with pytest.raises(InvalidOutput, match="truncated"):
        validate(_gen(analysis(), finish="max_tokens"), Analysis)


def test_english_language_skips_the_chinese_check():
    check_text({"impact": "This improves quality."}, language="en")
    with pytest.raises(InvalidOutput):
        check_text({"impact": "This improves quality."}, language="zh")


def test_unverified_figures_only_flags_numbers_absent_from_the_source():
    ok = Analysis(**dict(analysis(), contributions="PSNR 提升 0.35 dB，速度快 2.5 倍，参数减少 23%。"))
    assert unverified_figures(ok, ABSTRACT) == []
    bad = Analysis(**dict(analysis(), contributions="PSNR 提升 1.2 dB，速度快 2.5×，参数减少 40%。"))
    assert unverified_figures(bad, ABSTRACT) == ["1.2 dB", "40%"]


def test_invented_figure_gets_one_reask_then_a_warning(tmp_path):
    invented = dict(analysis(), contributions="该方法使 PSNR 提升 9.9 dB，效果显著。")
    llm = FakeLLM([_gen(invented), _gen(invented)])
    session = _session(tmp_path, llm)
    out = session.run_one(_job(tmp_path))
    assert out.status == "ok" and len(llm.calls) == 2
    assert "9.9 dB" in llm.calls[1].prompt and "不存在" in llm.calls[1].prompt
    meta = session.store.cache_latest("2506.00001", "analysis")[1]
    assert meta["warnings"] == ["unverified_figure: 9.9 dB"]


def test_reask_until_valid_then_cache_hit(tmp_path):
    llm = FakeLLM([_gen("请提供论文"), _gen({"x": 1}), _gen(analysis())])
    session = _session(tmp_path, llm)
    job = _job(tmp_path)
    assert session.run_one(job).status == "ok"
    assert len(llm.calls) == 3
    assert "未通过校验" in llm.calls[1].prompt  # the re-ask names the reason
    again = session.run_one(_job(tmp_path))
    assert again.status == "ok" and again.cached and len(llm.calls) == 3


def test_attempts_are_bounded_and_the_failure_is_stored(tmp_path):
    llm = FakeLLM([_gen("不是 JSON")] * 4)
    session = _session(tmp_path, llm)
    out = session.run_one(_job(tmp_path))
    assert out.status == "failed" and len(llm.calls) == 4
    task = session.store.get_task(DAY, "2506.00001", "analysis")
    assert task.status == "failed" and task.attempts == 4 and task.error_kind == "invalid_output"
    assert task.last_raw == "不是 JSON"


def test_quota_exhausted_stops_everything_and_leaves_pending(tmp_path):
    llm = FakeLLM([QuotaExhausted("per day", status=429)])
    session = _session(tmp_path, llm)
    first = session.run_one(_job(tmp_path))
    assert first.status == "pending" and session.stop_reason and "quota" in session.stop_reason
    second = session.run_one(Job(key="2506.00002", template="analysis", prompt="p", schema=Analysis))
    assert second.status == "pending" and len(llm.calls) == 1
