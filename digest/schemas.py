"""Pydantic output schemas of the LLM templates; the digest renders them under fixed headings."""

from __future__ import annotations

from enum import Enum
from types import UnionType
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel, Field
from pydantic.fields import FieldInfo

from digest.models import Template
from digest.text import SafeName, SafeText

# Every string of an answer is made safe as it is parsed, and again when read back from the cache:
# prose as SafeText, names, ids and links as SafeName.


class Rule(Enum):
    """How validation treats a string of an answer; it is part of the field's type, never read from its name.

    The values of FIELD and NAME are the keys of their rules in the language tables."""

    PROSE = "prose"  # the default: no refusal or filler, not empty, in the digest's language
    OPTIONAL_PROSE = "optional_prose"  # prose that may be left empty
    ID = "id"  # normalised to the canonical arXiv id, never rejected (the job checks membership)
    LINK = "link"  # kept only when the paper itself gives the link, else dropped
    FIELD = "field"  # a short research-area name: a shape (length, no punctuation), no language check
    NAME = "name"  # a short name (a dataset's): a shape, no language check


PaperId = Annotated[SafeName, Rule.ID]
Link = Annotated[SafeName, Rule.LINK]
ResearchField = Annotated[SafeText, Rule.FIELD]
ShortName = Annotated[SafeName, Rule.NAME]
OptionalProse = Annotated[SafeText, Rule.OPTIONAL_PROSE]


def _rules_in(tp: Any) -> set[Rule]:
    """The markers in a type, through Annotated, unions and containers but not into nested models."""
    if get_origin(tp) is Annotated:
        base, *extras = get_args(tp)
        return {m for m in extras if isinstance(m, Rule)} | _rules_in(base)
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return set()  # a nested model's strings follow its own fields
    return set().union(*(_rules_in(arg) for arg in get_args(tp)))


def rule_of(field: FieldInfo) -> Rule:
    """The rule of every string a field holds (itself, or the items of its list); prose unless marked."""
    found = {m for m in field.metadata if isinstance(m, Rule)} | _rules_in(field.annotation)
    if len(found) > 1:
        raise TypeError(f"a field has two validation rules: {sorted(r.value for r in found)}")
    return found.pop() if found else Rule.PROSE


def string_rules(schema: type[BaseModel], path: str = "") -> dict[str, Rule]:
    """The rule of every string slot of a schema by JSON path, list items as `[]` ("datasets[].name")."""
    rules: dict[str, Rule] = {}
    for name, field in schema.model_fields.items():
        sub = f"{path}.{name}" if path else name
        for tp, where in _slot_types(field.annotation, sub):
            if isinstance(tp, type) and issubclass(tp, BaseModel):
                rules |= string_rules(tp, where)
            elif tp is str:
                rules[where] = rule_of(field)
    return rules


def _slot_types(tp: Any, path: str) -> list[tuple[Any, str]]:
    """(leaf type, JSON path) of what a field's type can hold: through Annotated, unions and lists."""
    origin, args = get_origin(tp), get_args(tp)
    if origin is Annotated:
        return _slot_types(args[0], path)
    if origin is list:
        return _slot_types(args[0], path + "[]")
    if origin in (Union, UnionType):
        return [slot for arg in args for slot in _slot_types(arg, path)]
    return [(tp, path)]


class Dataset(BaseModel):
    name: ShortName
    url: Link | None = None
    purpose: OptionalProse = ""  # 用途


class SurveyTags(BaseModel):
    """Tags the cumulative survey table needs; shared by analysis and deep dive."""

    field: ResearchField  # 领域
    code_url: Link | None = None  # 代码链接, only when stated in the paper
    innovation_points: list[SafeText] = Field(default_factory=list)  # 创新点
    weaknesses: list[SafeText] = Field(default_factory=list)  # 不足点


class Analysis(SurveyTags):
    """Abstract-based analysis (template `analysis`)."""

    contributions: SafeText  # 主要贡献 (2-3 句)
    innovations: SafeText  # 关键创新与方法
    impact: SafeText  # 潜在影响
    applications: SafeText  # 相关领域与应用
    limitations: SafeText  # 局限性
    one_line: SafeText  # 一句话总结


class PackedAnalysis(Analysis):
    """One paper's analysis inside a pack, keyed by its arXiv id."""

    id: PaperId


class AnalysisPack(BaseModel):
    """Several abstract analyses in one answer (template `analysis_pack`); each is validated alone."""

    analyses: list[PackedAnalysis]


class Motivation(BaseModel):
    driver: SafeText  # 驱动力
    pain_points: SafeText  # 现有痛点
    hypothesis: SafeText  # 研究假设


class Design(BaseModel):
    pipeline: SafeText  # 流程
    architecture: SafeText  # 模型结构
    algorithm: SafeText  # 算法解释


class Comparison(BaseModel):
    difference: SafeText  # 本质区别
    contribution: SafeText  # 创新贡献
    scenarios: SafeText  # 适用场景


class Experiments(BaseModel):
    validation: SafeText  # 验证方法
    key_results: SafeText  # 关键结果
    strengths: SafeText  # 优势场景
    limitations: SafeText  # 局限


class Practical(BaseModel):
    open_source: SafeText  # 开源情况
    implementation: SafeText  # 实现细节
    transfer: SafeText  # 迁移可能


class DeepSummary(BaseModel):
    core_idea: SafeText  # 核心思想 (<= 20 字)
    quick_pipeline: list[SafeText] = Field(min_length=3, max_length=5)  # 速记版 pipeline


class DeepDive(SurveyTags):
    """Full-text deep dive (template `deep_dive`)."""

    abstract_zh: SafeText  # 摘要翻译
    motivation: Motivation
    design: Design
    comparison: Comparison
    experiments: Experiments
    practical: Practical
    summary: DeepSummary
    inspiration: SafeText  # 对我的启发
    datasets: list[Dataset] = Field(default_factory=list)  # 数据集


class Pick(BaseModel):
    paper_id: PaperId
    reason: SafeText
    audience: SafeText  # for whom


class ExecutiveSummary(BaseModel):
    """One call over all analysed papers (template `executive_summary`)."""

    themes: list[SafeText] = Field(min_length=1)  # 主要主题与趋势
    highlights: list[SafeText] = Field(min_length=1)  # 亮点与创新
    directions: list[SafeText] = Field(min_length=1)  # 新兴研究方向
    picks: list[Pick] = Field(min_length=1)  # 建议精读


class RerankItem(BaseModel):
    id: PaperId
    relevance: float = Field(ge=0, le=10)
    reason: SafeText


class Rerank(BaseModel):
    """Batched relevance judgement (template `rerank`)."""

    items: list[RerankItem]


SUMMARY_TEMPLATE = Template.SUMMARY


def summary_key(date: str) -> str:
    """Task and cache key of a date's executive summary (one per date)."""
    return f"summary:{date}"


SCHEMAS: dict[str, type[BaseModel]] = {
    "analysis": Analysis,
    "analysis_pack": AnalysisPack,
    "deep_dive": DeepDive,
    "executive_summary": ExecutiveSummary,
    "rerank": Rerank,
}
