"""Answers a real model sends that are not the bare JSON asked for, through the CLI and google-genai.

A recorded day not used elsewhere (2025-06-04, 10 picks: two packs of four, two deep dives, the summary).
"""

from __future__ import annotations

import json

import pytest

from digest.cli import main
from tests.e2e_helpers import LocalServer, Reply, llm_server, multi_day_services, read_digest, write_config
from tests.fakes.answers import answer_for, template_of

DAY = "2025-06-04"
PLAIN_REQUESTS = 5  # what the day costs when every answer is read at once


def _run(tmp_path, responder) -> tuple[int, int, str]:
    with LocalServer(multi_day_services([DAY])) as server, llm_server(responder=responder) as llm:
        cfg = write_config(tmp_path, arxiv_url=server.url, llm_url=llm.url)
        code = main(["run", "--date", DAY, "--config", str(cfg)])
        requests = llm.stats.requests
    return code, requests, read_digest(tmp_path, DAY).text


def _preamble(req):
    return Reply(text="好的，以下是分析结果：\n" + answer_for(req.prompt) + "\n希望对您有帮助。")


def _preamble_and_fence(req):
    return Reply(text="Here is the JSON:\n```json\n" + answer_for(req.prompt) + "\n```")


def _raw_controls(req):
    # Raw (unescaped) ESC, bidi override and tab inside JSON strings: strict JSON forbids them.
    return Reply(text=answer_for(req.prompt).replace("。", "。\x1b[31m\u202e\t", 1))


@pytest.mark.parametrize("responder", [_preamble, _preamble_and_fence, _raw_controls])
def test_a_readable_answer_around_the_json_is_used_not_reasked(tmp_path, key, responder):
    code, requests, text = _run(tmp_path, responder)
    assert code == 0 and requests == PLAIN_REQUESTS
    assert "AI 解读 10/10 篇" in text.splitlines()[2]
    assert "以下是分析结果" not in text and "帮助" not in text and "\x1b" not in text and "\u202e" not in text


def _packs_keyed_by_id(req):
    if template_of(req.prompt) != "analysis_pack":
        return Reply(text=answer_for(req.prompt))
    items = json.loads(answer_for(req.prompt))["analyses"]
    # the papers as an object keyed by their ids, each spelt another way
    return {"analyses": {f"arXiv:{a.pop('id')}v2": a for a in items}}


def test_a_pack_answer_keyed_by_id_is_read_without_asking_each_paper_again(tmp_path, key):
    code, requests, text = _run(tmp_path, _packs_keyed_by_id)
    assert code == 0 and requests == PLAIN_REQUESTS
    assert "AI 解读 10/10 篇" in text.splitlines()[2]
