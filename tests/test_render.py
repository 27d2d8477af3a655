"""Digest rendering: layout, escaping, placeholders, metadata-only digests, atomic writes."""

from __future__ import annotations

import datetime as dt
import os
import re
from pathlib import Path

import pytest

from digest.day.state import DayState, PaperResult
from digest.models import Announcement, Entry, Paper, Reason, Scored
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
from digest.store.files import atomic_write

DATE = dt.date(2025, 6, 2)
HOSTILE = "Break [it] | *all* _of_ it <script>alert(1)</script> ](http://evil)"
# Verbatim from /work/shared/fixtures/days/arxiv_cs.CV_2025-06-02.jsonl.
CORA = (
    "Image editing is an important task in computer graphics, vision, and VFX,\nwith recent diffusion-based "
    "methods achieving fast and high-quality results.\nHowever, edits requiring significant structural "
    "changes, such as non-rigid\ndeformations, object modifications, or content generation, remain "
    "challenging.\nExisting few step editing approaches produce artifacts such as irrelevant\ntexture or "
    "struggle to preserve key attributes of the source image (e.g.,\npose). We introduce Cora, a novel "
    "editing framework that addresses these\nlimitations by introducing correspondence-aware noise "
    "correction and\ninterpolated attention maps."
)
ERROR_WORDS = ("Traceback", "Error", "error", "429", "quota", "Exception", "好的", "作为一名", "请提供")


def _announcement() -> Announcement:
    utc = dt.UTC
    return Announcement(
        released=dt.datetime(2025, 6, 1, 20, tzinfo=dt.timezone(dt.timedelta(hours=-4))),
        window_start=dt.datetime(2025, 5, 29, 18, tzinfo=utc),
        window_end=dt.datetime(2025, 5, 30, 18, tzinfo=utc),
    )


def _entry(pid: str, title: str, *, n_authors: int = 3, **kw: object) -> Entry:
    paper_kw = {k: v for k, v in kw.items() if k in Paper.model_fields}
    entry_kw = {k: v for k, v in kw.items() if k in Entry.model_fields}
    paper = Paper(
        id=pid,
        title=title,
        authors=[f"Author {i}" for i in range(n_authors)],
        abstract=paper_kw.pop("abstract", CORA),
        categories=["cs.CV", "cs.LG"],
        published=dt.datetime(2025, 5, 30, tzinfo=dt.UTC),
        **paper_kw,
    )
    return Entry(paper=paper, **entry_kw)


def _analysis() -> Analysis:
    return Analysis(
        field="图像编辑",
        code_url="https://github.com/cora/cora",
        contributions="提出 Cora 编辑框架。",
        innovations="对应感知的噪声校正。",
        impact="提升编辑质量。",
        applications="图像编辑。",
        limitations="依赖对应估计。",
        one_line="用对应关系做少步编辑。",
    )


def _deep_dive(tag: str) -> DeepDive:
    return DeepDive(
        field="三维视觉",
        abstract_zh=f"摘要翻译{tag}。",
        motivation=Motivation(driver="驱动力内容", pain_points="痛点内容", hypothesis="假设内容"),
        design=Design(pipeline="流程内容", architecture="结构内容", algorithm="算法内容"),
        comparison=Comparison(difference="区别内容", contribution="贡献内容", scenarios="场景内容"),
        experiments=Experiments(
            validation="验证内容", key_results="结果内容", strengths="优势内容", limitations="局限内容"
        ),
        practical=Practical(open_source="已开源", implementation="实现内容", transfer="迁移内容"),
        summary=DeepSummary(
            core_idea="核心思想内容", quick_pipeline=["1. 输入图像", "编码特征", "- 解码输出"]
        ),
        inspiration="启发内容",
        datasets=[
            Dataset(name="ScanNet", url="http://www.scan-net.org/", purpose="评测"),
            Dataset(name="私有集"),
        ],
    )


def _scores(ids_points: dict[str, float]) -> dict[str, Scored]:
    return {
        pid: Scored(
            id=pid,
            score=s,
            reasons=[
                Reason(points=10, kind="base"),
                Reason(points=s * 0.6, kind="interest", detail={"kw": "diffusion", "where": "title"}),
                Reason(points=s * 0.4 - 10, kind="upvotes", detail={"n": "42"}),
            ],
        )
        for pid, s in ids_points.items()
    }


