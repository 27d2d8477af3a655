"""Pydantic output schemas of the LLM templates; the digest renders them under fixed headings."""

from __future__ import annotations

from pydantic import BaseModel, Field

from digest.text import SafeName, SafeText

# Every string of an answer is made safe as it is parsed, and again when read back from the cache:
# prose as SafeText, names, ids and links as SafeName.


class Dataset(BaseModel):
    name: SafeName
    url: SafeName | None = None
    purpose: SafeText = ""  # 用途


class SurveyTags(BaseModel):
    """Tags the cumulative survey table needs; shared by analysis and deep dive."""

    field: SafeText  # 领域
    code_url: SafeName | None = None  # 代码链接, only when stated in the paper
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

    id: str


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
    paper_id: SafeName
    reason: SafeText
    audience: SafeText  # for whom


class ExecutiveSummary(BaseModel):
    """One call over all analysed papers (template `executive_summary`)."""

    themes: list[SafeText] = Field(min_length=1)  # 主要主题与趋势
    highlights: list[SafeText] = Field(min_length=1)  # 亮点与创新
    directions: list[SafeText] = Field(min_length=1)  # 新兴研究方向
    picks: list[Pick] = Field(min_length=1)  # 建议精读


class RerankItem(BaseModel):
    id: SafeName
    relevance: float = Field(ge=0, le=10)
    reason: SafeText


class Rerank(BaseModel):
    """Batched relevance judgement (template `rerank`)."""

    items: list[RerankItem]


SUMMARY_TEMPLATE = "executive_summary"


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
