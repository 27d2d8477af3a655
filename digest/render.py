"""Render one day's digest to Markdown (digest/templates/digest.md.j2) and write it atomically.

Sections: when `selected` is non-empty, one section per selected paper (in that order) that is
among the entries; otherwise (metadata-only digest) the top `metadata_sections` papers by score.
Every other entry goes into the compact table of the table of contents.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import jinja2
from pydantic import BaseModel, Field

from digest import text as tx
from digest.ids import try_normalise_id
from digest.labels import labels
from digest.models import Announcement, Entry, Paper, Scored
from digest.schemas import Analysis, DeepDive, ExecutiveSummary

PLACEHOLDER = labels("zh")["placeholder"]
MAX_AUTHORS = 8
Status = Literal["ok", "failed", "pending"]
_CJK = re.compile(r"[\u4e00-\u9fff]")


class PaperResult(BaseModel):
    """The LLM result for one selected paper, as the store holds it."""

    kind: Literal["analysis", "deep_dive"] = "analysis"
    status: Status = "pending"
    analysis: Analysis | DeepDive | None = None
    fulltext: bool = True  # False: the deep dive only saw the abstract
    unverified: list[str] = Field(default_factory=list)  # figures the abstract does not contain


class DigestView(BaseModel):
    """Everything the digest template needs for one date."""

    date: dt.date
    announcement: Announcement | None = None
    entries: list[Entry] = Field(default_factory=list)
    scores: dict[str, Scored] = Field(default_factory=dict)
    selected: list[str] = Field(default_factory=list)  # analysed paper ids, in order
    results: dict[str, PaperResult] = Field(default_factory=dict)
    summary: ExecutiveSummary | None = None
    summary_status: Literal["ok", "failed", "pending", "none"] = "none"
    hf_status: Literal["ok", "unavailable", "disabled", "empty"] = "ok"
    llm_model: str | None = None
    llm_disabled_reason: str | None = None  # set: no LLM configured, metadata-only digest
    llm_key_env: str | None = None  # env var to name when the reason does not
    language: Literal["zh", "en"] = "zh"  # headings and labels: digest/labels.py
    pdf_url: str = "https://arxiv.org/pdf"
    metadata_sections: int = Field(default=10, ge=0)  # sections in a digest with nothing selected


@dataclass
class _Section:
    entry: Entry
    anchor: str
    title: str
    abs_url: str
    score: str
    badge: str
    mode: Literal["ok", "placeholder", "meta"]
    kind: Literal["analysis", "deep_dive"]
    analysis: Analysis | DeepDive | None
    analysis_heading: str
    meta: list[tuple[str, str]]  # (label, already-escaped Markdown value)
    abstract: str
    findings: list[str]
    links: list[tuple[str, str]]  # (label, url)


@dataclass
class _Row:
    title: str
    url: str
    score: str
    reason: str
    flags: str


@dataclass
class _Summary:
    themes: list[str]
    highlights: list[str]
    directions: list[str]
    picks: list[dict[str, str]] = field(default_factory=list)


# ---------------------------------------------------------------- small formatting helpers


def _num(x: float) -> str:
    return str(int(round(x))) if abs(x - round(x)) < 0.05 else f"{x:.1f}"


def _reason(r) -> str:
    # The scorer's reason text already carries its points ("兴趣: diffusion (标题) +8").
    return tx.collapse(r.text)


def _title(paper: Paper) -> str:
    """The title as shown; a paper whose title is empty (or only markup) is shown as its id."""
    return tx.clean_latex(paper.title).strip() or paper.id


def _score_value(view: DigestView, pid: str) -> float | None:
    s = view.scores.get(pid)
    return s.score if s is not None else None


def _anchor(pid: str, used: set[str]) -> str:
    base = re.sub(r"[^A-Za-z0-9._-]", "-", pid) or "paper"
    anchor, n = base, 2
    while anchor in used:
        anchor, n = f"{base}-{n}", n + 1
    used.add(anchor)
    return anchor


def _authors(names: list[str], L: dict[str, str]) -> str:
    names = [tx.collapse(n) for n in names if tx.collapse(n)]
    if not names:
        return L["unknown_authors"]
    shown = ", ".join(tx.md_escape(n) for n in names[:MAX_AUTHORS])
    return shown if len(names) <= MAX_AUTHORS else L["more_authors"].format(shown, len(names))


def _categories(entry: Entry, L: dict[str, str]) -> str:
    p = entry.paper
    cats = list(dict.fromkeys(([p.primary_category] if p.primary_category else []) + p.categories))
    text = ", ".join(tx.md_escape(c) for c in cats) or "—"
    return text + (L["cross_list_note"] if entry.cross_list else "")


def _source(entry: Entry, L: dict[str, str]) -> str:
    up = entry.paper.hf_upvotes
    hf = "HuggingFace" + (L["upvotes"].format(up) if up else "")
    if entry.source == "huggingface":
        return L["hf_only_note"].format(hf)
    return f"arXiv · {hf}" if entry.on_hf else "arXiv"


def _code(entry: Entry, analysis: Analysis | DeepDive | None) -> str | None:
    p = entry.paper
    return (tx.safe_url(p.github_repo) or tx.safe_url(analysis.code_url if analysis else None)
            or tx.safe_url(tx.find_code_url(p.comment, p.abstract)))


# ---------------------------------------------------------------- building blocks


def _section(view: DigestView, entry: Entry, anchor: str, selected: bool) -> _Section:
    p = entry.paper
    res = view.results.get(p.id) if selected else None
    ok = res is not None and res.status == "ok" and res.analysis is not None
    analysis = res.analysis if ok else None
    if ok:
        mode = "ok"
    elif selected and view.llm_disabled_reason is None:
        mode = "placeholder"
    else:
        mode = "meta"
    L = labels(view.language)
    heading, badge = L["analysis"], ""
    if isinstance(analysis, DeepDive):
        heading = L["deep_full"] if res.fulltext else L["deep_abstract"]
        badge = L["badge_deep_full"] if res.fulltext else L["badge_deep_abstract"]
    elif mode == "placeholder":
        badge = L["badge_pending"]
    score = view.scores.get(p.id)
    meta = [(L["authors"], _authors(p.authors, L))]
    if p.published:
        meta.append((L["published"], p.published.date().isoformat()))
    meta += [(L["categories"], _categories(entry, L)), (L["source"], _source(entry, L))]
    if score is not None:
        reasons = " · ".join(tx.md_escape(_reason(r)) for r in score.reasons)
        meta.append((L["score"], f"{_num(score.score)}/100" + (L["paren"].format(reasons) if reasons else "")))
    if analysis is not None and tx.collapse(analysis.field):
        meta.append((L["field"], tx.md_line(analysis.field)))
    if analysis is not None and res.unverified:
        figures = L["list_sep"].join(tx.md_escape(f) for f in res.unverified)
        meta.append((L["check"], L["unverified"].format(figures)))
    links = [("PDF", f"{view.pdf_url.rstrip('/')}/{p.id}"), ("arXiv", p.abs_url)]
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
        entry=entry, anchor=anchor, title=_title(p), abs_url=tx.safe_url(p.abs_url) or "",
        score=_num(score.score) if score else "—", badge=badge, mode=mode,
        kind="deep_dive" if isinstance(analysis, DeepDive) else "analysis", analysis=analysis,
        analysis_heading=heading, meta=meta, abstract=tx.clean_latex(tx.unwrap(p.abstract)),
        findings=tx.key_findings(p.abstract), links=links,
    )


def _flags(entry: Entry, L: dict[str, str]) -> str:
    flags = [L["flag_cross"] if entry.cross_list else "", L["flag_hf_only"] if entry.source == "huggingface" else "",
             f"HF 🔥{entry.paper.hf_upvotes}" if entry.paper.hf_upvotes else ""]
    return " · ".join(f for f in flags if f)


def _row(view: DigestView, entry: Entry) -> _Row:
    score = view.scores.get(entry.paper.id)
    # The most telling reason: the base points every paper gets say nothing.
    telling = [r for r in score.reasons if r.kind != "base"] if score else []
    top = max(telling, key=lambda r: r.points, default=None)
    return _Row(title=_title(entry.paper), url=tx.safe_url(entry.paper.abs_url) or "",
                score=_num(score.score) if score else "—", reason=_reason(top) if top else "",
                flags=_flags(entry, labels(view.language)))


def _summary(view: DigestView, entries: dict[str, Entry], anchors: dict[str, str]) -> _Summary | None:
    s = view.summary
    if s is None:
        return None
    picks = []
    for pick in s.picks:
        pid = try_normalise_id(pick.paper_id) or pick.paper_id.strip()
        entry = entries.get(pid)
        if entry is None:  # an id the model made up: a link would point at some other paper
            continue
        target = f"#{anchors[pid]}" if pid in anchors else tx.safe_url(entry.paper.abs_url) or ""
        picks.append({"title": _title(entry.paper), "target": target,
                      "reason": pick.reason, "audience": pick.audience})
    return _Summary(themes=s.themes, highlights=s.highlights, directions=s.directions, picks=picks)


def _env_var(view: DigestView) -> str | None:
    if view.llm_key_env:
        return view.llm_key_env
    m = re.search(r"\b[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+\b", view.llm_disabled_reason or "")
    return m.group(0) if m else None


def _skipped(view: DigestView, L: dict[str, str]) -> str:
    """Why the analyses were skipped, with a hint naming the key's environment variable."""
    reason = tx.md_escape(view.llm_disabled_reason).rstrip("。.")
    env = _env_var(view)
    foreign = view.language != "zh" and _CJK.search(reason)  # the store's note is Chinese: the hint says it
    hint = L["ov_env_hint"].format(env) if env and (foreign or env not in reason) else ""
    if foreign:
        return L["ov_skipped_bare"] + hint
    return (reason if L["ov_skipped_word"] in reason.lower() else L["ov_skipped"].format(reason)) + hint