def full_view(**overrides: object) -> DayState:
    entries = [
        _entry(
            "2506.00001",
            "Cora: Correspondence-aware editing",
            on_hf=True,
            hf_upvotes=42,
            github_repo="https://github.com/cora/cora",
            github_stars=120,
        ),
        _entry("2506.00002", "Deep Full Text", n_authors=20, cross_list=True, primary_category="cs.RO"),
        _entry("2506.00003", "Deep Abstract Only", source="huggingface", on_hf=True, hf_upvotes=7),
        _entry("2506.00004", "Failed One"),
        _entry("2506.00005", "Pending One"),
        _entry("2506.00006", HOSTILE),
        _entry("2506.00007", "Low scored other paper"),
    ]
    selected = ["2506.00001", "2506.00002", "2506.00003", "2506.00004", "2506.00005", "2506.00006"]
    results = {
        "2506.00001": PaperResult(kind="analysis", status="ok", analysis=_analysis()),
        "2506.00002": PaperResult(kind="deep_dive", status="ok", analysis=_deep_dive("全文"), fulltext=True),
        "2506.00003": PaperResult(kind="deep_dive", status="ok", analysis=_deep_dive("摘要"), fulltext=False),
        "2506.00004": PaperResult(kind="analysis", status="failed", error_kind="invalid_output", attempts=6),
        "2506.00005": PaperResult(kind="analysis", status="pending"),
        "2506.00006": PaperResult(kind="analysis", status="failed", error_kind="transient", attempts=6),
    }
    summary = ExecutiveSummary(
        themes=["主题一"],
        highlights=["亮点一"],
        directions=["方向一"],
        picks=[
            Pick(paper_id="2506.00002v1", reason="方法扎实", audience="三维视觉研究者"),
            Pick(paper_id="2506.00007", reason="有趣", audience="所有人"),
            Pick(paper_id="9999.99999", reason="不存在", audience="无人"),
        ],
    )
    kw: dict[str, object] = dict(
        date=DATE,
        announcement=_announcement(),
        entries=entries,
        scores=_scores(
            {
                "2506.00001": 90,
                "2506.00002": 85,
                "2506.00003": 80,
                "2506.00004": 70,
                "2506.00005": 60,
                "2506.00006": 50,
                "2506.00007": 10,
            }
        ),
        selected=selected,
        results=results,
        summary=summary,
        summary_status="ok",
        hf_status="ok",
        llm_model="gemini-2.5-flash",
    )
    kw.update(overrides)
    return DayState(**kw)


def _section(md: str, pid: str) -> str:
    start = md.index(f"<a id='{pid}'></a>")
    nxt = md.find("<a id='", start + 1)
    return md[start : nxt if nxt != -1 else len(md)]


def _check_links(md: str) -> None:
    """Every link target is intact and every in-page link has exactly one anchor."""
    targets = re.findall(r"(?<!\\)\]\(([^)\s]*)\)", md)  # an escaped \]( is text, not a link
    assert targets
    for t in targets:
        assert re.fullmatch(r"https?://[^\s()<>\[\]|]+|#[A-Za-z0-9._-]+|\d{4}-\d\d-\d\d\.md|index\.md", t), t
    anchors = re.findall(r"<a id='([^']*)'></a>", md)
    assert len(anchors) == len(set(anchors))
    for t in targets:
        if t.startswith("#"):
            assert t[1:] in anchors, t


def test_full_view_layout_order() -> None:
    md = render_digest(full_view())
    assert md.startswith("# 计算机视觉论文日报 | 2025-06-02\n")
    order = [
        "## 执行摘要 (Executive Summary)",
        "### 主要主题与趋势",
        "### 亮点与创新",
        "### 新兴研究方向",
        "### 建议精读",
        "## 今日精选 (Today's Picks)",
        "<a id='2506.00001'></a>",
        "<details>",
    ]
    positions = [md.index(h) for h in order]
    assert positions == sorted(positions)
    _check_links(md)
    overview = md.split("\n")[2]
    assert overview.startswith("> 今日扫描 7 篇论文")
    assert overview.startswith(
        "> 今日扫描 7 篇论文（arXiv 6 篇，含交叉列表 1 篇；仅 HuggingFace 1 篇；登上 HF 热榜 2 篇）"
    )
    assert (
        "AI 解读 3/6 篇（含深度解读 2 篇），失败 2 篇，待补 1 篇" in overview
        and "gemini-2.5-flash" in overview
    )


