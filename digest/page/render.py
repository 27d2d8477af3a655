"""Render one day's digest (DayState) to Markdown through digest/templates/digest.md.j2, atomically.

Page order: title, overview and previous/next links; the executive summary; today's picks (the
contents: rank, title, one-line summary, score, badges, reasons, and the rule that picked them); one
section per pick, each ending with a link back to the picks; then every other paper in a folded table.
With nothing selected (a metadata-only digest) the top `metadata_sections` papers by score are the picks.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from dataclasses import dataclass, field
from typing import Literal
from zoneinfo import ZoneInfo

import jinja2

from digest import text as tx
from digest.day.state import DayState, PaperResult, unique_entries
from digest.ids import try_normalise_id
from digest.language import failure_text, labels, reason_text
from digest.models import Entry, Paper
from digest.schemas import Analysis, DeepDive

MAX_AUTHORS = 8
TABLE_AUTHORS = 3
TOP_REASONS = 3
CONTENTS_ANCHOR = "contents"


@dataclass
class _Section:
    entry: Entry
    anchor: str
    title: str
    abs_url: str
    score: str
    badge: str
    mode: Literal["ok", "missing", "meta"]  # analysed; selected but failed/pending; metadata only
    note: str  # what a missing analysis is waiting for, or that it failed and how to re-run it
    kind: Literal["analysis", "deep_dive"]
    analysis: Analysis | DeepDive | None
    analysis_heading: str
    meta: list[tuple[str, str]]  # (label, already-escaped Markdown value)
    abstract: str
    findings: list[str]
    links: list[tuple[str, str]]  # (label, url)


@dataclass
class _Pick:
    anchor: str
    title: str
    score: str
    badges: str  # already-escaped Markdown
    one_line: str  # model text: through the `line` filter
    note: str  # status of a missing analysis
    reasons: str  # already-escaped Markdown


@dataclass
class _Row:
    title: str
    url: str
    score: str
    authors: str  # already-escaped Markdown
    code: str  # a Markdown link or —
    reasons: str  # already-escaped Markdown


@dataclass
class _Summary:
    themes: list[str]
    highlights: list[str]
    directions: list[str]
    picks: list[dict[str, str]] = field(default_factory=list)


# ---------------------------------------------------------------- small formatting helpers


def _num(x: float) -> str:
    return str(int(round(x))) if abs(x - round(x)) < 0.05 else f"{x:.1f}"


def _title(paper: Paper) -> str:
    """The title as shown; a paper whose title is empty (or only markup) is shown as its id."""
    return tx.clean_latex(paper.title).strip() or paper.id


def _anchor(pid: str, used: set[str]) -> str:
    base = re.sub(r"[^A-Za-z0-9._-]", "-", pid) or "paper"
    anchor, n = base, 2
    while anchor in used or anchor == CONTENTS_ANCHOR:
        anchor, n = f"{base}-{n}", n + 1
    used.add(anchor)
    return anchor


def _authors(names: list[str], L: dict[str, str], limit: int = MAX_AUTHORS) -> str:
    names = (
        [n for n in names[: limit + 1] if n.strip()]
        if limit < MAX_AUTHORS
        else [n for n in names if n.strip()]
    )
    if not names:
        return L["unknown_authors"]
    shown = tx.md_escape(", ".join(names[:limit]))  # one escape for the joined names: 10,000 rows add up
    if len(names) <= limit:
        return shown
    return shown + L["et_al"] if limit < MAX_AUTHORS else L["more_authors"].format(shown, len(names))


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
    return " · ".join(x for x in (where, _seen(state, entry.paper.id, L)) if x)


def _seen(
    state: DayState, pid: str, L: dict[str, str]
) -> str:  # "已见于 MM-DD", linked to the analysis if any
    day = state.analysed_on.get(pid) or state.seen_on.get(pid)
    where = f"#{_anchor(pid, set())}" if pid in state.analysed_on else ""  # a pick's anchor is its id's
    return L["seen_on"].format(_day_link(day, f"{day:%m-%d}", where)) if day else ""


def _code(entry: Entry, analysis: Analysis | DeepDive | None) -> str | None:
    p = entry.paper
    return (
        tx.safe_url(p.github_repo)
        or tx.safe_url(analysis.code_url if analysis else None)
        or tx.safe_url(tx.find_code_url(p.comment, p.abstract))
    )


def _why_pending(state: DayState, L: dict[str, str], stop_kind: str | None = None) -> str:
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


def _missing_note(state: DayState, pid: str, res: PaperResult | None) -> str:
    """Pending: when it will be tried again. Failed: why, and the command that re-runs it."""
    L = labels(state.language)
    if res is not None and res.status == "failed":
        return L["failed_note"].format(
            failure_text(res.error_kind, state.language), res.attempts, state.date.isoformat(), pid
        )
    return L["pending_note"].format(
        _why_pending(state, L, res.error_kind if res else None), state.date.isoformat()
    )


# ---------------------------------------------------------------- building blocks


def _section(state: DayState, entry: Entry, anchor: str, selected: bool) -> _Section:
    p = entry.paper
    res = state.results.get(p.id) if selected else None
    analysis = res.analysis if res is not None and res.status == "ok" else None
    mode = "ok" if analysis is not None else "missing" if selected and not state.llm_off else "meta"
    L = labels(state.language)
    heading, badge = L["analysis"], ""
    if isinstance(analysis, DeepDive):
        heading = L["deep_full"] if res.fulltext else L["deep_abstract"]
        badge = L["badge_deep_full"] if res.fulltext else L["badge_deep_abstract"]
    elif mode == "missing":
        badge = L["badge_failed"] if res is not None and res.status == "failed" else L["badge_pending"]
    score = state.scores.get(p.id)
    meta = [(L["authors"], _authors(p.authors, L))]
    if p.published:
        meta.append((L["published"], p.published.date().isoformat()))
    meta += [(L["categories"], _categories(entry, L)), (L["source"], _source(state, entry, L))]
    if score is not None:
        reasons = " · ".join(tx.md_escape(reason_text(r, state.language)) for r in score.reasons)
        meta.append(
            (L["score"], f"{_num(score.score)}/100" + (L["paren"].format(reasons) if reasons else ""))
        )
    if analysis is not None and tx.collapse(analysis.field):
        meta.append((L["field"], tx.md_line(analysis.field)))
    if analysis is not None and res.unverified:
        figures = L["list_sep"].join(tx.md_escape(f) for f in res.unverified)
        meta.append((L["check"], L["unverified"].format(figures)))
    links = [("PDF", f"{state.pdf_url.rstrip('/')}/{p.id}"), ("arXiv", p.abs_url)]
    if entry.on_hf or entry.source == "huggingface":
        links.append(("HuggingFace", p.hf_url))
    code = _code(entry, analysis)
    project = tx.safe_url(p.project_page)
    if code:
        stars = f" ⭐ {p.github_stars}" if p.github_stars and code == tx.safe_url(p.github_repo) else ""
        meta.append((L["code"], f"[{tx.md_escape(tx.url_label(code))}]({code}){stars}"))
        links.append((L["code"], code))
    if project and project != code:
        meta.append((L["project"], f"[{tx.md_escape(tx.url_label(project))}]({project})"))
        links.append((L["project"], project))
    links = [(label, u) for label, url in links if (u := tx.safe_url(url))]
    return _Section(
        entry=entry,
        anchor=anchor,
        title=_title(p),
        abs_url=tx.safe_url(p.abs_url) or "",
        score=_num(score.score) if score else "—",
        badge=badge,
        mode=mode,
        note=_missing_note(state, p.id, res) if mode == "missing" else "",
        kind="deep_dive" if isinstance(analysis, DeepDive) else "analysis",
        analysis=analysis,
        analysis_heading=heading,
        meta=meta,
        abstract=tx.clean_latex(tx.unwrap(p.abstract)),
        findings=tx.key_findings(p.abstract),
        links=links,
    )


def _badges(state: DayState, section: _Section) -> str:
    """HF upvotes, code stars, venue, why it was picked, and the kind of analysis."""
    L = labels(state.language)
    p = section.entry.paper
    score = state.scores.get(p.id)
    venues = (
        [r.detail["venue"] for r in score.reasons if r.kind == "venue" and "venue" in r.detail]
        if score
        else []
    )
    pick = {"hf_top": L["pick_hf_top"], "asked": L["pick_asked"]}.get(state.pick_reasons.get(p.id) or "", "")
    items = [
        f"HF 🔥 {p.hf_upvotes}" if p.hf_upvotes else "",
        f"⭐ {p.github_stars}" if p.github_stars else "",
        *(tx.md_escape(v) for v in venues),
        pick,
        _seen(state, p.id, L),
        section.badge,
    ]
    return " · ".join(i for i in items if i)


def _pick(state: DayState, section: _Section) -> _Pick:
    score = state.scores.get(section.entry.paper.id)
    telling = (
        sorted((r for r in score.reasons if r.kind != "base" and r.points > 0), key=lambda r: -r.points)
        if score
        else []
    )
    reasons = " · ".join(tx.md_escape(reason_text(r, state.language)) for r in telling[:TOP_REASONS])
    res = state.results.get(section.entry.paper.id)
    return _Pick(
        anchor=section.anchor,
        title=section.title,
        score=section.score,
        badges=_badges(state, section),
        one_line=res.one_line if res is not None and section.mode == "ok" else "",
        note=section.note.removeprefix("> "),
        reasons=reasons,
    )


def _row(state: DayState, entry: Entry, L: dict[str, str]) -> _Row:
    p = entry.paper
    score = state.scores.get(p.id)
    reasons = (
        [reason_text(r, state.language, short=True) for r in score.reasons if r.kind != "base"]
        if score
        else []
    )
    flags = [
        L["flag_cross"] if entry.cross_list else "",
        L["flag_hf_only"] if entry.source == "huggingface" else "",
    ]
    code = tx.safe_url(p.github_repo) or tx.safe_url(tx.find_code_url(p.comment))
    return _Row(
        title=_title(p),
        url=tx.safe_url(p.abs_url) or "",
        score=_num(score.score) if score else "—",
        authors=_authors(p.authors, L, TABLE_AUTHORS),
        code=f"[{L['code']}]({code})" if code else "—",
        reasons=" · ".join(
            x for x in (tx.md_escape(" · ".join(x for x in reasons + flags if x)), _seen(state, p.id, L)) if x
        )
        or "—",
    )


def _summary(state: DayState, entries: dict[str, Entry], anchors: dict[str, str]) -> _Summary | None:
    s = state.summary
    if s is None:
        return None
    picks = []
    for pick in s.picks:
        pid = try_normalise_id(pick.paper_id) or pick.paper_id.strip()
        entry = entries.get(pid)
        if entry is None:  # an id the model made up: a link would point at some other paper
            continue
        target = f"#{anchors[pid]}" if pid in anchors else tx.safe_url(entry.paper.abs_url) or ""
        picks.append(
            {"title": _title(entry.paper), "target": target, "reason": pick.reason, "audience": pick.audience}
        )
    return _Summary(themes=s.themes, highlights=s.highlights, directions=s.directions, picks=picks)


def _summary_note(state: DayState, L: dict[str, str]) -> str | None:
    if state.summary is not None or state.llm_off:
        return None
    if state.summary_status == "pending":
        return L["summary_pending"].format(
            _why_pending(state, L, state.summary_error_kind), state.date.isoformat()
        )
    if state.summary_status == "failed":
        return L["summary_failed"].format(
            failure_text(state.summary_error_kind, state.language), state.date.isoformat()
        )
    return None


def _rule(state: DayState, chosen: list[str], ranked: list[Entry], L: dict[str, str]) -> str:
    """The one line saying how the picks were chosen; "highest-scoring" only when it is true."""
    if not chosen:
        return ""
    # Papers asked for on demand were not picked by the rule: they are counted once, apart.
    reasons = [state.pick_reasons.get(pid) for pid in chosen]
    ruled = [pid for pid, why in zip(chosen, reasons, strict=True) if why != "asked"]
    n, asked, sel = len(ruled), len(chosen) - len(ruled), state.selection
    scores = {pid: s.score for pid, s in state.scores.items()}
    lowest_pick = min((scores.get(pid, 0.0) for pid in ruled), default=0.0)
    # Papers an earlier digest analysed were not candidates: they are named apart, not counted as passed over.
    done, skip = len(state.analysed_on.keys() - set(chosen)), set(chosen) | state.analysed_on.keys()
    best_other = next((scores.get(e.paper.id, 0.0) for e in ranked if e.paper.id not in skip), None)
    if not ruled:
        rule = L["rule_asked_only"].format(asked)
    elif best_other is None or lowest_pick >= best_other:
        rule = L["rule_top"].format(n)
    else:
        rule = (L["rule_interest"] if sel.prefer_interest_matches else L["rule_score"]).format(n)
        if sel.min_score > 0:
            rule += L["rule_min"].format(_num(sel.min_score))
    rule += L["rule_hf"].format(hf) if (hf := reasons.count("hf_top")) else ""
    rule += L["rule_asked"].format(asked) if asked and ruled else ""
    rule += L["rule_done"].format(done) if done and ruled else ""
    return rule + L["rule_order"] + (L["rule_meta"] if state.llm_off else "") + L["full_stop"]


def _overview(state: DayState, sections: list[_Section]) -> str:
    L = labels(state.language)
    n = state.listing()
    # Each clause is a count of its own: none is a sub-count of a clause that may read 0.
    parts = [
        L["ov_arxiv"].format(n.arxiv) + (L["ov_cross"].format(n.cross) if n.cross else "") if n.arxiv else "",
        L["ov_hf_only"].format(n.hf_only) if n.hf_only else "",
        L["ov_on_hf"].format(n.on_hf) if n.on_hf else "",
    ]
    parts = [p for p in parts if p]
    out = [L["ov_scanned"].format(n.total) + (L["ov_parts"].format(L["ov_sep"].join(parts)) if parts else "")]
    if n.pruned:  # only the analysed papers are left of the listing
        out.append(L["ov_pruned"])
    if state.llm_off:
        out.append(
            L["ov_skipped"]
        )  # how to turn analyses on is the operator's business: the CLI says it on stderr
    else:
        ok = sum(1 for s in sections if s.mode == "ok")
        deep = sum(1 for s in sections if isinstance(s.analysis, DeepDive))
        failed = sum(1 for s in sections if s.mode == "missing" and s.badge == L["badge_failed"])
        pending = len(sections) - ok - failed
        line = L["ov_analysed"].format(ok, len(sections)) + (L["ov_deep"].format(deep) if deep else "")
        line += (L["ov_failed"].format(failed) if failed else "") + (
            L["ov_pending"].format(pending) if pending else ""
        )
        if state.llm_model:
            line += L["ov_model"].format(tx.md_escape(state.llm_model))
        out.append(line)
    if state.announcement is None:
        out.append(L["ov_no_announcement"])
    out.append(
        {"ok": "", "unavailable": L["hf_unavailable"], "disabled": L["hf_disabled"], "empty": L["hf_empty"]}[
            state.hf_status
        ]
    )
    return L["clause_sep"].join(x for x in out if x) + L["full_stop"]


def _nav(state: DayState, L: dict[str, str]) -> str:
    """Links to the previous and next digests and to the archive."""
    prev, nxt = state.prev_date, state.next_date
    return " · ".join(
        x
        for x in (
            _day_link(prev, L["nav_prev"].format(prev)) if prev else "",
            f"[{L['nav_index']}](index.md)",
            _day_link(nxt, L["nav_next"].format(nxt)) if nxt else "",
        )
        if x
    )


def _day_link(day: dt.date, text: str, fragment: str = "") -> str:
    return f"[{text}]({day.isoformat()}.md{fragment})"


def page_plan(state: DayState) -> tuple[list[Entry], list[str], dict[str, str]]:
    """The day's papers by score, the ids that get a section (in order), and their anchors."""
    entries = unique_entries(state.entries)
    by_id = {e.paper.id: e for e in entries}
    scores = {pid: s.score for pid, s in state.scores.items()}
    ranked = sorted(entries, key=lambda e: (-scores[e.paper.id] if e.paper.id in scores else 1.0, e.paper.id))
    chosen = list(dict.fromkeys(pid for pid in state.selected if pid in by_id))
    # By score, as the rule line says, papers asked for later included (stable: ties keep the selection's order)
    chosen.sort(key=lambda pid: -scores.get(pid, 0.0))
    if not state.selected:
        chosen = [e.paper.id for e in ranked[: state.metadata_sections]]
    used: set[str] = set()
    return ranked, chosen, {pid: _anchor(pid, used) for pid in chosen}


