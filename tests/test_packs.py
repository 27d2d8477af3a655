"""Packed abstract analyses through the real google-genai client against the fake Gemini server."""

from __future__ import annotations

import datetime as dt
import json
import re
import sqlite3

from digest.analysis.build import analysis_pack
from digest.analysis.prompts import prompts_dir
from digest.analysis.session import Session
from digest.config import Config
from digest.llm import build_provider
from digest.llm.ratelimit import Limiter
from digest.models import Entry, Paper
from digest.store import Store
from tests.fakes.answers import analysis, answer_for, template_of
from tests.fakes.llm_server import FakeLLMServer, Reply

KEY = "test-key-packs-0123456789"
DAY = dt.date(2025, 6, 2)
IDS = [f"2506.0000{i}" for i in range(1, 6)]


def _entries() -> list[Entry]:
    return [
        Entry(
            paper=Paper(
                id=i,
                title=f"Paper {i}",
                abstract=f"We propose method {i} for denoising.",
                categories=["cs.CV"],
            )
        )
        for i in IDS
    ]


def _session(tmp_path, srv: FakeLLMServer, **llm: object) -> Session:
    cfg = Config.model_validate({"llm": {"base_url": srv.url, "max_attempts": 4, **llm}})
    return Session(
        cfg,
        provider=build_provider(cfg.llm, KEY),
        store=Store(tmp_path / "d.db"),
        date=DAY,
        prompts=prompts_dir(None),
        limiter=Limiter(60_000, 4),
    )


def _ids(prompt: str) -> list[str]:
    return re.findall(r"^\[(\d{4}\.\d{5})\]", prompt, re.M)


def test_one_request_carries_the_pack_and_each_answer_is_cached_alone(tmp_path):
    with FakeLLMServer(api_key=KEY, responder=lambda r: Reply(text=answer_for(r.prompt))) as srv:
        session = _session(tmp_path, srv)
        outcomes = session.run([analysis_pack(_entries(), session.cfg, session.prompts)])
        assert [o.status for o in outcomes] == ["ok"] * 5 and srv.stats.requests == 1
        assert _ids(srv.requests[0].prompt) == IDS and '"analyses"' in srv.requests[0].prompt
        again = _session(tmp_path, srv).run([analysis_pack(_entries(), session.cfg, session.prompts)])
        assert all(o.cached for o in again) and srv.stats.requests == 1  # a rerun makes no call
        # a single analysis of one member (what a re-ask sends) is answered from the same cache
        single = _session(tmp_path, srv).run(
            [analysis_pack(_entries(), session.cfg, session.prompts).members[2]]
        )
        assert single[0].cached and srv.stats.requests == 1
    with sqlite3.connect(tmp_path / "d.db") as con:
        rows = con.execute("SELECT template, papers FROM llm_calls").fetchall()
    assert rows == [("analysis_pack", json.dumps(IDS))]  # the call log says which papers the request carried


def test_invalid_or_missing_members_are_reasked_alone(tmp_path):
    def responder(req):
        if template_of(req.prompt) != "analysis_pack":
            return Reply(text=answer_for(req.prompt))
        items = [
            dict(analysis(), id=f"arXiv:{IDS[0]}v2"),  # any id spelling is accepted
            dict(analysis(), id=IDS[1], contributions="请提供论文全文，我才能分析。"),
            dict(analysis(), id=IDS[3]),
            dict(analysis(), id=IDS[4]),
            dict(analysis(), id="2506.99999"),
        ]
        return Reply(text=json.dumps({"analyses": items}, ensure_ascii=False))

    with FakeLLMServer(api_key=KEY, responder=responder) as srv:
        session = _session(tmp_path, srv)
        outcomes = session.run([analysis_pack(_entries(), session.cfg, session.prompts)])
        assert [o.status for o in outcomes] == ["ok"] * 5
        singles = srv.requests[1:]
        assert len(singles) == 2 and all(template_of(r.prompt) == "analysis" for r in singles)
        asked = sorted(_title(r.prompt) for r in singles)
        assert asked == [f"Paper {IDS[1]}", f"Paper {IDS[2]}"]  # the refusal and the missing one
        refusal = next(r for r in singles if _title(r.prompt) == f"Paper {IDS[1]}")
        missing = next(r for r in singles if _title(r.prompt) == f"Paper {IDS[2]}")
        assert "未通过校验" in refusal.prompt and "未通过校验" not in missing.prompt
        tasks = {t.key: t for t in session.store.tasks(DAY)}
        assert tasks[IDS[1]].attempts == 2 and tasks[IDS[0]].attempts == 1
        st = session.store.call_stats(DAY)
    assert st["calls"] == 3 and sum(st["errors_by_kind"].values()) == 1  # the pack's refusal is counted