def test_sections_toc_and_other_table() -> None:
    md = render_digest(full_view())
    toc = md[md.index("## 今日精选") : md.index("<a id='2506.00001'>")]
    for pid in ("2506.00001", "2506.00002", "2506.00003", "2506.00004", "2506.00005", "2506.00006"):
        assert f"](#{pid})" in toc
        assert md.count(f"<a id='{pid}'></a>") == 1
    assert "1. **[Cora: Correspondence-aware editing](#2506.00001)** — 评分 90 · HF 🔥 42 · ⭐ 120\n" in toc
    assert "<a id='2506.00007'>" not in md
    table = md[md.index("<details>") :]
    assert (
        "| 10 | [Low scored other paper](https://arxiv.org/abs/2506.00007) | Author 0, Author 1, Author 2 | — "
        "| diffusion+6 · 🔥42-6 |"
    ) in table


def test_ok_analysis_section() -> None:
    sec = _section(render_digest(full_view()), "2506.00001")
    assert "## [Cora: Correspondence-aware editing](https://arxiv.org/abs/2506.00001)" in sec
    heads = [
        "#### 主要贡献",
        "#### 关键创新与方法",
        "#### 潜在影响",
        "#### 相关领域与应用",
        "#### 局限性",
        "#### 一句话总结",
        "### 关键发现",
        "### 链接",
    ]
    positions = [sec.index(h) for h in heads]
    assert positions == sorted(positions)
    assert "HuggingFace 🔥 42 赞" in sec
    assert "[github.com/cora/cora](https://github.com/cora/cora) ⭐ 120" in sec
    assert (
        "- [PDF](https://arxiv.org/pdf/2506.00001)" in sec
        and "- [HuggingFace](https://huggingface.co/papers/2506.00001)" in sec
    )
    assert "**评分：** 90/100（基础分 +10 · 兴趣: diffusion (标题) +54 · HF 🔥 42 赞 +26）" in sec
    assert "- We introduce Cora, a novel editing framework" in sec
    assert "分析尚未完成" not in sec and "分析失败" not in sec
    assert sec.rstrip().removesuffix("---").rstrip().endswith("[↑ 目录](#contents)")  # the last line


def test_deep_dive_sections_fulltext_and_abstract_only() -> None:
    md = render_digest(full_view())
    full, abstract_only = _section(md, "2506.00002"), _section(md, "2506.00003")
    assert "### 深度解读（全文）" in full and "基于摘要" not in full
    assert "### 深度解读（基于摘要）" in abstract_only
    heads = [
        "#### 摘要翻译",
        "#### 方法动机",
        "**驱动力：**",
        "**现有痛点：**",
        "**研究假设：**",
        "#### 方法设计",
        "#### 方法对比",
        "#### 实验分析",
        "#### 实用指南",
        "#### 总结",
        "**核心思想：**",
        "#### 对我的启发",
        "#### 数据集",
        "### 关键发现",
        "### 链接",
    ]
    positions = [full.index(h) for h in heads]
    assert positions == sorted(positions)
    assert "1. 输入图像\n2. 编码特征\n3. 解码输出" in full
    assert "- [ScanNet](http://www.scan-net.org/)：评测" in full and "- 私有集\n" in full
    assert "等 20 人" in full and "Author 7, Author 8" not in full
    assert "cs.RO, cs.CV, cs.LG（交叉列表）" in full
    assert "HuggingFace 🔥 7 赞（仅 HF）" in abstract_only


def test_failed_and_pending_say_what_happened_and_no_error_text() -> None:
    md = render_digest(full_view())
    assert "自动重试" not in md
    failed = (
        "> ❌ 分析失败：模型多次未给出合格的回答（已尝试 6 次）。"
        "重新分析：`digest retry --date 2025-06-02 --paper 2506.00004`"
    )
    assert _section(md, "2506.00004").count(failed) == 1
    assert "> ❌ 分析失败：服务多次暂时不可用（已尝试 6 次）" in _section(md, "2506.00006")
    pending = _section(md, "2506.00005")
    assert pending.count("> ⏳ 分析尚未完成") == 1 and "`digest retry --date 2025-06-02`" in pending
    for pid in ("2506.00004", "2506.00005", "2506.00006"):
        sec = _section(md, pid)
        assert "### 摘要" in sec and "Image editing is an important task" in sec
        assert "#### 主要贡献" not in sec
    for word in ERROR_WORDS:
        assert word not in md, word


def test_hostile_title_renders_harmlessly() -> None:
    md = render_digest(full_view())
    assert "<script>" not in md and "&lt;script&gt;" in md
    _check_links(md)
    heading = next(line for line in md.splitlines() if line.startswith("## [Break"))
    assert heading.endswith("](https://arxiv.org/abs/2506.00006)")
    link_text = heading[len("## [") : -len("](https://arxiv.org/abs/2506.00006)")]
    assert re.search(r"(?<!\\)[\[\]|*]", link_text) is None
    assert "](#2506.00006)" in md