def _context(state: DayState) -> dict[str, object]:
    ranked, chosen, anchors = page_plan(state)
    by_id = {e.paper.id: e for e in ranked}  # ranked holds every unique entry
    sections = [_section(state, by_id[pid], anchors[pid], bool(state.selected)) for pid in chosen]
    L = labels(state.language)
    others = [_row(state, e, L) for e in ranked if e.paper.id not in anchors]
    return {
        "date": state.date.isoformat(),
        "overview": _overview(state, sections),
        "nav": _nav(state, L),
        "summary": _summary(state, by_id, anchors),
        "summary_note": _summary_note(state, L),
        "rule": _rule(state, chosen, ranked, L),
        "picks": [_pick(state, s) for s in sections],
        "sections": sections,
        "others": others,
        "L": L,
        "contents": CONTENTS_ANCHOR,
        "sources": "arXiv" + (L["sources_hf"] if state.hf_status == "ok" else ""),
        "model": None if state.llm_off else state.llm_model,
    }


# ---------------------------------------------------------------- public API


@functools.cache  # one per language: the template is compiled once, not on every digest written
def _environment(language: str = "zh") -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader(
            "digest.page", "templates"
        ),  # package data, read through importlib.resources
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(
        link=tx.md_escape,
        cell=tx.md_escape,
        text=tx.md_text,
        prose=tx.md_block,
        line=tx.md_line,
        url=lambda u: tx.safe_url(u) or "",
        label=tx.url_label,
    )
    colon = labels(language)["colon"]
    env.filters["field"] = lambda value, label: _labelled(value, label, colon=colon)
    env.filters["fill"] = lambda template, *args: str(template).format(*args)
    env.filters["steps"] = lambda items: [re.sub(r"^\s*(\d+[.)、:：]|[-*•])\s*", "", str(i)) for i in items]
    return env


def _labelled(value: object, label: str, *, colon: str = "：") -> str:
    """`**label：** text` inline for a one-paragraph answer; label on its own line above longer ones."""
    body = tx.md_block(value)
    sep = "\n\n" if "\n" in body or re.match(r"[-*+] |\d+[.)] ", body) else " "
    return f"**{label}{colon}**{sep}{body}"


def render_digest(state: DayState) -> str:
    """Render the day's digest as Markdown."""
    text = _environment(state.language).get_template("digest.md.j2").render(**_context(state))
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.strip() + "\n"
