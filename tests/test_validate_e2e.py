"""Validation end to end: the real google-genai client against the local fake Gemini server."""

from __future__ import annotations

import json
import re

from digest.cli import main
from tests.e2e_helpers import DAY, Reply, llm_server, read_digest, status_json, write_config
from tests.fakes.answers import analysis, answer_for, deep_dive, template_of

CHATTY = "请提供您希望我分析的论文内容（例如，论文的PDF文件或关键章节的文本）。"
TRICKY = {
    "contributions": "作为一个即插即用模块，该方法可以直接替换现有网络中的注意力层。",
    "innovations": "下面是该方法的核心步骤：先估计粗糙几何，再生成参考图像，最后联合优化。",
    "impact": "当然，该方法也有代价：在无法访问真值深度的条件下，它依赖多视角一致性进行自监督。",
    "applications": "现有方法无法获取成对数据，而本文的框架可用于真实场景的图像复原。",
    "limitations": "以下是作者承认的不足：作为训练目标的感知损失在极端光照下并不稳定。",
}


def test_chatty_field_is_reasked_with_its_rule_and_never_reaches_the_page(tmp_path, arxiv, key, capsys):
    def responder(req):
        kind = template_of(req.prompt)
        if "未通过校验" in req.prompt:
            return Reply(text=answer_for(req.prompt))
        if kind == "analysis_pack":
            packed = json.loads(answer_for(req.prompt))
            return Reply(
                text=json.dumps(
                    {"analyses": [dict(a, field=CHATTY) for a in packed["analyses"]]}, ensure_ascii=False
                )
            )
        if kind in ("analysis", "deep_dive"):
            return Reply(
                text=json.dumps(
                    dict(analysis() if kind == "analysis" else deep_dive(), field=CHATTY), ensure_ascii=False
                )
            )
        return Reply(text=answer_for(req.prompt))

    with llm_server(responder=responder) as llm:
        cfg = write_config(tmp_path, arxiv_url=arxiv.url, llm_url=llm.url)
        assert main(["run", "--date", DAY, "--config", str(cfg)]) == 0
        reasks = [r.prompt for r in llm.requests if "未通过校验" in r.prompt]
        # 2 packs of abstracts, 2 deep dives, the summary, and one re-ask for each of the 10 papers
        assert llm.stats.requests == 5 + 10 and len(reasks) == 10
        st = status_json(capsys, cfg)
    for prompt in reasks:
        assert "出问题的字段：field" in prompt and "不要索要材料" in prompt and CHATTY[:20] in prompt
    text = read_digest(tmp_path).text
    assert "请提供" not in text and "您" not in text
    fields = re.findall(r"^- \*\*领域：\*\* (.+)$", text, re.M)
    assert len(fields) == 10 and set(fields) == {"计算机视觉", "图像复原"}  # the re-asked, valid values
    assert st["analyses"] == {"ok": 10, "failed": 0, "pending": 0}


def test_prose_full_of_the_tricky_words_costs_one_request_per_job(tmp_path, arxiv, key):
    def responder(req):
        kind = template_of(req.prompt)
        if kind == "analysis_pack":
            packed = json.loads(answer_for(req.prompt))
            return Reply(
                text=json.dumps(
                    {"analyses": [dict(a, **TRICKY) for a in packed["analyses"]]}, ensure_ascii=False
                )
            )
        if kind == "deep_dive":
            d = deep_dive()
            d["motivation"]["pain_points"] = TRICKY["applications"]
            d["design"]["pipeline"] = TRICKY["innovations"]
            d["comparison"]["scenarios"] = TRICKY["contributions"]
            return Reply(text=json.dumps(dict(d, inspiration=TRICKY["impact"]), ensure_ascii=False))
        return Reply(text=answer_for(req.prompt))

    with llm_server(responder=responder) as llm:
        cfg = write_config(tmp_path, arxiv_url=arxiv.url, llm_url=llm.url)
        assert main(["run", "--date", DAY, "--config", str(cfg)]) == 0
        assert llm.stats.requests == 5  # 2 packs of abstracts + 2 deep dives + the summary: no re-ask
    text = read_digest(tmp_path).text
    assert text.count("在无法访问真值深度的条件下") == 10 and text.count("作为一个即插即用模块") == 10
