"""Validation and the re-ask loop, with a FakeLLM behind the real Session (no HTTP)."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest

from digest.analysis.build import analysis_job
from digest.analysis.prompts import prompts_dir
from digest.analysis.session import Job, Session
from digest.analysis.validate import check_text, unverified_figures, validate
from digest.config import Config
from digest.errors import InvalidOutput, QuotaExhausted
from digest.llm.base import Generation
from digest.llm.ratelimit import Limiter
from digest.models import Entry, Paper
from digest.schemas import Analysis
from digest.store import Store
from tests.fakes.answers import analysis
from tests.fakes.fake_llm import FakeLLM

DAY = dt.date(2025, 6, 2)
CJK = re.compile(r"[\u4e00-\u9fff]")
ABSTRACT = (
    "We propose FastSR, a super-resolution network. It improves PSNR by 0.35 dB on Set5 and runs "
    "2.5x faster, with 23% fewer parameters."
)


def _gen(data: object, finish: str = "stop") -> Generation:
    return Generation(
        text=data if isinstance(data, str) else json.dumps(data, ensure_ascii=False), finish_reason=finish
    )


def _session(tmp_path, provider, **llm) -> Session:
    cfg = Config.model_validate({"llm": {"max_attempts": 4, **llm}})
    store = Store(tmp_path / "d.db")
    return Session(
        cfg, provider=provider, store=store, date=DAY, prompts=prompts_dir(None), limiter=Limiter(10_000, 2)
    )


def _job(tmp_path) -> Job:
    entry = Entry(paper=Paper(id="2506.00001", title="FastSR", abstract=ABSTRACT, categories=["cs.CV"]))
    return analysis_job(entry, Config(), prompts_dir(None))


@pytest.mark.parametrize(
    "bad, kind, field",
    [
        ({"contributions": "x"}, "schema", "field"),
        ("not json at all", "not_json", ""),
        ('{"contributions": "截', "not_json", ""),
        (dict(analysis(), contributions="请提供论文的具体内容"), "refusal", "contributions"),
        (dict(analysis(), contributions="Please provide the full paper."), "refusal", "contributions"),
        (dict(analysis(), impact="好的，作为一名研究员，我认为该方法很好。"), "filler", "impact"),
        (
            dict(analysis(), impact="This method improves quality substantially on benchmarks."),
            "language",
            "impact",
        ),
        (dict(analysis(), limitations="  "), "shape", "limitations"),
        (dict(analysis(), field="请提供您希望我分析的论文内容"), "refusal", "field"),
        (
            dict(analysis(), innovation_points=["好的，以下是我对创新点的总结"]),
            "filler",
            "innovation_points[0]",
        ),
    ],
)
def test_validate_rejects_with_kind_field_rule_and_evidence(bad, kind, field):
    with pytest.raises(InvalidOutput) as caught:
        validate(_gen(bad), Analysis)
    exc = caught.value
    assert (exc.kind, exc.field) == (kind, field)
    assert exc.rule and CJK.search(exc.rule)  # the rule is said in the digest's language
    assert exc.raw is not None and len(exc.evidence) <= 61


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
    assert "9.9 dB" in llm.calls[1].prompt and "摘要中出现过的数字" in llm.calls[1].prompt
    meta = session.store.cache_latest("2506.00001", "analysis")[1]
    assert meta["warnings"] == [{"kind": "unverified_figure", "figures": ["9.9 dB"]}]


def test_figure_reask_is_in_english_when_the_digest_is(tmp_path):
    from tests.test_language_en import en_analysis

    invented = dict(en_analysis(), contributions="It improves PSNR by 9.9 dB on Set5.")
    llm = FakeLLM([_gen(invented), _gen(en_analysis())])
    cfg = Config.model_validate({"language": "en", "llm": {"max_attempts": 4}})
    session = Session(
        cfg,
        provider=llm,
        store=Store(tmp_path / "d.db"),
        date=DAY,
        prompts=prompts_dir(None, language="en"),
        limiter=Limiter(10_000, 2),
    )
    entry = Entry(paper=Paper(id="2506.00001", title="FastSR", abstract=ABSTRACT, categories=["cs.CV"]))
    assert session.run_one(analysis_job(entry, cfg, prompts_dir(None, language="en"))).status == "ok"
    reask = llm.calls[1].prompt
    assert "9.9 dB" in reask and "appear in the paper's abstract" in reask and not CJK.search(reask)


def test_reask_until_valid_then_cache_hit(tmp_path):
    llm = FakeLLM([_gen("请提供论文"), _gen({"x": 1}), _gen(analysis())])
    session = _session(tmp_path, llm)
    job = _job(tmp_path)
    assert session.run_one(job).status == "ok"
    assert len(llm.calls) == 3
    assert (
        "未通过校验" in llm.calls[1].prompt and "「请提供论文」" in llm.calls[1].prompt
    )  # quotes the evidence
    assert "违反的规则：只输出一个 JSON 对象" in llm.calls[1].prompt
    assert "出问题的字段：field" in llm.calls[2].prompt  # names the field
    again = session.run_one(_job(tmp_path))
    assert again.status == "ok" and again.cached and len(llm.calls) == 3


def test_attempts_are_bounded_and_the_failure_is_stored(tmp_path):
    llm = FakeLLM([_gen("不是 JSON")] * 4)
    session = _session(tmp_path, llm)
    out = session.run_one(_job(tmp_path))
    # the same rejection three times in a row: the re-ask is not helping, the fourth attempt is saved
    assert out.status == "failed" and len(llm.calls) == 3
    task = session.store.get_task(DAY, "2506.00001", "analysis")
    assert task.status == "failed" and task.attempts == 3 and task.error_kind == "not_json"
    assert task.last_raw == "不是 JSON"
    assert session.store.call_stats(DAY)["errors_by_kind"] == {"not_json": 3}


def test_quota_exhausted_stops_everything_and_leaves_pending(tmp_path):
    llm = FakeLLM([QuotaExhausted("per day", status=429)])
    session = _session(tmp_path, llm)
    first = session.run_one(_job(tmp_path))
    assert first.status == "pending" and session.stop_reason and "quota" in session.stop_reason
    second = session.run_one(Job(key="2506.00002", template="analysis", prompt="p", schema=Analysis))
    assert second.status == "pending" and len(llm.calls) == 1
