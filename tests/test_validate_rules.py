"""Validation rules belong to a field's type (PaperId, Link, ResearchField, ShortName, OptionalProse), not to
its name: a renamed field keeps its rule, and a field that merely shares an old name gets none."""

from __future__ import annotations

import json
import re
from typing import Annotated

import pytest
from pydantic import BaseModel, Field

from digest.analysis.validate import check_text, unverified_figures, validate
from digest.errors import InvalidOutput
from digest.llm.base import Generation
from digest.schemas import (
    SCHEMAS,
    Link,
    OptionalProse,
    PaperId,
    ResearchField,
    Rule,
    ShortName,
    rule_of,
    string_rules,
)
from digest.text import SafeText
from tests.fakes.answers import analysis, deep_dive, executive_summary, rerank

PROSE = "本文提出了一种高效的图像复原方法，在多个基准上取得了领先效果。"
LINKS = {"github.com/foo/fastsr"}


class Resource(BaseModel):
    title: ShortName
    home: Link | None = None
    note: OptionalProse = ""


class Renamed(BaseModel):
    """Each rule under a name the old name lists never knew."""

    ident: PaperId
    area: ShortName
    topic: ResearchField
    repo_link: Link | None = None
    mirrors: list[Link] = Field(default_factory=list)
    remark: OptionalProse = ""
    summary: SafeText
    resources: list[Resource] = Field(default_factory=list)


class OldNames(BaseModel):
    """The old names on plain prose: a name alone no longer picks a rule."""

    name: SafeText
    url: SafeText
    id: SafeText
    purpose: SafeText = ""


def _gen(data: object) -> Generation:
    return Generation(text=json.dumps(data, ensure_ascii=False), finish_reason="stop")


def _renamed(**changes) -> dict:
    return dict(
        {"ident": "arXiv:2506.00001v2", "area": "Set5", "topic": "图像复原", "summary": PROSE}, **changes
    )


def _reject(data: object, schema: type[BaseModel], **kw) -> InvalidOutput:
    with pytest.raises(InvalidOutput) as caught:
        validate(_gen(data), schema, **kw)
    return caught.value


def test_a_renamed_link_is_dropped_unless_the_paper_gives_it():
    answer = _renamed(
        repo_link="https://github.com/someone/else",
        mirrors=["https://github.com/foo/FastSR/tree/main", "https://example.org/invented"],
        resources=[{"title": "FastSR", "home": "https://example.org/x"}],
    )
    out = validate(_gen(answer), Renamed, links=LINKS)
    assert out.repo_link is None and out.mirrors == ["https://github.com/foo/FastSR/tree/main", None]
    assert out.resources[0].home is None
    kept = validate(_gen(_renamed(repo_link="https://github.com/foo/FastSR")), Renamed, links=LINKS)
    assert kept.repo_link == "https://github.com/foo/FastSR"


def test_a_renamed_id_is_normalised_and_never_checked_as_prose():
    assert validate(_gen(_renamed()), Renamed).ident == "2506.00001"
    assert validate(_gen(_renamed(ident="not an id")), Renamed).ident == "not an id"


@pytest.mark.parametrize(
    ("field", "value", "kind", "rule"),
    [
        ("area", "好的，以下是我对数据集的总结：", "filler", None),
        ("area", "这是一个非常长的名字。", "shape", "name"),
        ("area", "", "shape", "empty"),
        ("topic", "图像复原，视频理解", "shape", "field"),
        ("topic", "本文研究的是低照度条件下的图像增强问题以及相关的去噪方法", "shape", "field"),
    ],
)
def test_renamed_short_names_get_the_shape_check(field, value, kind, rule):
    exc = _reject(_renamed(**{field: value}), Renamed)
    assert (exc.kind, exc.field) == (kind, field)
    if rule is not None:
        from digest.language import LANGUAGES

        assert exc.rule == LANGUAGES["zh"].validation["rules"][rule]


def test_renamed_short_names_have_no_language_check_and_optional_prose_may_be_empty():
    # Prose in a Chinese digest needs Chinese; a short name is a name in any script.
    out = validate(_gen(_renamed(area="3D Gaussian Splatting", topic="NeRF", remark="")), Renamed)
    assert (out.area, out.topic, out.remark) == ("3D Gaussian Splatting", "NeRF", "")
    validate(_gen(_renamed(resources=[{"title": "ImageNet", "note": ""}])), Renamed)
    exc = _reject(_renamed(remark="This is English prose."), Renamed)
    assert (exc.kind, exc.field) == ("language", "remark")
    exc = _reject(_renamed(resources=[{"title": "ImageNet", "note": "Sure! Here it is."}]), Renamed)
    assert (exc.kind, exc.field) == ("filler", "resources[0].note")