def _overview(view: DigestView, sections: list[_Section]) -> str:
    L = labels(view.language)
    entries = _unique_entries(view)
    new = sum(1 for e in entries if e.source == "arxiv" and not e.cross_list)
    cross = sum(1 for e in entries if e.source == "arxiv" and e.cross_list)
    hf_only = sum(1 for e in entries if e.source == "huggingface")
    parts = [L["ov_new"].format(new), L["ov_cross"].format(cross)]
    if view.hf_status == "ok" or hf_only:
        parts.append(L["ov_hf_only"].format(hf_only))
    on_hf = sum(1 for e in entries if e.source == "arxiv" and e.on_hf)
    tail = L["ov_on_hf"].format(on_hf) if on_hf else ""
    out = [L["ov_scanned"].format(len(entries), " · ".join(parts), tail)]
    if view.llm_disabled_reason is not None:
        out.append(L["ov_top"].format(_skipped(view, L), len(sections)))
    else:
        ok = sum(1 for s in sections if s.mode == "ok")
        deep = sum(1 for s in sections if isinstance(s.analysis, DeepDive))
        missing = len(sections) - ok
        line = L["ov_analysed"].format(ok, len(sections)) + (L["ov_deep"].format(deep) if deep else "")
        if missing:
            line += L["ov_missing"].format(missing)
        if view.llm_model:
            line += L["ov_model"].format(tx.md_escape(view.llm_model))
        out.append(line)
    if view.announcement is None:
        out.append(L["ov_no_announcement"])
    out.append({"ok": "", "unavailable": L["hf_unavailable"], "disabled": L["hf_disabled"],
                "empty": L["hf_empty"]}[view.hf_status])
    return L["clause_sep"].join(x for x in out if x) + L["full_stop"]