def test_a_pack_answer_that_is_not_json_is_asked_once_more_as_a_pack(tmp_path):
    with FakeLLMServer(api_key=KEY, responder=lambda r: Reply(text=answer_for(r.prompt))) as srv:
        srv.script(Reply(text='{"analyses": [{"id": "2506.00001", "contri'))
        session = _session(tmp_path, srv)
        outcomes = session.run([analysis_pack(_entries()[:3], session.cfg, session.prompts)])
        assert [o.status for o in outcomes] == ["ok"] * 3 and srv.stats.requests == 2
        again = srv.requests[1].prompt
        assert template_of(again) == "analysis_pack" and "未通过校验" in again and _ids(again) == IDS[:3]


def test_a_pack_unreadable_twice_sends_every_member_alone(tmp_path):
    with FakeLLMServer(api_key=KEY, responder=lambda r: Reply(text=answer_for(r.prompt))) as srv:
        srv.script(*[Reply(text='{"analyses": [{"id": "2506.00001", "contri')] * 2)
        session = _session(tmp_path, srv)
        outcomes = session.run([analysis_pack(_entries()[:3], session.cfg, session.prompts)])
        assert [o.status for o in outcomes] == ["ok"] * 3 and srv.stats.requests == 2 + 3
        assert session.store.call_stats(DAY)["errors_by_kind"] == {"not_json": 2}


def _title(prompt: str) -> str:
    return re.search(r"标题：(.*)", prompt).group(1)


def test_three_papers_failing_the_same_way_stop_the_run(tmp_path, arxiv, key, capsys):
    from digest.cli import main
    from tests.e2e_helpers import DAY as RUN_DAY
    from tests.e2e_helpers import llm_server, read_digest, status_json, write_config

    bad = {
        "error": {
            "code": 400,
            "message": "Request contains an invalid argument.",
            "status": "INVALID_ARGUMENT",
        }
    }
    with llm_server(responder=lambda req: Reply.raw(400, bad)) as llm:
        cfg = write_config(
            tmp_path, arxiv_url=arxiv.url, llm_url=llm.url, llm__papers_per_call=1, llm__max_concurrency=1
        )
        assert main(["run", "--date", RUN_DAY, "--config", str(cfg)]) == 3
        assert (
            llm.stats.requests == 3
        )  # a bad request is not retried; the third paper's failure stops the run
    err = capsys.readouterr().err
    assert "3 papers in a row failed the same way" in err and "bad_request" in err
    st = status_json(capsys, cfg)
    assert st["analyses"] == {"ok": 0, "failed": 3, "pending": 7}
    assert st["llm"]["errors_by_kind"] == {"bad_request": 3}
    page = read_digest(tmp_path, RUN_DAY).text  # the page gives the stop's real reason, in words
    assert page.count("\n> ⏳ 分析尚未完成（接连几篇论文以同样方式失败：服务拒绝了请求，已暂停分析）") == 7
    assert "配额、预算或中断" not in page and page.count("\n> ❌ 分析失败：服务拒绝了请求") == 3


def test_english_digest_against_a_model_that_answers_in_chinese_stops_early(tmp_path, arxiv, key, capsys):
    from digest.cli import main
    from tests.e2e_helpers import DAY as RUN_DAY
    from tests.e2e_helpers import llm_server, read_digest, status_json, write_config

    with llm_server() as llm:  # the default responder answers every template in Chinese
        cfg = write_config(tmp_path, arxiv_url=arxiv.url, llm_url=llm.url, language="en")
        assert main(["run", "--date", RUN_DAY, "--config", str(cfg)]) == 3
        assert llm.stats.requests <= 15
    err = capsys.readouterr().err
    assert "answers in Chinese while `language: en`" in err
    st = status_json(capsys, cfg)
    assert st["analyses"]["ok"] == 0 and st["analyses"]["failed"] >= 3
    assert st["llm"]["errors_by_kind"]["language"] >= 3  # validation failures are counted by kind
    page = read_digest(tmp_path, RUN_DAY).text
    assert "the model kept answering in Chinese while `language: en`, so analyses were paused" in page
    assert "quota, budget or interruption" not in page
    assert "Analysis failed: the model kept answering in another language" in page
