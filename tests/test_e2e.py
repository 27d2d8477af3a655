"""The whole `digest` command against local fake arXiv, RSS, HF and Gemini servers."""

from __future__ import annotations

import datetime as dt
import json
import re
from zoneinfo import ZoneInfo

import pytest

from digest.cli import main
from digest.store import Store
from tests.e2e_helpers import (
    DAY,
    KEY,
    KEY_ENV,
    Reply,
    llm_server,
    read_digest,
    status_json,
    write_config,
)
from tests.helpers_sources import LATE, OLDER_CROSS, day_records


def expected_ids() -> set[str]:
    return {r["id"] for r in day_records() if r["id"] != LATE}


def test_metadata_only_digest_holds_exactly_the_announcement(tmp_path, arxiv, no_key, capsys):
    cfg = write_config(tmp_path, arxiv_url=arxiv.url)
    assert main(["run", "--date", DAY, "--config", str(cfg)]) == 0
    assert f"{KEY_ENV} is not set" in capsys.readouterr().err  # the operator's hint: stderr, not the page
    d = read_digest(tmp_path)
    listed = set(__import__("re").findall(r"https://arxiv\.org/abs/(\d{4}\.\d{5})", d.text))
    assert expected_ids() <= listed
    assert LATE not in listed
    assert OLDER_CROSS in listed  # only the RSS feed knew this cross-list
    # every TOC link resolves to an anchor, anchors unique
    assert d.toc_targets and set(d.toc_targets) <= d.anchors
    assert len(d.sections()) == len(set(d.sections()))
    assert KEY_ENV not in d.text and "本期未生成 AI 分析" in d.text
    assert "分析暂缺" not in d.text
    st = status_json(capsys, cfg)
    assert st["papers"]["total"] >= len(expected_ids())
    assert st["papers"]["cross_lists"] > 0
    assert st["llm"]["calls"] == 0 and st["complete"] is True


def test_full_run_makes_five_calls_and_rerun_none(tmp_path, arxiv, key, capsys):
    with llm_server() as llm:
        cfg = write_config(tmp_path, arxiv_url=arxiv.url, llm_url=llm.url)
        assert main(["run", "--date", DAY, "--config", str(cfg)]) == 0
        assert llm.stats.requests == 5  # 2 packs of abstracts (5 + 3) + 2 deep dives + 1 summary
        pdf_parts = [r for r in llm.requests if r.attachments]
        assert len(pdf_parts) == 2  # deep dives carry the PDF
        first = read_digest(tmp_path).text
        assert main(["run", "--date", DAY, "--config", str(cfg)]) == 0
        assert llm.stats.requests == 5  # the rerun is served from the cache
        st = status_json(capsys, cfg)
    text = read_digest(tmp_path).text
    assert text == first
    assert text.index("执行摘要") < text.index("今日精选")
    for heading in (
        "主要贡献",
        "关键创新与方法",
        "潜在影响",
        "相关领域与应用",
        "局限性",
        "一句话总结",
        "摘要翻译",
        "方法动机",
        "实验分析",
        "对我的启发",
    ):
        assert heading in text
    assert "分析暂缺" not in text and KEY not in text
    assert KEY.encode() not in (tmp_path / "output" / "digest.db").read_bytes()
    assert KEY not in capsys.readouterr().err
    assert st["analyses"] == {"ok": 10, "failed": 0, "pending": 0}
    assert st["summary"] == "ok" and st["complete"] is True
    assert st["llm"]["calls"] == 5
    assert st["llm"]["tokens_in"] == llm.stats.tokens_in and st["llm"]["tokens_out"] == llm.stats.tokens_out