def _unique_entries(view: DigestView) -> list[Entry]:
    seen: dict[str, Entry] = {}
    for e in view.entries:
        seen.setdefault(e.paper.id, e)
    return list(seen.values())


def _context(view: DigestView) -> dict[str, object]:
    entries = _unique_entries(view)
    by_id = {e.paper.id: e for e in entries}
    def rank(e: Entry) -> tuple[float, str]:
        score = _score_value(view, e.paper.id)
        return (-score if score is not None else 1.0, e.paper.id)  # unscored papers last

    ranked = sorted(entries, key=rank)
    chosen = list(dict.fromkeys(pid for pid in view.selected if pid in by_id))
    is_selected = bool(view.selected)
    if not is_selected:
        chosen = [e.paper.id for e in ranked[: view.metadata_sections]]
    used: set[str] = set()
    anchors = {pid: _anchor(pid, used) for pid in chosen}
    sections = [_section(view, by_id[pid], anchors[pid], is_selected) for pid in chosen]
    others = [_row(view, e) for e in ranked if e.paper.id not in anchors]
    summary = _summary(view, by_id, anchors)
    L = labels(view.language)
    summary_note = None
    if summary is None and view.llm_disabled_reason is None and view.summary_status in ("failed", "pending"):
        summary_note = L["summary_note"]
    return {
        "date": view.date.isoformat(), "overview": _overview(view, sections), "summary": summary,
        "summary_note": summary_note, "sections": sections, "others": others, "L": L,
        "toc_heading": L["toc_selected"] if is_selected else L["toc_top"], "placeholder": L["placeholder"],
        "sources": "arXiv" + (L["sources_hf"] if view.hf_status == "ok" else ""),
        "model": view.llm_model if view.llm_disabled_reason is None else None,
    }


# ---------------------------------------------------------------- public API


def _environment(language: str = "zh") -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("digest", "templates"),  # package data, read through importlib.resources
        undefined=jinja2.StrictUndefined, autoescape=False,
        trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
    )
    env.filters.update(link=tx.md_escape, cell=tx.md_escape, text=tx.md_text, prose=tx.md_block,
                       line=tx.md_line, url=lambda u: tx.safe_url(u) or "", label=tx.url_label)
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


def render_digest(view: DigestView) -> str:
    """Render the day's digest as Markdown."""
    text = _environment(view.language).get_template("digest.md.j2").render(**_context(view))
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.strip() + "\n"


def atomic_write(path: Path, text: str) -> None:
    """Write text to path atomically: temp file in the same directory, fsync, rename, fsync dir."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; the digest is meant to be read
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_dir(path.parent)


def _fsync_dir(directory: Path) -> None:
    # Makes the rename durable; not every platform lets a directory be opened.
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)
