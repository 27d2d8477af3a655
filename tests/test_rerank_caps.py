"""Batched LLM rerank and budget caps, end to end against the fake servers."""

from __future__ import annotations

import json
import math
import re

import pytest

from digest.cli import main
from tests.e2e_helpers import (
    DAY,
    Reply,
    llm_server,
    read_digest,
    write_config,
)
from tests.fakes.answers import answer_for, rerank, template_of

pytestmark = pytest.mark.usefixtures("key")


def test_rerank_of_m_papers_uses_ceil_m_over_40_calls_and_survives_bad_ids(tmp_path, arxiv):
    seen = {"rerank": 0}

    def responder(req):
        if template_of(req.prompt) != "rerank":
            return Reply(text=answer_for(req.prompt))
        seen["rerank"] += 1
        ids = re.findall(r"^\[(\d{4}\.\d{4,5})\]", req.prompt, re.M)
        items = rerank(ids)["items"]
        if seen["rerank"] == 1:  # first reply drops one id and repeats another
            items = items[1:] + items[-1:]
        return Reply(text=json.dumps({"items": items}, ensure_ascii=False))

    with llm_server(responder=responder) as llm:
        cfg = write_config(
            tmp_path, arxiv_url=arxiv.url, llm_url=llm.url, scoring__llm_rerank=True, scoring__rerank_top=70
        )
        assert main(["run", "--date", DAY, "--config", str(cfg)]) == 0
        reranks = [r for r in llm.requests if template_of(r.prompt) == "rerank"]
        assert len(reranks) == math.ceil(70 / 40)  # the bad reply is survived without a re-ask
        before = llm.stats.requests
        assert main(["run", "--date", DAY, "--config", str(cfg)]) == 0
        assert llm.stats.requests == before  # rerank answers are cached too
    text = read_digest(tmp_path).text
    assert "LLM 相关性" in text


def test_rerank_reply_missing_most_ids_is_reasked(tmp_path, arxiv):
    state = {"n": 0}

    def responder(req):
        if template_of(req.prompt) != "rerank":
            return Reply(text=answer_for(req.prompt))
        state["n"] += 1
        ids = re.findall(r"^\[(\d{4}\.\d{4,5})\]", req.prompt, re.M)
        items = rerank(ids)["items"][: (3 if state["n"] == 1 else None)]
        return Reply(text=json.dumps({"items": items}, ensure_ascii=False))

    with llm_server(responder=responder) as llm:
        cfg = write_config(
            tmp_path, arxiv_url=arxiv.url, llm_url=llm.url, scoring__llm_rerank=True, scoring__rerank_top=30
        )
        assert main(["run", "--date", DAY, "--config", str(cfg)]) == 0
        reranks = [r for r in llm.requests if template_of(r.prompt) == "rerank"]
    assert len(reranks) == 2 and "每个编号恰好出现一次" in reranks[1].prompt


@pytest.mark.parametrize("concurrency", [1, 4])
def test_max_calls_per_run_stops_and_leaves_the_rest_pending(tmp_path, arxiv, capsys, concurrency):
    with llm_server(latency=0.05) as llm:
        cfg = write_config(
            tmp_path,
            arxiv_url=arxiv.url,
            llm_url=llm.url,
            llm__max_calls_per_run=3,
            llm__max_concurrency=concurrency,
            llm__papers_per_call=1,
        )
        assert main(["run", "--date", DAY, "--config", str(cfg)]) == 3
        assert llm.stats.requests == 3
    captured = capsys.readouterr()
    assert "llm.max_calls_per_run" in captured.err
    assert read_digest(tmp_path).text.count("> ⏳ 分析尚未完成") == 7


def test_max_cost_per_day_stops_before_overspending(tmp_path, arxiv, capsys):
    with llm_server() as llm:
        cfg = write_config(
            tmp_path,
            arxiv_url=arxiv.url,
            llm_url=llm.url,
            llm__max_cost_usd_per_day=1e-9,
            llm__max_concurrency=1,
        )
        assert main(["run", "--date", DAY, "--config", str(cfg)]) == 3
        assert llm.stats.requests == 1  # the first call's tokens reach the cap
    assert "llm.max_cost_usd_per_day" in capsys.readouterr().err