def test_flaky_model_still_yields_clean_analyses(tmp_path, arxiv, key):
    from tests.fakes.answers import answer_for

    bad = iter(
        [
            Reply.server_error(503),
            Reply(text="请提供论文的具体内容，我才能分析。"),
            Reply(text='{"contributions": "截断'),
            Reply(text=answer_for("x"), finish="max_tokens"),
            Reply(text=json.dumps({"contributions": "好的，作为一名专家，我认为……"}, ensure_ascii=False)),
        ]
    )
    counter = {"n": 0}

    def responder(req):
        counter["n"] += 1
        if counter["n"] % 2 == 0:
            nxt = next(bad, None)
            if nxt is not None:
                return nxt
        return Reply(text=answer_for(req.prompt))

    with llm_server(responder=responder) as llm:
        cfg = write_config(tmp_path, arxiv_url=arxiv.url, llm_url=llm.url)
        assert main(["run", "--date", DAY, "--config", str(cfg)]) == 0
    text = read_digest(tmp_path).text
    for poison in ("请提供", "好的，", "作为一名", "RESOURCE_EXHAUSTED", "Traceback", "分析暂缺", "截断"):
        assert poison not in text


def test_per_day_quota_exit_3_then_retry_completes(tmp_path, arxiv, key, capsys):
    with llm_server(per_day=3, api_key=KEY) as llm:
        cfg = write_config(
            tmp_path, arxiv_url=arxiv.url, llm_url=llm.url, llm__max_concurrency=1, llm__papers_per_call=3
        )
        assert main(["run", "--date", DAY, "--config", str(cfg)]) == 3
        assert llm.stats.quota_exhausted == 1  # stopped at the first PerDay 429: no further call
        assert llm.stats.requests == 4  # three packs of 3 + 3 + 2, then the first deep dive is refused
        text = read_digest(tmp_path).text
        assert text.count("> ⏳ 分析尚未完成") == 2 and "自动重试" not in text
        assert "RESOURCE_EXHAUSTED" not in text and not re.search(
            r"(?<!\d)429(?!\d)", text
        )  # a port may hold 429
        st = status_json(capsys, cfg)
        assert st["analyses"] == {"ok": 8, "failed": 0, "pending": 2} and st["complete"] is False
        llm.per_day = None
        llm.reset()
        store = Store(tmp_path / "output" / "digest.db")
        store.set_quota_resets_at(dt.datetime.now(dt.UTC))  # the quota's midnight has come
        store.close()
        assert main(["retry", "--date", DAY, "--config", str(cfg)]) == 0
        assert llm.stats.requests == 3  # the 2 missing deep dives + the summary
        asked = {r.prompt for r in llm.requests}
    assert len(asked) == 3
    text = read_digest(tmp_path).text
    assert "分析暂缺" not in text and "执行摘要" in text


def test_invalid_key_exit_2_after_one_call(tmp_path, arxiv, monkeypatch, capsys):
    monkeypatch.setenv(KEY_ENV, "wrong-key-456")
    with llm_server() as llm:
        cfg = write_config(tmp_path, arxiv_url=arxiv.url, llm_url=llm.url)
        code = main(["run", "--date", DAY, "--config", str(cfg)])
        assert llm.stats.requests == 1
    err = capsys.readouterr().err
    assert code == 2
    assert KEY_ENV in err and "wrong-key-456" not in err
    assert "Traceback" not in err
    assert [ln for ln in err.splitlines() if ln.startswith("digest: error:")] == [
        err.strip().splitlines()[-1]
    ]


