"""A second model simulator, written apart from answers.py: it reads a prompt the way a model does (which
JSON keys it asks for, which papers it lists) and answers with the habits real models show.

Habits (each off by default): packs answered as a bare list or as an object keyed by id; ids written as
`arXiv:ID`, `IDv2` or abs/pdf URLs; one paper left out or one repeated; the JSON wrapped in a ```json fence
and/or preceded by a chatty opening; seed filler or refusals planted in chosen fields; control characters;
English prose or Chinese prose whatever the prompt's language. The prose itself is legitimate analysis full
of the words a word list mistakes for meta-talk ("无法访问", "作为一个…框架", "当然，", "下面是…").

    model = HeldOutModel(pack_shape="keyed", id_style="arxiv", wrap="fence+preamble")
    with FakeLLMServer(responder=model) as srv: ...
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from tests.fakes.llm_server import FakeRequest, Reply

# `[2506.01234] Title` lines of the pack, summary and rerank prompts.
_LISTED = re.compile(r"^\[(?P<id>[^\]\s]+)\]\s*(?P<title>.+)$", re.M)
_TITLE = re.compile(r"^(?:标题|Title)[:：]\s*(?P<title>.+)$", re.M)
_LINK = re.compile(
    r"https?://(?:www\.)?github\.com/[\w.-]+/[\w.-]+|https?://[\w-]+\.github\.io/[\w./-]*", re.I
)

PREAMBLE = "好的，以下是对这几篇论文的结构化分析：\n"
EN_PREAMBLE = "Sure! Here is the structured analysis you asked for:\n"

ZH_PROSE = {
    "contributions": "作为一个即插即用模块，{t}可以直接嵌入现有网络。现有方法无法获取成对数据，本文用自监督信号弥补了这一缺口。",
    "innovations": "在无法访问真值深度的条件下，方法仍能借助多视角几何一致性完成训练；作为一种通用框架，它不依赖特定骨干网络。",
    "impact": "当然，该方法对部署成本的降低同样值得关注，它让端侧设备也能运行高质量的视觉模型。",
    "applications": "下面是几个典型场景：自动驾驶感知、医学影像分析与机器人抓取。",
    "limitations": "作者没有讨论传感器无法获取清晰图像时的表现，请读者在极端天气场景中谨慎使用其结论。",
    "one_line": "一种在缺少标注时仍能稳定训练的视觉新方法。",
    "field": "三维视觉",
    "innovation_points": ["以几何一致性替代真值监督", "作为通用模块可插入多种骨干网络"],
    "weaknesses": ["未报告恶劣天气下的表现"],
}
EN_PROSE = {
    "contributions": "As a plug-in module, {t} drops into existing networks. Existing methods cannot obtain paired "
    "data, and the paper fills that gap with a self-supervised signal.",
    "innovations": "Without access to ground-truth depth, the method still trains from multi-view geometric "
    "consistency; as a general framework it does not depend on a particular backbone.",
    "impact": "Of course, lower deployment cost matters as much: the model runs on edge devices.",
    "applications": "Here the natural settings are autonomous-driving perception, medical imaging and robotic grasping.",
    "limitations": "The authors do not discuss what happens when the sensor cannot capture a clear image.",
    "one_line": "A vision method that trains stably without labels.",
    "field": "3D vision",
    "innovation_points": [
        "Geometric consistency replaces ground-truth supervision",
        "A general module for many backbones",
    ],
    "weaknesses": ["No results in bad weather"],
}


@dataclass
class HeldOutModel:
    """A FakeLLMServer responder with configurable habits; `asked` counts prompts by kind."""

    pack_shape: str = (
        "object"  # object {"analyses": [...]} | list [...] | keyed {id: {...}} | renamed {"results": [...]}
    )
    id_style: str = "plain"  # plain | arxiv (arXiv:ID) | version (IDv2) | abs (abs URL) | pdf (pdf URL)
    wrap: str = ""  # "" | fence | preamble | fence+preamble
    preamble: str = ""  # the opening the "preamble" wrap writes (default: PREAMBLE or EN_PREAMBLE)
    drop_one: bool = False  # a pack answer leaves out its last paper
    duplicate_one: bool = False  # a pack answer repeats its first paper (second copy differs)
    plant: dict[str, str] = field(default_factory=dict)  # field -> text replacing it in every paper answer
    plant_in_packs_only: bool = False  # planted text only in pack answers (a single re-ask answers cleanly)
    plant_first_only: bool = False  # planted text only in the first paper of a pack answer
    language: str = "zh"  # the language the prose is written in, whatever the prompt asks
    control_chars: bool = False  # put control characters and a bidi override into the prose
    invent_links: bool = True  # a code_url is given for every paper (the abstract's, or an invented one)
    envelope: str = ""  # a key every answer is wrapped in ({"analysis": {...}}, as json_object models do)
    asked: dict[str, int] = field(default_factory=dict)

    def __call__(self, req: FakeRequest) -> Reply:
        prompt = _asked(req.prompt)
        kind = self.kind(prompt)
        self.asked[kind] = self.asked.get(kind, 0) + 1
        if kind == "pack":
            data: Any = self._pack(prompt)
        elif kind == "deep_dive":
            data = self._deep_dive(prompt)
        elif kind == "summary":
            data = self._summary(prompt)
        elif kind == "rerank":
            data = {
                "items": [
                    {"id": self._id(i), "relevance": 5, "reason": self._prose()["one_line"]}
                    for i, _ in _LISTED.findall(prompt)
                ]
            }
        else:
            data = self._paper(_title(prompt), _links(prompt), packed=False)
        if self.envelope:
            data = {self.envelope: data}
        return Reply(text=self._wrap(json.dumps(data, ensure_ascii=False, indent=1)))

    @staticmethod
    def kind(prompt: str) -> str:
        """Which answer the prompt asks for, from the JSON keys it names."""
        if '"analyses"' in prompt:
            return "pack"
        if '"abstract_zh"' in prompt:
            return "deep_dive"
        if '"themes"' in prompt:
            return "summary"
        if '"relevance"' in prompt:
            return "rerank"
        return "analysis"

    # -- answers ---------------------------------------------------------------------------------

    def _prose(self) -> dict[str, Any]:
        return ZH_PROSE if self.language == "zh" else EN_PROSE

    def _paper(self, title: str, links: list[str], *, packed: bool) -> dict[str, Any]:
        short = title.split(":")[0][:40]
        out = {k: (v.format(t=short) if isinstance(v, str) else list(v)) for k, v in self._prose().items()}
        if self.control_chars:
            out["contributions"] = "\u202e" + out["contributions"] + "\x07\x1b[31m"
            out["one_line"] = out["one_line"] + "\u0000"
        out["code_url"] = (
            links[0]
            if links
            else (f"https://github.com/someone/{short.replace(' ', '-')}" if self.invent_links else None)
        )
        if self.plant and (packed or not (self.plant_in_packs_only or self.plant_first_only)):
            for key, text in self.plant.items():
                out[key] = [text] if isinstance(out.get(key), list) else text
        return out

    def _pack(self, prompt: str) -> Any:
        papers = _pack_papers(prompt)
        if self.drop_one and len(papers) > 1:
            papers = papers[:-1]
        items = [
            (pid, self._paper(title, links, packed=not self.plant_first_only or i == 0))
            for i, (pid, title, links) in enumerate(papers)
        ]
        if self.duplicate_one and items:
            twin = dict(items[0][1], one_line=self._prose()["one_line"] + "（重复）")
            items.insert(1, (items[0][0], twin))
        if self.pack_shape == "keyed":
            return {self._id(pid): body for pid, body in items}
        listed = [dict(body, id=self._id(pid)) for pid, body in items]
        return {"list": listed, "renamed": {"results": listed}}.get(self.pack_shape, {"analyses": listed})

    def _deep_dive(self, prompt: str) -> dict[str, Any]:
        base = self._paper(_title(prompt), _links(prompt), packed=False)
        p = self._prose()
        two = {
            "driver": p["contributions"].format(t="该方法"),
            "pain_points": p["limitations"],
            "hypothesis": p["innovations"],
        }
        return {
            "abstract_zh": p["contributions"].format(t="该方法"),
            "motivation": two,
            "design": {
                "pipeline": p["innovations"],
                "architecture": p["applications"],
                "algorithm": p["impact"],
            },
            "comparison": {
                "difference": p["innovations"],
                "contribution": p["contributions"].format(t="该方法"),
                "scenarios": p["applications"],
            },
            "experiments": {
                "validation": p["impact"],
                "key_results": p["one_line"],
                "strengths": p["applications"],
                "limitations": p["limitations"],
            },
            "practical": {
                "open_source": p["impact"],
                "implementation": p["innovations"],
                "transfer": p["applications"],
            },
            "summary": {
                "core_idea": p["field"],
                "quick_pipeline": list(p["innovation_points"]) + [p["field"]],
            },
            "inspiration": p["impact"],
            "datasets": [
                {"name": "KITTI", "url": "https://www.cvlibs.net/datasets/kitti/", "purpose": p["one_line"]}
            ],
            **{k: base[k] for k in ("field", "code_url", "innovation_points", "weaknesses")},
        }

    def _summary(self, prompt: str) -> dict[str, Any]:
        ids = [i for i, _ in _LISTED.findall(prompt)]
        p = self._prose()
        return {
            "themes": [p["innovations"]],
            "highlights": [p["impact"]],
            "directions": [p["applications"]],
            "picks": [
                {"paper_id": self._id(i), "reason": p["one_line"], "audience": p["field"]} for i in ids[:2]
            ],
        }

    def _id(self, pid: str) -> str:
        return {
            "plain": pid,
            "arxiv": f"arXiv:{pid}",
            "version": f"{pid}v2",
            "abs": f"https://arxiv.org/abs/{pid}v1",
            "pdf": f"https://arxiv.org/pdf/{pid}",
        }[self.id_style]

    def _wrap(self, text: str) -> str:
        if "fence" in self.wrap:
            text = f"```json\n{text}\n```"
        if "preamble" in self.wrap:
            text = (self.preamble or (PREAMBLE if self.language == "zh" else EN_PREAMBLE)) + text
        return text


def _asked(prompt: str) -> str:
    """The request without a re-ask's note (which quotes the previous answer, keys and all)."""
    return re.split(r"\n(?:注意：你上一次的回答|Note: your previous answer)", prompt, maxsplit=1)[0]


def _title(prompt: str) -> str:
    m = _TITLE.search(prompt)
    return m["title"].strip() if m else "该论文"


def _links(text: str) -> list[str]:
    return [m.group(0).rstrip(".,;)") for m in _LINK.finditer(text)]


def _pack_papers(prompt: str) -> list[tuple[str, str, list[str]]]:
    """(id, title, links in its block) of every paper a pack prompt lists."""
    marks = list(_LISTED.finditer(prompt))
    out = []
    for i, m in enumerate(marks):
        end = marks[i + 1].start() if i + 1 < len(marks) else len(prompt)
        out.append((m["id"], m["title"].strip(), _links(prompt[m.end() : end])))
    return out
