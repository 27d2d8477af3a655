"""Pydantic output schemas of the LLM templates; the digest renders them under fixed headings."""

from __future__ import annotations

from pydantic import BaseModel, Field


class Dataset(BaseModel):
    name: str
    url: str | None = None
    purpose: str = ""  # 用途


class SurveyTags(BaseModel):
    """Tags the cumulative survey table needs; shared by analysis and deep dive."""

    field: str  # 领域
    code_url: str | None = None  # 代码链接, only when stated in the paper
    innovation_points: list[str] = Field(default_factory=list)  # 创新点
    weaknesses: list[str] = Field(default_factory=list)  # 不足点


class Analysis(SurveyTags):
    """Abstract-based analysis (template `analysis`)."""

    contributions: str  # 主要贡献 (2-3 句)
    innovations: str  # 关键创新与方法
    impact: str  # 潜在影响
    applications: str  # 相关领域与应用
    limitations: str  # 局限性
    one_line: str  # 一句话总结


class Motivation(BaseModel):
    driver: str  # 驱动力
    pain_points: str  # 现有痛点
    hypothesis: str  # 研究假设


class Design(BaseModel):
    pipeline: str  # 流程
    architecture: str  # 模型结构
    algorithm: str  # 算法解释


class Comparison(BaseModel):
    difference: str  # 本质区别
    contribution: str  # 创新贡献
    scenarios: str  # 适用场景


class Experiments(BaseModel):
    validation: str  # 验证方法
    key_results: str  # 关键结果
    strengths: str  # 优势场景
    limitations: str  # 局限


class Practical(BaseModel):
    open_source: str  # 开源情况
    implementation: str  # 实现细节
    transfer: str  # 迁移可能


class DeepSummary(BaseModel):
    core_idea: str  # 核心思想 (<= 20 字)
    quick_pipeline: list[str] = Field(min_length=3, max_length=5)  # 速记版 pipeline


class DeepDive(SurveyTags):
    """Full-text deep dive (template `deep_dive`)."""

    abstract_zh: str  # 摘要翻译
    motivation: Motivation
    design: Design
    comparison: Comparison
    experiments: Experiments
    practical: Practical
    summary: DeepSummary
    inspiration: str  # 对我的启发
    datasets: list[Dataset] = Field(default_factory=list)  # 数据集


class Pick(BaseModel):
    paper_id: str
    reason: str
    audience: str  # for whom


class ExecutiveSummary(BaseModel):
    """One call over all analysed papers (template `executive_summary`)."""

    themes: list[str] = Field(min_length=1)  # 主要主题与趋势
    highlights: list[str] = Field(min_length=1)  # 亮点与创新
    directions: list[str] = Field(min_length=1)  # 新兴研究方向
    picks: list[Pick] = Field(min_length=1)  # 建议精读


class RerankItem(BaseModel):
    id: str
    relevance: float = Field(ge=0, le=10)
    reason: str


class Rerank(BaseModel):
    """Batched relevance judgement (template `rerank`)."""

    items: list[RerankItem]


SCHEMAS: dict[str, type[BaseModel]] = {
    "analysis": Analysis,
    "deep_dive": DeepDive,
    "executive_summary": ExecutiveSummary,
    "rerank": Rerank,
}