def test_old_names_on_plain_prose_are_prose():
    answer = {"name": "3D Gaussian Splatting", "url": PROSE, "id": PROSE, "purpose": PROSE}
    exc = _reject(answer, OldNames)
    assert (exc.kind, exc.field) == ("language", "name")
    invented = dict(answer, name=PROSE, url="https://example.org/invented", id="2506.00001")
    assert _reject(invented, OldNames).field == "url"  # checked as prose, not dropped as a link
    exc = _reject(dict(answer, name=PROSE, purpose=""), OldNames)
    assert (exc.kind, exc.field, exc.evidence) == ("shape", "purpose", "")


def test_check_text_reads_a_models_rules_and_treats_plain_data_as_prose():
    model = Renamed.model_validate(_renamed(area="3D Gaussian Splatting"))
    check_text(model)
    with pytest.raises(InvalidOutput) as caught:
        check_text(model.model_dump())
    assert (caught.value.kind, caught.value.field) == ("language", "ident")


def test_figures_are_looked_for_in_prose_only_whatever_the_field_is_called():
    model = Renamed.model_validate(
        _renamed(area="Set14 2.5x", topic="4K 视频", summary="速度提升 3.5 倍。", remark="精度提升 12%。")
    )
    assert unverified_figures(model, "") == ["12%", "3.5 倍"]


def test_two_rules_on_one_field_are_a_schema_error():
    class Both(BaseModel):
        link: Annotated[Link, Rule.NAME]

    with pytest.raises(TypeError, match="two validation rules"):
        rule_of(Both.model_fields["link"])


# What each current schema's strings are, by type. Every path not listed is prose.
EXPECTED = {
    "analysis": {"field": Rule.FIELD, "code_url": Rule.LINK},
    "analysis_pack": {
        "analyses[].id": Rule.ID,
        "analyses[].field": Rule.FIELD,
        "analyses[].code_url": Rule.LINK,
    },
    "deep_dive": {
        "field": Rule.FIELD,
        "code_url": Rule.LINK,
        "datasets[].name": Rule.NAME,
        "datasets[].url": Rule.LINK,
        "datasets[].purpose": Rule.OPTIONAL_PROSE,
    },
    "executive_summary": {"picks[].paper_id": Rule.ID},
    "rerank": {"items[].id": Rule.ID},
}
IDS = ["2506.00001", "2506.00002"]
ANSWERS = {
    "analysis": analysis(),
    "analysis_pack": {"analyses": [dict(analysis(), id=i) for i in IDS]},
    "deep_dive": deep_dive(),
    "executive_summary": executive_summary(IDS),
    "rerank": rerank(IDS),
}


def _string_paths(data: object, path: str = "") -> set[str]:
    if isinstance(data, dict):
        return set().union(*(_string_paths(v, f"{path}.{k}" if path else k) for k, v in data.items()))
    if isinstance(data, list):
        return set().union(*(_string_paths(v, f"{path}[]") for v in data))
    return {path} if isinstance(data, str) or data is None else set()


def test_every_schema_string_has_a_rule_from_its_type():
    assert set(EXPECTED) == set(SCHEMAS) == set(ANSWERS)
    for template, schema in SCHEMAS.items():
        rules = string_rules(schema)
        assert all(isinstance(rule, Rule) for rule in rules.values())
        assert {p: r for p, r in rules.items() if r is not Rule.PROSE} == EXPECTED[template], template
        # The type walk finds every string slot a full answer fills (None: an optional link left empty).
        assert _string_paths(ANSWERS[template]) == set(rules), template


def test_the_old_name_lists_and_the_types_agree_on_the_current_schemas():
    """The rules were chosen by name before; the types give every current field the same one."""
    by_name = {"paper_id": Rule.ID, "id": Rule.ID, "code_url": Rule.LINK, "url": Rule.LINK}
    by_name |= {"field": Rule.FIELD, "name": Rule.NAME, "purpose": Rule.OPTIONAL_PROSE}
    for schema in SCHEMAS.values():
        for path, rule in string_rules(schema).items():
            leaf = re.sub(r"\[\]$", "", path).rsplit(".", 1)[-1]
            assert by_name.get(leaf, Rule.PROSE) is rule, path
