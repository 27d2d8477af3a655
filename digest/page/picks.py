"""The top of the page: the overview line, the previous/next links, and today's picks with the rule that
picked them (each pick: rank, title, one-line summary, score, badges and its telling reasons).
"""

from __future__ import annotations

from dataclasses import dataclass

from digest import text as tx
from digest.day.state import DayState, Listing
from digest.language import labels, reason_text
from digest.models import Entry
from digest.page.common import TOP_REASONS, Section, day_link, num, seen
from digest.schemas import DeepDive


@dataclass
class Pick:
    anchor: str
    title: str
    score: str
    badges: str  # already-escaped Markdown
    one_line: str  # model text: through the `line` filter
    note: str  # status of a missing analysis
    reasons: str  # already-escaped Markdown


def pick(state: DayState, section: Section) -> Pick:
    score = state.scores.get(section.entry.paper.id)
    telling = (
        sorted((r for r in score.reasons if r.kind != "base" and r.points > 0), key=lambda r: -r.points)
        if score
        else []
    )
    reasons = " · ".join(tx.md_escape(reason_text(r, state.language)) for r in telling[:TOP_REASONS])
    res = state.results.get(section.entry.paper.id)
    return Pick(
        anchor=section.anchor,
        title=section.title,
        score=section.score,
        badges=badges(state, section),
        one_line=res.one_line if res is not None and section.mode == "ok" else "",
        note=section.note.removeprefix("> "),
        reasons=reasons,
    )


def badges(state: DayState, section: Section) -> str:
    """HF upvotes, code stars, venue, why it was picked, and the kind of analysis."""
    L = labels(state.language)
    p = section.entry.paper
    score = state.scores.get(p.id)
    venues = (
        [r.detail["venue"] for r in score.reasons if r.kind == "venue" and "venue" in r.detail]
        if score
        else []
    )
    why = {"hf_top": L["pick_hf_top"], "asked": L["pick_asked"]}.get(state.pick_reasons.get(p.id) or "", "")
    items = [
        f"HF 🔥 {p.hf_upvotes}" if p.hf_upvotes else "",
        f"⭐ {p.github_stars}" if p.github_stars else "",
        *(tx.md_escape(v) for v in venues),
        why,
        seen(p.id, state.analysed_on, state.seen_on, L),
        section.badge,
    ]
    return " · ".join(i for i in items if i)


# ---------------------------------------------------------------- the rule that picked them


def rule(state: DayState, chosen: list[str], ranked: list[Entry], L: dict[str, str]) -> str:
    """The one line saying how the picks were chosen; "highest-scoring" only when it is true."""
    if not chosen:
        return ""
    # Papers asked for on demand were not picked by the rule: they are counted once, apart.
    reasons = [state.pick_reasons.get(pid) for pid in chosen]
    ruled = [pid for pid, why in zip(chosen, reasons, strict=True) if why != "asked"]
    asked = len(chosen) - len(ruled)
    text = _rule_head(state, chosen, ruled, ranked, L) if ruled else L["rule_asked_only"].format(asked)
    text += L["rule_hf"].format(hf) if (hf := reasons.count("hf_top")) else ""
    if ruled:
        # Papers an earlier digest analysed were not candidates: named apart, not counted as passed over.
        done = len(state.analysed_on.keys() - set(chosen))
        text += L["rule_asked"].format(asked) if asked else ""
        text += L["rule_done"].format(done) if done else ""
    return text + L["rule_order"] + (L["rule_meta"] if state.llm_off else "") + L["full_stop"]


def _rule_head(
    state: DayState, chosen: list[str], ruled: list[str], ranked: list[Entry], L: dict[str, str]
) -> str:
    """How the papers the rule picked were chosen: the top ones, or by interest or score (and its floor)."""
    n, sel = len(ruled), state.selection
    scores = {pid: s.score for pid, s in state.scores.items()}
    lowest_pick = min((scores.get(pid, 0.0) for pid in ruled), default=0.0)
    skip = set(chosen) | state.analysed_on.keys()  # the earlier digests' papers were not candidates
    best_other = next((scores.get(e.paper.id, 0.0) for e in ranked if e.paper.id not in skip), None)
    if best_other is None or lowest_pick >= best_other:
        return L["rule_top"].format(n)
    head = (L["rule_interest"] if sel.prefer_interest_matches else L["rule_score"]).format(n)
    return head + (L["rule_min"].format(num(sel.min_score)) if sel.min_score > 0 else "")


# ---------------------------------------------------------------- overview and navigation


def overview(state: DayState, sections: list[Section]) -> str:
    L = labels(state.language)
    n = state.listing()
    hf_note = {
        "ok": "",
        "unavailable": L["hf_unavailable"],
        "disabled": L["hf_disabled"],
        "empty": L["hf_empty"],
    }
    out = [
        _scanned(n, L),
        L["ov_pruned"] if n.pruned else "",  # only the analysed papers are left of the listing
        # how to turn analyses on is the operator's business: the CLI says it on stderr
        L["ov_skipped"] if state.llm_off else _analysed(state, sections, L),
        L["ov_no_announcement"] if state.announcement is None else "",
        hf_note[state.hf_status],
    ]
    return L["clause_sep"].join(x for x in out if x) + L["full_stop"]


def _scanned(n: Listing, L: dict[str, str]) -> str:
    """How many papers were scanned, and from where."""
    # Each clause is a count of its own: none is a sub-count of a clause that may read 0.
    parts = [
        L["ov_arxiv"].format(n.arxiv) + (L["ov_cross"].format(n.cross) if n.cross else "") if n.arxiv else "",
        L["ov_hf_only"].format(n.hf_only) if n.hf_only else "",
        L["ov_on_hf"].format(n.on_hf) if n.on_hf else "",
    ]
    parts = [p for p in parts if p]
    return L["ov_scanned"].format(n.total) + (L["ov_parts"].format(L["ov_sep"].join(parts)) if parts else "")


def _analysed(state: DayState, sections: list[Section], L: dict[str, str]) -> str:
    """How many picks were analysed (deep dives among them), failed or are pending, and by which model."""
    ok = sum(1 for s in sections if s.mode == "ok")
    deep = sum(1 for s in sections if isinstance(s.analysis, DeepDive))
    failed = sum(1 for s in sections if s.mode == "missing" and s.badge == L["badge_failed"])
    pending = len(sections) - ok - failed
    counts = [
        L["ov_analysed"].format(ok, len(sections)),
        L["ov_deep"].format(deep) if deep else "",
        L["ov_failed"].format(failed) if failed else "",
        L["ov_pending"].format(pending) if pending else "",
        L["ov_model"].format(tx.md_escape(state.llm_model)) if state.llm_model else "",
    ]
    return "".join(counts)


def nav(state: DayState, L: dict[str, str]) -> str:
    """Links to the previous and next digests and to the archive."""
    prev, nxt = state.prev_date, state.next_date
    return " · ".join(
        x
        for x in (
            day_link(prev, L["nav_prev"].format(prev)) if prev else "",
            f"[{L['nav_index']}](index.md)",
            day_link(nxt, L["nav_next"].format(nxt)) if nxt else "",
        )
        if x
    )
