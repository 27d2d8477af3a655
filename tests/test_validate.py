"""validate(): structure, not word lists — short-field shapes, links, ids, meta-talk in every field."""

from __future__ import annotations

import json
import re

import pytest

from digest.analysis.validate import links_in, validate
from digest.errors import InvalidOutput
from digest.llm.base import Generation
from digest.schemas import Analysis, DeepDive, ExecutiveSummary, Rerank
from tests.fakes.answers import analysis, deep_dive, executive_summary
from tests.test_language_en import en_analysis

CJK = re.compile(r"[\u4e00-\u9fff]")


def _gen(data: object) -> Generation:
    return Generation(text=json.dumps(data, ensure_ascii=False), finish_reason="stop")


def _reject(data: object, schema=Analysis, **kw) -> InvalidOutput:
    with pytest.raises(InvalidOutput) as caught:
        validate(_gen(data), schema, **kw)
    return caught.value


def test_rule_and_evidence_follow_the_digest_language():
    exc = _reject(dict(en_analysis(), impact="Sure! It is good."), language="en")
    assert (exc.kind, exc.field) == ("filler", "impact")
    assert not CJK.search(exc.rule) and exc.evidence.startswith("Sure!")
    exc = _reject(dict(analysis(), impact="好的！该方法很好。"))
    assert (exc.kind, exc.field) == ("filler", "impact") and CJK.search(exc.rule)


@pytest.mark.parametrize(
    "value",
    [
        "请提供您希望我分析的论文内容，我将为您进行详细解读。",
        "好的，这是对论文的分析",
        "计算机视觉。",
        "图像复原，视频理解",
        "本文研究的是低照度条件下的图像增强问题以及相关的去噪方法",
        "",
    ],
)
def test_field_has_a_shape(value):
    exc = _reject(dict(analysis(), field=value))
    assert exc.field == "field" and exc.kind in {"refusal", "filler", "shape"}


@pytest.mark.parametrize("value", ["图像复原", "三维重建、SLAM", "3D Gaussian Splatting", "多模态大模型"])
def test_short_area_names_pass(value):
    assert validate(_gen(dict(analysis(), field=value)), Analysis).field == value


def test_dataset_name_is_checked_too():
    bad = dict(
        deep_dive(), datasets=[{"name": "好的，以下是我对数据集的总结：", "url": None, "purpose": "评测"}]
    )
    exc = _reject(bad, DeepDive)
    assert (exc.kind, exc.field) == ("filler", "datasets[0].name")


def test_links_not_given_by_the_paper_are_dropped_not_reasked():
    links = links_in(
        "Code is at https://github.com/foo/FastSR.",
        "Project: foo.github.io/fastsr",
        "https://github.com/Foo/fastsr",
    )
    answer = dict(
        deep_dive(),
        code_url="https://github.com/foo/FastSR/tree/main",
        datasets=[
            {"name": "Set5", "url": "https://example.org/set5", "purpose": "评测"},
            {"name": "Page", "url": "http://foo.github.io/fastsr/", "purpose": "演示"},
        ],
    )
    out = validate(_gen(answer), DeepDive, links=links)
    assert out.code_url == "https://github.com/foo/FastSR/tree/main"
    assert [d.url for d in out.datasets] == [None, "http://foo.github.io/fastsr/"]
    for invented in (
        "https://github.com/someone/else",
        "github.com/foo/FastSR",
        "请提供代码链接",
        "https://github.com",
    ):
        assert validate(_gen(dict(analysis(), code_url=invented)), Analysis, links=links).code_url is None
    assert (
        validate(_gen(dict(analysis(), code_url="https://github.com/foo/FastSR")), Analysis).code_url is None
    )


def test_ids_in_any_spelling_are_normalised_not_rejected():
    ids = ["arXiv:2506.00001v2", "https://arxiv.org/abs/2506.00002v1", "cs/0601001"]
    out = validate(_gen(executive_summary(ids[:2])), ExecutiveSummary)
    assert [p.paper_id for p in out.picks] == ["2506.00001", "2506.00002"]
    items = {"items": [{"id": i, "relevance": 5, "reason": "与读者兴趣相关。"} for i in ids]}
    assert [it.id for it in validate(_gen(items), Rerank).items] == ["2506.00001", "2506.00002", "cs/0601001"]


def test_every_language_of_the_table_has_validation_words():
    from digest.language import LANGUAGES

    kinds = {
        "refusal",
        "filler",
        "not_json",
        "schema",
        "language",
        "truncated",
    }  # `shape` quotes its leaf's rule
    for row in LANGUAGES.values():
        rules = row.validation["rules"]
        assert kinds <= set(rules) and {"figure", "field", "name", "empty", "ids"} <= set(rules)


def test_the_message_of_a_wrong_language_says_which_language_was_wanted():
    zh = _reject(
        dict(analysis(), contributions="This paper proposes a fast method that works on benchmarks.")
    )
    assert zh.kind == "language" and "English (not Chinese)" in str(zh)
    assert "Write every field in English" not in str(zh)  # what an English digest asks, not this one
    en = _reject(
        dict(en_analysis(), contributions="本文提出了一种高效的方法，在多个基准上表现良好。"), language="en"
    )
    assert en.kind == "language" and "in Chinese" in str(en)