def test_hostile_model_text_cannot_add_headings_or_html() -> None:
    bad = _analysis().model_copy(
        update={
            "contributions": "# 伪标题\n<iframe src=x>\n[x](javascript:alert(1))",
            "code_url": "javascript:alert(1)",
        }
    )
    view = full_view(
        results={"2506.00001": PaperResult(kind="analysis", status="ok", analysis=bad)},
        selected=["2506.00001"],
    )
    md = render_digest(view)
    sec = _section(md, "2506.00001")
    assert not re.search(r"^# 伪标题", md, re.M) and "\\# 伪标题" in sec
    assert "<iframe" not in md and "&lt;iframe" in sec
    assert "\\[x\\](javascript" in sec  # the model's link is inert text
    _check_links(md)  # ...and no link target is javascript:


def test_summary_picks_link_to_anchor_or_abs_and_skip_unknown_ids() -> None:
    md = render_digest(full_view())
    picks = md[md.index("### 建议精读") : md.index("## 今日精选")]
    assert "- [Deep Full Text](#2506.00002)：方法扎实（适合：三维视觉研究者）" in picks
    assert "[Low scored other paper](https://arxiv.org/abs/2506.00007)" in picks
    assert "9999.99999" not in md and "不存在" not in md


@pytest.mark.parametrize("status", ["pending", "failed"])
def test_missing_summary_is_one_line_never_an_error(status: str) -> None:
    md = render_digest(full_view(summary=None, summary_status=status))
    assert md.count("## 执行摘要 (Executive Summary)") == 1
    note = {"pending": "> ⏳ 执行摘要尚未生成", "failed": "> ❌ 执行摘要生成失败"}[status]
    assert note in md and "### 主要主题与趋势" not in md and "自动重试" not in md


def test_no_summary_task_omits_section() -> None:
    md = render_digest(full_view(summary=None, summary_status="none"))
    assert "执行摘要" not in md


def test_overview_never_subcounts_a_zero_clause() -> None:
    """No HF-only paper: no "仅 HuggingFace 0 篇" clause, and the HF-list count stands on its own."""
    entries = [e for e in full_view().entries if e.source == "arxiv"]
    overview = render_digest(full_view(entries=entries)).split("\n")[2]
    assert overview.startswith("> 今日扫描 6 篇论文（arXiv 6 篇，含交叉列表 1 篇；登上 HF 热榜 1 篇）")
    assert "HuggingFace 0" not in overview and "其中" not in overview
    plain = [e.model_copy(update={"cross_list": False, "on_hf": False}) for e in entries]
    assert (
        render_digest(full_view(entries=plain))
        .split("\n")[2]
        .startswith("> 今日扫描 6 篇论文（arXiv 6 篇）；")
    )


def test_metadata_only_digest_has_no_operator_hint_and_no_placeholder() -> None:
    view = full_view(
        selected=[],
        results={},
        summary=None,
        summary_status="none",
        llm_model=None,
        llm_off=True,
        metadata_sections=3,
    )
    md = render_digest(view)
    overview = md.split("\n")[2]
    assert "本期未生成 AI 分析" in overview
    assert "GEMINI_API_KEY" not in md and "环境变量" not in md and "AI 解读已跳过" not in md
    assert "分析尚未完成" not in md and "执行摘要" not in md
    anchors = re.findall(r"<a id='([^']*)'></a>", md)
    assert anchors == ["contents", "2506.00001", "2506.00002", "2506.00003"]  # top 3 by score
    assert (
        "选文规则：评分最高的 3 篇；按评分排序。未启用 AI 解读" in md
        and "### 关键发现" in md
        and "### 摘要" in md
    )
    assert "AI 解读由" not in md
    _check_links(md)


def test_asked_papers_are_counted_once_and_not_in_the_rule() -> None:
    """An asked-for paper scoring below the others is outside the rule: the rest are the top by score."""
    selected = ["2506.00001", "2506.00002", "2506.00003", "2506.00007"]
    view = full_view(
        selected=selected,
        pick_reasons={"2506.00007": "asked"},
        results={**full_view().results, "2506.00007": PaperResult(status="pending")},
    )
    md = render_digest(view)
    assert "选文规则：评分最高的 3 篇；另有 1 篇为按需分析；按评分排序。" in md
    selected = ["2506.00001", "2506.00002", "2506.00004", "2506.00007"]
    view = full_view(
        selected=selected,
        pick_reasons={"2506.00007": "asked"},
        results={**full_view().results, "2506.00007": PaperResult(status="pending")},
    )
    assert "先选命中兴趣关键词的论文，再按评分补足，共 3 篇；另有 1 篇为按需分析；" in render_digest(view)


