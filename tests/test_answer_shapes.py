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
    assert "[31m" not in text  # a terminal colour code goes whole, not only its ESC


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


def _shaped(shape):
    def responder(req):
        return Reply(text=shape(template_of(req.prompt), answer_for(req.prompt)))

    return responder


def _top_level_keyed_by_id(kind: str, text: str) -> str:
    if kind != "analysis_pack":
        return text
    items = json.loads(text)["analyses"]
    return json.dumps({item.pop("id"): item for item in items}, ensure_ascii=False)


def _bracketed_ids(kind: str, text: str) -> str:
    # the prompts list each paper as "[ID] title": a model echoes the brackets
    data = json.loads(text)
    for item in data.get("analyses", []):
        item["id"] = f"[{item['id']}]"
    for pick in data.get("picks", []):
        pick["paper_id"] = f"[{pick['paper_id']}]"
    return json.dumps(data, ensure_ascii=False)


SHAPES = {
    "tilde fence": lambda kind, text: f"~~~json\n{text}\n~~~",
    "raw newlines in strings": lambda kind, text: (
        json.dumps(json.loads(text), ensure_ascii=False, indent=1).replace("。", "。\\n").replace("\\n", "\n")
    ),
    "pack keyed by id at the top": _top_level_keyed_by_id,
    "ids in brackets": _bracketed_ids,
}


@pytest.mark.parametrize("shape", list(SHAPES))
def test_other_shapes_real_models_write_are_read_without_a_reask(tmp_path, key, shape):
    code, requests, text = _run(tmp_path, _shaped(SHAPES[shape]))
    assert code == 0 and requests == PLAIN_REQUESTS
    assert "AI 解读 10/10 篇" in text.splitlines()[2] and "建议精读" in text
