"""`language: en`: English prompts, validation, digest scaffolding, archive and an end-to-end run."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jinja2
import jinja2.meta
import pytest

from digest.analysis.build import (
    analysis_job,
    analysis_pack,
    deep_dive_job,
    interests_text,
    rerank_job,
    summary_job,
)
from digest.analysis.prompts import SHIPPED_DIR, prompts_dir, render_prompt
from digest.analysis.validate import check_text
from digest.config import Config
from digest.day.state import DayState, PaperResult
from digest.errors import InvalidOutput
from digest.language.labels import LABELS
from digest.models import Entry, Paper, PaperWarning, Reason, Scored
from digest.page.render import render_digest
from digest.schemas import (
    Analysis,
    Comparison,
    Dataset,
    DeepDive,
    DeepSummary,
    Design,
    ExecutiveSummary,
    Experiments,
    Motivation,
    Pick,
    Practical,
)
from tests.e2e_helpers import (
    DAY,
    KEY,
    KEY_ENV,
    LocalServer,
    Reply,
    llm_server,
    read_digest,
    services,
    write_config,
)
from tests.test_render import full_view

CJK = re.compile(r"[\u4e00-\u9fff\u3000-\u303f\uff00-\uffef]")  # ideographs and CJK/full-width punctuation
_ID = re.compile(r"^\[(\d{4}\.\d{4,5})\]", re.M)  # paper ids as the summary and rerank prompts list them
TEMPLATES = ("analysis", "analysis_pack", "deep_dive", "executive_summary", "rerank", "reask")


# ---------------------------------------------------------------- English answers for the fake LLM


def en_template_of(prompt: str) -> str:
    """Which prompts/en/*.j2 template produced this prompt."""
    if "Analyse them one by one" in prompt:
        return "analysis_pack"
    if "deep dive" in prompt:
        return "deep_dive"
    if "executive summary" in prompt:
        return "executive_summary"
    if "relevance score" in prompt:
        return "rerank"
    return "analysis"


def en_analysis() -> dict:
    return {
        "contributions": "The paper proposes a new vision method and validates it on several public benchmarks.",
        "innovations": "It combines a structural prior with a generative model to improve reconstruction cheaply.",
        "impact": "The method could lower the deployment cost of related tasks.",
        "applications": "Image restoration, video understanding and robot perception.",
        "limitations": "The abstract does not report behaviour under extreme conditions.",
        "one_line": "An efficient vision method that transfers easily.",
        "field": "computer vision",
        "code_url": None,
        "innovation_points": ["Combines a structural prior with a generative model"],
        "weaknesses": ["No experiments under extreme conditions"],
    }


def en_deep_dive() -> dict:
    return {
        "abstract_zh": "The paper presents a new vision method that leads on several datasets.",
        "motivation": {
            "driver": "Existing methods are expensive.",
            "pain_points": "They are hard to run on devices.",
            "hypothesis": "A structural prior reduces the computation needed.",
        },
        "design": {
            "pipeline": "Encode the image, fuse the prior, decode the output.",
            "architecture": "An encoder-decoder network.",
            "algorithm": "Alternating optimisation.",
        },
        "comparison": {
            "difference": "It adds an explicit prior.",
            "contribution": "A new fusion module.",
            "scenarios": "Resource-constrained settings.",
        },
        "experiments": {
            "validation": "Comparisons on public benchmarks.",
            "key_results": "It beats the baselines.",
            "strengths": "Low-light scenes.",
            "limitations": "Slower on high-resolution inputs.",
        },
        "practical": {
            "open_source": "The authors promise to release code.",
            "implementation": "Built on a common deep-learning framework.",
            "transfer": "It could carry over to video tasks.",
        },
        "summary": {
            "core_idea": "Prior-guided efficient reconstruction",
            "quick_pipeline": ["Encode the image", "Fuse the prior", "Decode the output"],
        },
        "inspiration": "Try adding an explicit prior to my own restoration model.",
        "datasets": [{"name": "ImageNet", "url": None, "purpose": "pre-training"}],
        "field": "image restoration",
        "code_url": None,
        "innovation_points": ["Explicit prior fusion"],
        "weaknesses": ["Slow at high resolution"],
    }


def en_summary(ids: list[str]) -> dict:
    return {
        "themes": ["Generative models keep moving into restoration tasks."],
        "highlights": ["Several papers balance efficiency and quality better."],
        "directions": ["Efficient vision models for devices."],
        "picks": [
            {
                "paper_id": i,
                "reason": "A novel method with thorough experiments.",
                "audience": "researchers in image restoration",
            }
            for i in ids[:2]
        ],
    }


def en_answer_for(prompt: str) -> str:
    """A valid English JSON answer for the template that produced the prompt."""
    kind = en_template_of(prompt)
    ids = _ID.findall(prompt)
    if kind == "analysis":
        data: dict = en_analysis()
    elif kind == "analysis_pack":
        data = {"analyses": [dict(en_analysis(), id=i) for i in ids]}
    elif kind == "deep_dive":
        data = en_deep_dive()
    elif kind == "executive_summary":
        data = en_summary(ids)
    else:
        data = {
            "items": [{"id": i, "relevance": 5, "reason": "Related to the reader's interests."} for i in ids]
        }
    return json.dumps(data)


def en_responder(req) -> Reply:
    return Reply(text=en_answer_for(req.prompt))


# ---------------------------------------------------------------- prompts


def test_prompts_dir_picks_the_english_templates(tmp_path):
    assert prompts_dir(None) == SHIPPED_DIR
    assert prompts_dir(None, language="en") == SHIPPED_DIR / "en"
    assert prompts_dir(str(tmp_path), language="en") == tmp_path  # a user's dir without en/
    (tmp_path / "en").mkdir()
    assert prompts_dir(str(tmp_path), language="en") == tmp_path / "en"
    assert prompts_dir(str(tmp_path)) == tmp_path


@pytest.mark.parametrize("name", TEMPLATES)
def test_english_template_uses_the_same_variables_and_no_chinese(name):
    def variables(directory: Path) -> set[str]:
        env = jinja2.Environment(loader=jinja2.FileSystemLoader(directory))
        source = env.loader.get_source(env, f"{name}.j2")[0]
        return jinja2.meta.find_undeclared_variables(env.parse(source))

    assert variables(SHIPPED_DIR / "en") == variables(SHIPPED_DIR)
    text = (SHIPPED_DIR / "en" / f"{name}.j2").read_text(encoding="utf-8")
    assert not CJK.search(text)
    if name != "reask":
        assert "single JSON object" in text


def test_every_english_template_renders_with_what_jobs_pass():
    cfg = Config()
    en = prompts_dir(None, language="en")
    paper = Paper(
        id="2506.00001",
        title="A Paper",
        authors=["A. Author"],
        abstract="We propose a method. It works.",
        categories=["cs.CV"],
        comment="CVPR 2025",
    )
    entry = Entry(paper=paper)
    pack = analysis_pack([entry, Entry(paper=paper.model_copy(update={"id": "2506.00002"}))], cfg, en)
    prompts = [
        analysis_job(entry, cfg, en).prompt,
        pack.render(pack.members),
        deep_dive_job(entry, cfg, en, None).prompt,
        deep_dive_job(entry, cfg, en, lambda pid: b"%PDF").prompt,
        summary_job(DAY, [(paper, Analysis.model_validate(en_analysis()))], cfg, en).prompt,
        rerank_job(0, [paper], cfg, en).prompt,
    ]
    prompts.append(
        render_prompt(
            "reask",
            directory=en,
            prompt=prompts[0],
            field="impact",
            rule="Write in English.",
            evidence="the JSON was cut off",
        )
    )
    assert [en_template_of(p) for p in prompts] == [
        "analysis",
        "analysis_pack",
        "deep_dive",
        "deep_dive",
        "executive_summary",
        "rerank",
        "analysis",
    ]
    for p in prompts:
        assert not CJK.search(p.replace(interests_text(cfg), "")), p
    assert "attached full text" in prompts[3] and "could not be obtained" in prompts[2]


# ---------------------------------------------------------------- validation


def test_english_validation_rejects_filler_refusals_and_chinese():
    check_text({"impact": "Of modest size, the change improves quality."}, language="en")
    for bad in (
        "Sure. The paper improves quality.",
        "As an AI, I think it is good.",
        "Could you provide the full text so I can analyse it?",
        "本文提出了一种新的方法，效果很好。",
    ):
        with pytest.raises(InvalidOutput):
            check_text({"impact": bad}, language="en")
    # The English-only phrases leave Chinese answers alone.
    check_text({"impact": "Let me 强调：本文提出了一种新的视觉方法。"}, language="zh")


# ---------------------------------------------------------------- rendering


def _english_view(**overrides: object) -> DayState:
    deep = en_deep_dive()
    results = {
        "2506.00001": PaperResult(
            kind="analysis",
            status="ok",
            analysis=Analysis.model_validate({**en_analysis(), "code_url": "https://github.com/cora/cora"}),
            warnings=[PaperWarning(figures=["23%"])],
        ),
        "2506.00002": PaperResult(
            kind="deep_dive",
            status="ok",
            fulltext=True,
            analysis=DeepDive(
                field="3D vision",
                abstract_zh=deep["abstract_zh"],
                motivation=Motivation(**deep["motivation"]),
                design=Design(**deep["design"]),
                comparison=Comparison(**deep["comparison"]),
                experiments=Experiments(**deep["experiments"]),
                practical=Practical(**deep["practical"]),
                summary=DeepSummary(**deep["summary"]),
                inspiration=deep["inspiration"],
                datasets=[Dataset(name="ScanNet", url="http://www.scan-net.org/", purpose="evaluation")],
            ),
        ),
        "2506.00003": PaperResult(
            kind="deep_dive", status="ok", fulltext=False, analysis=DeepDive.model_validate(en_deep_dive())
        ),
        "2506.00004": PaperResult(kind="analysis", status="failed", error_kind="invalid_output", attempts=6),
        "2506.00005": PaperResult(kind="analysis", status="pending"),
        "2506.00006": PaperResult(kind="analysis", status="failed", error_kind="bad_request", attempts=1),
    }
    summary = ExecutiveSummary(
        themes=["Theme one."],
        highlights=["Highlight one."],
        directions=["Direction one."],
        picks=[Pick(paper_id="2506.00002", reason="Solid method.", audience="3D researchers")],
    )
    scores = {
        pid: Scored(
            id=pid,
            score=s,
            reasons=[Reason(points=s, kind="interest", detail={"kw": "diffusion", "where": "abstract"})],
        )
        for pid, s in {
            "2506.00001": 90,
            "2506.00002": 85,
            "2506.00003": 80,
            "2506.00004": 70,
            "2506.00005": 60,
            "2506.00006": 50,
            "2506.00007": 10,
        }.items()
    }
    kw: dict[str, object] = dict(language="en", results=results, summary=summary, scores=scores)
    kw.update(overrides)
    return full_view(**kw)


def test_english_digest_has_english_headings_and_no_chinese_at_all():
    md = render_digest(_english_view())
    assert not CJK.search(md), CJK.findall(md)
    assert md.startswith("# Computer Vision Paper Digest | 2025-06-02\n")
    for heading in (
        "## Executive Summary",
        "### Main themes and trends",
        "### Recommended reading",
        "## Today's Picks",
        "#### Main contributions",
        "#### Key innovations and methods",
        "#### In one sentence",
        "### Deep dive (full text)",
        "### Deep dive (abstract only)",
        "#### Motivation",
        "#### Takeaways for me",
        "#### Datasets",
        "### Key findings",
        "### Links",
    ):
        assert f"\n{heading}\n" in md, heading
    for label in ("Authors", "Published", "Categories", "Source", "Score", "Code", "Check", "Field"):
        assert f"- **{label}:** " in md, label
    assert "**Driver:** Existing methods are expensive." in md
    assert "- [Deep Full Text](#2506.00002): Solid method. (for: 3D researchers)" in md
    assert "<summary>Other papers (1, by score)</summary>" in md
    assert md.count("\n> ❌ Analysis failed: ") == 2 and md.count("\n> ⏳ Analysis not done yet") == 1
    assert (
        "> ❌ Analysis failed: the model gave no usable answer (after 6 attempts). To re-run it: "
        "`digest retry --date 2025-06-02 --paper 2506.00004`" in md
    )
    assert "| Score | Title | Authors | Code | Score reasons |" in md and "| diffusion+10 |" in md
    assert "Why: interest: diffusion (abstract) +90" in md and "[↑ Contents](#contents)" in md
    assert "retried automatically" not in md
    assert "HuggingFace 🔥 42 upvotes" in md and "(cross-list)" in md and "et al. (20 authors)" in md
    assert "AI analyses: 3 of 6 (deep dives: 2), failed: 2, pending: 1, model: gemini-2.5-flash." in md


def test_english_scaffolding_stays_english_around_chinese_content():
    md = render_digest(full_view(language="en"))  # the test view's analyses and reasons are Chinese
    scaffolding = [
        line
        for line in md.splitlines()
        if line.startswith(("# ", "## ", "### ", "#### ", "> ", "| Score", "<details>", "<summary>", "*G"))
        or re.match(r"\d+\. \*\*\[", line)
    ]
    assert scaffolding
    for line in scaffolding:
        assert not CJK.search(line), line
    labels = re.findall(r"^- \*\*([^*]+)\*\* ", md, re.M) + re.findall(r"^\*\*([^*]+)\*\*", md, re.M)
    assert labels and not [lb for lb in labels if CJK.search(lb)]


def test_english_metadata_only_digest_says_so_without_the_operator_hint():
    md = render_digest(
        _english_view(llm_off=True, llm_model=None, results={}, summary=None, summary_status="none")
    )
    overview = md.splitlines()[2]
    assert overview.startswith("> Papers scanned today: 7 ")
    assert (
        "No AI analyses in this issue" in overview and KEY_ENV not in md and "environment variable" not in md
    )
    assert not CJK.search(md) and "Analysis not done" not in md


def test_english_summary_pending_note():
    md = render_digest(_english_view(summary=None, summary_status="pending"))
    assert (
        "## Executive Summary\n\n> ⏳ Executive summary not written yet (the last run stopped before it: quota, "
        "budget or interruption); the next `digest retry --date 2025-06-02`"
    ) in md


def test_label_tables_have_the_same_keys():
    assert set(LABELS["en"]) == set(LABELS["zh"])
    assert not [k for k, v in LABELS["en"].items() if CJK.search(v)]


# ---------------------------------------------------------------- end to end


def test_english_run_end_to_end(tmp_path, monkeypatch, capsys):
    from digest.cli import main

    monkeypatch.setenv(KEY_ENV, KEY)
    svc = services()
    with LocalServer(svc) as server, llm_server(responder=en_responder) as llm:
        cfg = write_config(tmp_path, arxiv_url=server.url, llm_url=llm.url, language="en")
        assert main(["run", "--date", DAY, "--config", str(cfg)]) == 0
        assert llm.stats.requests == 5  # 2 packs of analyses + 2 deep dives + 1 summary
        assert all("Reply with a single JSON object" in r.prompt for r in llm.requests)
        assert main(["survey", "--config", str(cfg)]) == 0
    text = read_digest(tmp_path).text
    assert text.startswith(f"# Computer Vision Paper Digest | {DAY}\n")
    assert text.index("## Executive Summary") < text.index("## Today's Picks")
    for heading in (
        "Main contributions",
        "Key innovations and methods",
        "Potential impact",
        "Limitations",
        "In one sentence",
        "The abstract in plain words",
        "Motivation",
        "Experiments",
        "Takeaways for me",
        "Key findings",
        "Links",
    ):
        assert f"#### {heading}" in text or f"### {heading}" in text, heading
    assert "Analysis not done" not in text and "分析尚未完成" not in text and "执行摘要" not in text
    for line in text.splitlines():
        if line.startswith("#") and not line.startswith("## ["):  # paper titles are the authors' own words
            assert not CJK.search(line), line
    out = tmp_path / "output"
    assert (
        (out / "index.md").read_text(encoding="utf-8").startswith("# Computer Vision Paper Digest · Archive")
    )
    assert "<title>Computer Vision Paper Digest</title>" in (out / "feed.xml").read_text(encoding="utf-8")
    survey = (out / "survey.md").read_text(encoding="utf-8")
    assert survey.startswith("# Paper survey") and not CJK.search(survey)


def test_english_run_without_key_hints_on_stderr_not_on_the_page(tmp_path, monkeypatch, capsys):
    from digest.cli import main

    monkeypatch.delenv(KEY_ENV, raising=False)
    with LocalServer(services()) as server:
        cfg = write_config(tmp_path, arxiv_url=server.url, language="en")
        assert main(["run", "--date", DAY, "--config", str(cfg)]) == 0
    assert f"{KEY_ENV} is not set" in capsys.readouterr().err
    page = read_digest(tmp_path).text
    assert (
        KEY_ENV not in page and "environment variable" not in page and "No AI analyses in this issue" in page
    )
