"""One section per pick: its metadata lines, its links, and its analysis or the note saying what that waits for.

A section is built part by part: the mode and heading, the paper's lines (authors, date, categories,
source), the score line, the analysis's lines (field, unverified figures), the code and project lines,
the links. The notes for what is still missing (a pick's analysis, the day's summary) are here too.
"""

from __future__ import annotations

from typing import Literal
from zoneinfo import ZoneInfo

from digest import text as tx
from digest.day.state import DayState, PaperResult
from digest.language import failure_text, labels, reason_text
from digest.models import Entry, Scored, TaskStatus
from digest.page.common import Section, authors, num, paper_title, seen
from digest.schemas import Analysis, DeepDive

Lines = list[tuple[str, str]]  # (label, already-escaped Markdown value)


def section(state: DayState, entry: Entry, anchor: str, selected: bool) -> Section:
    p = entry.paper
    res = state.results.get(p.id) if selected else None
    analysis = res.analysis if res is not None and res.status == TaskStatus.OK else None
    mode = _mode(state, analysis, selected)
    L = labels(state.language)
    heading, badge = _heading_and_badge(res, analysis, mode, L)
    score = state.scores.get(p.id)
    code = _code(entry, analysis)
    project = _project(entry, code)
    return Section(
        entry=entry,
        anchor=anchor,
        title=paper_title(p),
        abs_url=tx.safe_url(p.abs_url) or "",
        score=num(score.score) if score else "—",
        badge=badge,
        mode=mode,
        note=missing_note(state, p.id, res) if mode == "missing" else "",
        kind="deep_dive" if isinstance(analysis, DeepDive) else "analysis",
        analysis=analysis,
        analysis_heading=heading,
        meta=[
            *_paper_lines(state, entry, L),
            *_score_lines(state, score, L),
            *_analysis_lines(res, analysis, L),
            *_code_lines(entry, code, project, L),
        ],
        abstract=tx.clean_latex(tx.unwrap(p.abstract)),
        findings=tx.key_findings(p.abstract),
        links=_links(state, entry, code, project, L),
    )


# ---------------------------------------------------------------- the parts of a section


def _mode(
    state: DayState, analysis: Analysis | DeepDive | None, selected: bool
) -> Literal["ok", "missing", "meta"]:
    """Analysed; selected but failed or pending; metadata only (nothing selected, or analyses off)."""
    if analysis is not None:
        return "ok"
    return "missing" if selected and not state.llm_off else "meta"


def _heading_and_badge(
    res: PaperResult | None, analysis: Analysis | DeepDive | None, mode: str, L: dict[str, str]
) -> tuple[str, str]:
    """The analysis's heading, and the badge saying what kind of analysis the pick has, or why none."""
    if isinstance(analysis, DeepDive):  # a deep dive read the full text, or only the abstract
        full = res is not None and res.fulltext
        return (
            L["deep_full"] if full else L["deep_abstract"],
            L["badge_deep_full"] if full else L["badge_deep_abstract"],
        )
    if mode == "missing":
        failed = res is not None and res.status == TaskStatus.FAILED
        return L["analysis"], L["badge_failed"] if failed else L["badge_pending"]
    return L["analysis"], ""


def _paper_lines(state: DayState, entry: Entry, L: dict[str, str]) -> Lines:
    """Authors, publication date (when known), categories and where the paper came from."""
    p = entry.paper
    published = [(L["published"], p.published.date().isoformat())] if p.published else []
    return [
        (L["authors"], authors(p.authors, L)),
        *published,
        (L["categories"], _categories(entry, L)),
        (L["source"], _source(state, entry, L)),
    ]


def _score_lines(state: DayState, score: Scored | None, L: dict[str, str]) -> Lines:
    """The score out of 100 and every reason that makes it up."""
    if score is None:
        return []
    reasons = " · ".join(tx.md_escape(reason_text(r, state.language)) for r in score.reasons)
    return [(L["score"], f"{num(score.score)}/100" + (L["paren"].format(reasons) if reasons else ""))]


def _analysis_lines(
    res: PaperResult | None, analysis: Analysis | DeepDive | None, L: dict[str, str]
) -> Lines:
    """The field the analysis names, and the figures it quoted that the abstract does not bear out."""
    if res is None or analysis is None:
        return []
    lines = [(L["field"], tx.md_line(analysis.field))] if tx.collapse(analysis.field) else []
    if res.unverified:
        figures = L["list_sep"].join(tx.md_escape(f) for f in res.unverified)
        lines.append((L["check"], L["unverified"].format(figures)))
    return lines


