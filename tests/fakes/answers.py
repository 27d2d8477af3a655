"""Valid Chinese answers for each prompt template, built from what the prompt says (for fake LLMs)."""

from __future__ import annotations

import json
import re

_ID = re.compile(r"^\[(\d{4}\.\d{4,5})\]", re.M)


def template_of(prompt: str) -> str:
    """Which prompts/*.j2 template produced this prompt."""
    if "请逐篇分析" in prompt or "Analyse them one by one" in prompt:
        return "analysis_pack"
    if "深度解读" in prompt:
        return "deep_dive"
    if "执行摘要" in prompt:
        return "executive_summary"
    if "相关性" in prompt:
        return "rerank"
    return "analysis"


def analysis(title: str = "该论文") -> dict:
    return {
        "contributions": f"本文针对{title}提出了一种新的视觉方法，并在多个基准上验证了其有效性。",
        "innovations": "核心创新在于将结构先验与生成模型结合，以较小的代价提升重建质量。",
        "impact": "该方法有望降低相关任务的部署成本，推动实际应用落地。",
        "applications": "适用于图像复原、视频理解以及机器人感知等场景。",
        "limitations": "摘要未报告在极端条件下的表现，泛化能力仍有待验证。",
        "one_line": "一种高效且易于迁移的视觉新方法。",
        "field": "计算机视觉",
        "code_url": None,
        "innovation_points": ["结合结构先验与生成模型", "训练代价较低"],
        "weaknesses": ["缺少极端条件下的实验"],
    }


def deep_dive() -> dict:
    return {
        "abstract_zh": "本文提出一种新的视觉方法，在多个数据集上取得了领先的效果。",
        "motivation": {
            "driver": "现有方法计算量大。",
            "pain_points": "难以在端侧部署。",
            "hypothesis": "结构先验可以减少所需的计算。",
        },
        "design": {
            "pipeline": "先编码图像，再融合先验，最后解码输出。",
            "architecture": "编码器与解码器结构。",
            "algorithm": "通过交替优化求解目标函数。",
        },
        "comparison": {
            "difference": "与已有方法相比引入了显式先验。",
            "contribution": "提出了新的融合模块。",
            "scenarios": "适合资源受限的场景。",
        },
        "experiments": {
            "validation": "在公开基准上进行对比实验。",
            "key_results": "在主要指标上优于基线。",
            "strengths": "在低光照场景中优势明显。",
            "limitations": "高分辨率输入时速度下降。",
        },
        "practical": {
            "open_source": "作者承诺开源代码。",
            "implementation": "基于常见深度学习框架实现。",
            "transfer": "可以迁移到视频任务。",
        },
        "summary": {
            "core_idea": "先验引导的高效重建",
            "quick_pipeline": ["编码图像", "融合先验", "解码输出"],
        },
        "inspiration": "可以把显式先验引入自己的复原模型中。",
        "datasets": [{"name": "ImageNet", "url": None, "purpose": "预训练"}],
        "field": "图像复原",
        "code_url": None,
        "innovation_points": ["显式先验融合"],
        "weaknesses": ["高分辨率下速度较慢"],
    }


def executive_summary(ids: list[str]) -> dict:
    return {
        "themes": ["生成模型持续向复原任务渗透。", "多模态理解成为热点。"],
        "highlights": ["多篇论文在效率与质量之间取得了更好的平衡。"],
        "directions": ["端侧部署的高效视觉模型。"],
        "picks": [
            {"paper_id": i, "reason": "方法新颖且实验充分。", "audience": "关注图像复原的研究者"}
            for i in ids[:2]
        ],
    }


def rerank(ids: list[str]) -> dict:
    return {
        "items": [
            {"id": i, "relevance": (len(i) * 7 + int(i[-1])) % 11, "reason": "与读者兴趣相关。"} for i in ids
        ]
    }


def answer_for(prompt: str) -> str:
    """A valid JSON answer (text) for the template that produced the prompt."""
    kind = template_of(prompt)
    ids = _ID.findall(prompt)
    data = {"analysis": analysis, "deep_dive": deep_dive}.get(kind)
    if data is not None:
        return json.dumps(data(), ensure_ascii=False)
    if kind == "analysis_pack":
        return json.dumps({"analyses": [dict(analysis(), id=i) for i in ids]}, ensure_ascii=False)
    if kind == "executive_summary":
        return json.dumps(executive_summary(ids), ensure_ascii=False)
    return json.dumps(rerank(ids), ensure_ascii=False)