def test_hf_unavailable_and_no_announcement_notes() -> None:
    md = render_digest(full_view(hf_status="unavailable"))
    assert "HuggingFace 今日不可用，仅含 arXiv" in md.split("\n")[2]
    assert "HuggingFace 今日不可用" not in render_digest(full_view())
    md = render_digest(full_view(announcement=None))
    assert "arXiv 今日无新论文公告，本期仅含 HuggingFace 论文" in md.split("\n")[2]


def test_empty_day_renders_without_error() -> None:
    md = render_digest(DayState(date=DATE, hf_status="empty", llm_model="m"))
    assert "今日没有可收录的论文。" in md and "今日扫描 0 篇论文" in md and "<a id='2" not in md


def test_selected_id_missing_from_entries_is_skipped() -> None:
    md = render_digest(full_view(selected=["2506.00001", "2506.99999"]))
    assert "2506.99999" not in md and md.count("<a id='2506") == 1


def test_latex_in_title_is_cleaned() -> None:
    view = full_view(entries=[_entry("2506.00001", r"$\alpha$-Nets: a $3\times$ faster \textbf{model}")])
    assert "## [α-Nets: a 3× faster model](https://arxiv.org/abs/2506.00001)" in render_digest(view)


def test_atomic_write_replaces_and_leaves_no_temp_files(tmp_path: Path) -> None:
    target = tmp_path / "out" / "nested" / "2025-06-02.md"
    atomic_write(target, "first\n")
    assert target.read_text(encoding="utf-8") == "first\n"
    atomic_write(target, "第二版\n")
    assert target.read_text(encoding="utf-8") == "第二版\n"
    assert sorted(os.listdir(target.parent)) == ["2025-06-02.md"]
    assert target.stat().st_mode & 0o777 == 0o644


def test_atomic_write_failure_keeps_old_content_and_cleans_up(tmp_path: Path) -> None:
    target = tmp_path / "d.md"
    atomic_write(target, "old")
    with pytest.raises(TypeError):
        atomic_write(target, 123)  # type: ignore[arg-type]
    assert target.read_text(encoding="utf-8") == "old"
    assert os.listdir(tmp_path) == ["d.md"]


def test_commonmark_parse_of_hostile_digest() -> None:
    """A real CommonMark parser sees the hostile title as plain link text and no model heading."""
    markdown_it = pytest.importorskip("markdown_it")
    md = render_digest(full_view())
    parser = markdown_it.MarkdownIt("commonmark").enable("table")
    html = parser.render(md)
    assert "<script>" not in html
    tokens = parser.parse(md)
    headings = [tokens[i + 1].content for i, t in enumerate(tokens) if t.type == "heading_open"]
    hostile = next(h for h in headings if h.startswith("[Break"))
    inline = next(t for t in tokens if t.type == "inline" and t.content == hostile)
    kinds = [c.type for c in inline.children]
    assert kinds[0] == "link_open" and kinds[-1] == "link_close" and kinds.count("link_open") == 1
    assert inline.children[0].attrs["href"] == "https://arxiv.org/abs/2506.00006"
    text = "".join(c.content for c in inline.children if c.type == "text")
    assert text == HOSTILE
    fixed = {"执行摘要 (Executive Summary)", "今日精选 (Today's Picks)", "关键发现", "链接", "摘要"}
    assert fixed <= set(headings)
    hrefs = re.findall(r'href="([^"]*)"', html)
    assert hrefs and all(h.startswith(("https://", "http://", "#")) or h.endswith(".md") for h in hrefs)


def test_multiline_deep_dive_field_gets_label_on_its_own_line() -> None:
    dd = _deep_dive("x")
    dd.motivation.driver = "- 第一点\n- 第二点"
    view = full_view(
        selected=["2506.00002"],
        results={"2506.00002": PaperResult(kind="deep_dive", status="ok", analysis=dd)},
    )
    sec = _section(render_digest(view), "2506.00002")
    assert "**驱动力：**\n\n- 第一点\n- 第二点" in sec
    assert "**现有痛点：** 痛点内容" in sec
