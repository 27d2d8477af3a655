"""Corpus tests: every filler opening and refusal of the seed digests is caught in any field; legitimate
prose full of the tricky words (无法访问, 作为一个, 当然, 下面是, of course, cannot access …) passes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from digest.analysis.build import summary_job
from digest.analysis.prompts import prompts_dir
from digest.analysis.validate import validate
from digest.config import Config
from digest.errors import InvalidOutput
from digest.llm.base import Generation
from digest.models import Paper
from digest.schemas import Analysis, DeepDive, ExecutiveSummary
from tests.fakes.answers import analysis, deep_dive, executive_summary
from tests.test_language_en import en_analysis, en_deep_dive

CORPUS = Path(__file__).parent / "fixtures" / "validation_corpus"


def _lines(name: str) -> list[str]:
    text = (CORPUS / name).read_text(encoding="utf-8")
    return [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]


META = {"zh": _lines("zh_meta.txt"), "en": _lines("en_meta.txt")}
CONTENT = {"zh": _lines("zh_content.txt"), "en": _lines("en_content.txt")}
BASE = {"zh": (analysis, deep_dive), "en": (en_analysis, en_deep_dive)}


def _gen(data: object) -> Generation:
    return Generation(text=json.dumps(data, ensure_ascii=False), finish_reason="stop")


def _placements(language: str, text: str) -> dict[str, tuple[type, dict]]:
    """The answer with `text` in a prose field, a list item and each short field."""
    a, d = BASE[language]
    return {
        "impact": (Analysis, dict(a(), impact=text)),
        "innovation_points[0]": (Analysis, dict(a(), innovation_points=[text])),
        "field": (Analysis, dict(a(), field=text)),
        "datasets[0].name": (DeepDive, dict(d(), datasets=[{"name": text, "url": None, "purpose": ""}])),
        "summary.core_idea": (DeepDive, dict(d(), summary=dict(d()["summary"], core_idea=text))),
        "picks[0].audience": (
            ExecutiveSummary,
            dict(
                _summary(language),
                picks=[
                    {"paper_id": "2506.00001", "reason": _summary(language)["themes"][0], "audience": text}
                ],
            ),
        ),
    }


def _summary(language: str) -> dict:
    if language == "zh":
        return executive_summary(["2506.00001"])
    line = "Generative models keep moving into restoration."
    return {
        "themes": [line],
        "highlights": [line],
        "directions": [line],
        "picks": [{"paper_id": "2506.00001", "reason": line, "audience": "restoration researchers"}],
    }


def test_the_corpus_is_big_enough():
    assert len(CONTENT["zh"]) >= 200 and len(CONTENT["en"]) >= 100
    assert len(META["zh"]) >= 29 and len(META["en"]) >= 30


@pytest.mark.parametrize("language", ["zh", "en"])
@pytest.mark.parametrize("meta_language", ["zh", "en"])
def test_every_filler_and_refusal_is_caught_in_every_field(language, meta_language):
    missed = []
    for text in META[meta_language]:
        for field, (schema, data) in _placements(language, text).items():
            try:
                validate(_gen(data), schema, language=language)
            except InvalidOutput as exc:
                if exc.kind in {"refusal", "filler"} and exc.field == field and exc.evidence:
                    continue
            missed.append((field, text))
    assert missed == []


@pytest.mark.parametrize("language", ["zh", "en"])
def test_meta_talk_in_a_link_or_an_id_never_reaches_the_page(language):
    cfg = Config.model_validate({"language": language})
    papers = [(Paper(id="2506.00001", title="T"), Analysis.model_validate(analysis()))]
    job = summary_job("2025-06-02", papers, cfg, prompts_dir(None, language=language))
    for text in META["zh"] + META["en"]:
        out = validate(_gen(dict(analysis(), code_url=text)), Analysis, links={"github.com/foo/bar"})
        assert out.code_url is None
        picks = [
            {"paper_id": text, "reason": "方法新颖。", "audience": "研究者"},
            {"paper_id": "2506.00001", "reason": "方法新颖。", "audience": "研究者"},
        ]
        summary = validate(_gen(dict(executive_summary([]), picks=picks)), ExecutiveSummary)
        job.check(summary)
        assert [p.paper_id for p in summary.picks] == ["2506.00001"]


@pytest.mark.parametrize("language", ["zh", "en"])
def test_legitimate_prose_with_the_tricky_words_passes(language):
    analysis_of = BASE[language][0]
    rejected = []
    for text in CONTENT[language]:
        for field in ("contributions", "limitations"):
            try:
                validate(_gen(dict(analysis_of(), **{field: text})), Analysis, language=language)
            except InvalidOutput as exc:
                rejected.append((text, exc.kind, exc.evidence))
    assert rejected == []


@pytest.mark.parametrize("language", ["zh", "en"])
def test_meta_talk_after_a_content_sentence_is_caught_and_paragraphs_of_content_pass(language):
    analysis_of = BASE[language][0]
    lead = "本文提出了一种新的视觉方法。" if language == "zh" else "The paper proposes a new vision method. "
    missed = []
    for text in META[language]:
        try:
            validate(_gen(dict(analysis_of(), impact=lead + text)), Analysis, language=language)
            missed.append(text)
        except InvalidOutput as exc:
            if exc.kind not in {"refusal", "filler"}:
                missed.append(text)
    assert missed == []
    content = CONTENT[language]
    joiner = "" if language == "zh" else " "
    for i in range(0, len(content), 4):  # paragraphs of four legitimate sentences
        validate(
            _gen(dict(analysis_of(), impact=joiner.join(content[i : i + 4]))), Analysis, language=language
        )