def test_malformed_atom_exits_1_and_keeps_earlier_digest(tmp_path, arxiv, no_key, capsys):
    cfg = write_config(tmp_path, arxiv_url=arxiv.url)
    out = tmp_path / "output"
    out.mkdir()
    earlier = out / f"{DAY}.md"
    earlier.write_text("earlier digest\n", encoding="utf-8")
    arxiv.services.malformed_api = True
    assert main(["run", "--date", DAY, "--config", str(cfg)]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "malformed" in err.lower()
    assert earlier.read_text(encoding="utf-8") == "earlier digest\n"


def test_hf_500_gives_arxiv_only_digest_that_says_so(tmp_path, arxiv, no_key, capsys):
    arxiv.services.hf_status = 500
    cfg = write_config(tmp_path, arxiv_url=arxiv.url)
    assert main(["run", "--date", DAY, "--config", str(cfg)]) == 0
    assert "HuggingFace daily papers unavailable" in capsys.readouterr().err
    text = read_digest(tmp_path).text
    assert "HuggingFace" in text and "不可用" in text


def test_saturday_writes_nothing_and_says_so(tmp_path, arxiv, no_key, capsys):
    cfg = write_config(tmp_path, arxiv_url=arxiv.url)
    assert main(["run", "--date", "2025-06-07", "--config", str(cfg)]) == 0
    out = capsys.readouterr().out
    assert "no arXiv announcement" in out
    assert not (tmp_path / "output" / "2025-06-07.md").exists()
    assert not arxiv.services.requests("api")  # nothing to ask arXiv for


def test_bad_config_key_exit_2_names_the_key(tmp_path, capsys):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("llm:\n  modle: x\n", encoding="utf-8")
    assert main(["run", "--config", str(cfg)]) == 2
    err = capsys.readouterr().err
    assert "llm.modle" in err and str(cfg) in err and "Traceback" not in err


def test_unquoted_schedule_time_is_rejected(tmp_path, capsys):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("schedule:\n  time: 10:30\n", encoding="utf-8")
    assert main(["status", "--config", str(cfg)]) == 2
    assert "schedule.time" in capsys.readouterr().err


def test_openai_compatible_provider_end_to_end(tmp_path, arxiv, key, capsys):
    with llm_server() as llm:
        cfg = write_config(
            tmp_path,
            arxiv_url=arxiv.url,
            llm__provider="openai",
            llm__model="deepseek-chat",
            llm__base_url=llm.openai_url,
        )
        assert main(["run", "--date", DAY, "--config", str(cfg)]) == 0
        assert llm.stats.requests == 5
        assert all(r.protocol == "openai" for r in llm.requests)
        assert main(["run", "--date", DAY, "--config", str(cfg)]) == 0
        assert llm.stats.requests == 5
    text = read_digest(tmp_path).text
    assert "主要贡献" in text and "分析暂缺" not in text and "deepseek-chat" in text


def test_openai_quota_gone_exit_3(tmp_path, arxiv, key):
    with llm_server(per_day=3) as llm:
        cfg = write_config(
            tmp_path,
            arxiv_url=arxiv.url,
            llm__provider="openai",
            llm__model="deepseek-chat",
            llm__base_url=llm.openai_url,
            llm__max_concurrency=1,
        )
        assert main(["run", "--date", DAY, "--config", str(cfg)]) == 3
        assert llm.stats.quota_exhausted == 1 and llm.stats.requests == 4  # 2 packs, 1 deep dive, refused
    assert read_digest(tmp_path).text.count("> ⏳ 分析尚未完成") == 1


def test_unusable_pdf_falls_back_to_the_abstract_and_says_so(tmp_path, arxiv, key):
    arxiv.services.pdf_broken = True
    with llm_server() as llm:
        cfg = write_config(tmp_path, arxiv_url=arxiv.url, llm_url=llm.url)
        assert main(["run", "--date", DAY, "--config", str(cfg)]) == 0
        assert llm.stats.requests == 5
        assert not any(r.attachments for r in llm.requests)
        arxiv.services.pdf_broken = False  # the PDF is back: the stored abstract-based answer is kept
        assert main(["run", "--date", DAY, "--config", str(cfg)]) == 0
        assert main(["retry", "--date", DAY, "--config", str(cfg)]) == 0
        assert llm.stats.requests == 5
    text = read_digest(tmp_path).text
    assert text.count("深度解读（基于摘要）") >= 1 and "深度解读（全文）" not in text


def test_a_date_not_yet_announced_stores_nothing(tmp_path, arxiv, no_key, capsys):
    # Tomorrow in Shanghai: its announcement (if any) is released tomorrow morning there, after now.
    tomorrow = (dt.datetime.now(ZoneInfo("Asia/Shanghai")).date() + dt.timedelta(days=1)).isoformat()
    cfg = write_config(tmp_path, arxiv_url=arxiv.url)
    assert main(["run", "--date", tomorrow, "--config", str(cfg)]) == 0
    out = capsys.readouterr().out
    assert "run after that" in out or "no arXiv announcement" in out
    assert not (tmp_path / "output" / f"{tomorrow}.md").exists()
    assert status_json(capsys, cfg, tomorrow)["papers"]["total"] == 0


def test_status_counts_match_the_server_under_429_and_5xx(tmp_path, arxiv, key, capsys):
    with llm_server() as llm:
        llm.script(Reply.rate_limited(retry_s=0.2), Reply.server_error(503))
        cfg = write_config(tmp_path, arxiv_url=arxiv.url, llm_url=llm.url)
        assert main(["run", "--date", DAY, "--config", str(cfg)]) == 0
        st = status_json(capsys, cfg)
        assert st["llm"]["calls"] == llm.stats.requests == 7
        assert st["llm"]["errors_by_kind"] == {"rate_limited": 1, "transient": 1}
        assert (
            st["llm"]["tokens_in"] == llm.stats.tokens_in and st["llm"]["tokens_out"] == llm.stats.tokens_out
        )
        assert st["llm"]["est_cost_usd"] > 0


def test_config_that_is_not_a_file_exits_2(tmp_path, capsys):
    assert main(["run", "--config", str(tmp_path)]) == 2
    assert "cannot read the config file" in capsys.readouterr().err


def test_rerun_after_hf_outage_picks_up_hf(tmp_path, arxiv, no_key):
    arxiv.services.hf_status = 500
    cfg = write_config(tmp_path, arxiv_url=arxiv.url)
    assert main(["run", "--date", DAY, "--config", str(cfg)]) == 0
    assert "不可用" in read_digest(tmp_path).text
    arxiv.services.hf_status = None
    assert main(["run", "--date", DAY, "--config", str(cfg)]) == 0
    text = read_digest(tmp_path).text
    assert "不可用" not in text and "🔥" in text


def test_missing_named_config_exits_2_but_no_config_at_all_uses_defaults(tmp_path, monkeypatch, capsys):
    from digest.config import load_config

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DIGEST_CONFIG", raising=False)
    assert load_config(None).llm.model == "gemini-2.5-flash"
    assert main(["status", "--config", str(tmp_path / "nope.yaml")]) == 2
    assert "config file not found" in capsys.readouterr().err
    monkeypatch.setenv("DIGEST_CONFIG", str(tmp_path / "gone.yaml"))
    assert main(["status"]) == 2


def test_invented_figure_is_reasked_once_then_flagged_in_digest_and_status(tmp_path, arxiv, key, capsys):
    from tests.fakes.answers import analysis, answer_for, template_of

    def responder(req):
        invented = dict(analysis(), contributions="该方法将 PSNR 提升了 97.31 dB。")
        if template_of(req.prompt) == "analysis":
            return Reply(text=json.dumps(invented, ensure_ascii=False))
        if template_of(req.prompt) == "analysis_pack":
            ids = re.findall(r"^\[(\d{4}\.\d{5})\]", req.prompt, re.M)
            return Reply(
                text=json.dumps({"analyses": [dict(invented, id=i) for i in ids]}, ensure_ascii=False)
            )
        return Reply(text=answer_for(req.prompt))

    with llm_server(responder=responder) as llm:
        cfg = write_config(tmp_path, arxiv_url=arxiv.url, llm_url=llm.url)
        assert main(["run", "--date", DAY, "--config", str(cfg)]) == 0
        assert (
            llm.stats.requests == 2 + 8 + 2 + 1
        )  # 2 packs, one re-ask alone per analysis, none for deep dives
        st = status_json(capsys, cfg)
    figures = [w for w in st["warnings"] if w["kind"] == "unverified_figure"]
    assert len(figures) == 8 and "97.31 dB" in figures[0]["warning"] and figures[0]["figures"]
    text = read_digest(tmp_path).text
    assert text.count("未在摘要中找到") == 8


@pytest.mark.parametrize("order", ["before", "after"])
def test_config_option_before_or_after_the_command(tmp_path, capsys, order):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("timezone: Mars/Olympus\n", encoding="utf-8")
    argv = ["--config", str(cfg), "status"] if order == "before" else ["status", "--config", str(cfg)]
    assert main(argv) == 2
    assert "Mars/Olympus" in capsys.readouterr().err