def _code_lines(entry: Entry, code: str | None, project: str | None, L: dict[str, str]) -> Lines:
    """The code (with its stars, when it is the paper's own GitHub repository) and the project page."""
    p = entry.paper
    lines = []
    if code:
        stars = f" ⭐ {p.github_stars}" if p.github_stars and code == tx.safe_url(p.github_repo) else ""
        lines.append((L["code"], f"[{tx.md_escape(tx.url_label(code))}]({code}){stars}"))
    if project:
        lines.append((L["project"], f"[{tx.md_escape(tx.url_label(project))}]({project})"))
    return lines


def _links(
    state: DayState, entry: Entry, code: str | None, project: str | None, L: dict[str, str]
) -> list[tuple[str, str]]:
    """PDF, arXiv, HuggingFace (when the paper is there), code and project page: the safe URLs only."""
    p = entry.paper
    links = [("PDF", f"{state.pdf_url.rstrip('/')}/{p.id}"), ("arXiv", p.abs_url)]
    if entry.on_hf or entry.source == "huggingface":
        links.append(("HuggingFace", p.hf_url))
    links += [(label, url) for label, url in ((L["code"], code), (L["project"], project)) if url]
    return [(label, u) for label, url in links if (u := tx.safe_url(url))]


# ---------------------------------------------------------------- what the parts are made of


def _categories(entry: Entry, L: dict[str, str]) -> str:
    p = entry.paper
    cats = list(dict.fromkeys(([p.primary_category] if p.primary_category else []) + p.categories))
    return (", ".join(tx.md_escape(c) for c in cats) or "—") + (
        L["cross_list_note"] if entry.cross_list else ""
    )


def _source(state: DayState, entry: Entry, L: dict[str, str]) -> str:
    hf = "HuggingFace" + (L["upvotes"].format(up) if (up := entry.paper.hf_upvotes) else "")
    where = (
        L["hf_only_note"].format(hf)
        if entry.source == "huggingface"
        else f"arXiv · {hf}"
        if entry.on_hf
        else "arXiv"
    )
    return " · ".join(x for x in (where, seen(entry.paper.id, state.analysed_on, state.seen_on, L)) if x)


def _code(entry: Entry, analysis: Analysis | DeepDive | None) -> str | None:
    p = entry.paper
    return (
        tx.safe_url(p.github_repo)
        or tx.safe_url(analysis.code_url if analysis else None)
        or tx.safe_url(tx.find_code_url(p.comment, p.abstract))
    )


def _project(entry: Entry, code: str | None) -> str | None:
    """The project page, unless it is the code's own link (shown once, as the code)."""
    project = tx.safe_url(entry.paper.project_page)
    return project if project and project != code else None


# ---------------------------------------------------------------- what is still missing


def why_pending(state: DayState, L: dict[str, str], stop_kind: str | None = None) -> str:
    """Why something is still pending: the failure pattern that stopped the run, or the quota and its reset."""
    if stop_kind:
        return (
            L["stop_language"]
            if stop_kind == "language"
            else L["stop_pattern"].format(failure_text(stop_kind, state.language))
        )
    resets = state.quota_resets_at
    return (
        L["pending_quota"].format(f"{resets.astimezone(ZoneInfo(state.timezone)):%Y-%m-%d %H:%M %Z}")
        if resets
        else L["pending_stopped"]
    )


def missing_note(state: DayState, pid: str, res: PaperResult | None) -> str:
    """Pending: when it will be tried again. Failed: why, and the command that re-runs it."""
    L = labels(state.language)
    if res is not None and res.status == TaskStatus.FAILED:
        return L["failed_note"].format(
            failure_text(res.error_kind, state.language), res.attempts, state.date.isoformat(), pid
        )
    return L["pending_note"].format(
        why_pending(state, L, res.error_kind if res else None), state.date.isoformat()
    )


def summary_note(state: DayState, L: dict[str, str]) -> str | None:
    """In place of a missing executive summary: when it will be tried again, or why it failed."""
    if state.summary is not None or state.llm_off:
        return None
    if state.summary_status == TaskStatus.PENDING:
        return L["summary_pending"].format(
            why_pending(state, L, state.summary_error_kind), state.date.isoformat()
        )
    if state.summary_status == TaskStatus.FAILED:
        return L["summary_failed"].format(
            failure_text(state.summary_error_kind, state.language), state.date.isoformat()
        )
    return None
