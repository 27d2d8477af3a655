"""The executive summary's record, and the folded table of every paper that got no section."""

from __future__ import annotations

from dataclasses import dataclass, field

from digest import text as tx
from digest.day.state import DayState
from digest.ids import try_normalise_id
from digest.language import reason_text
from digest.models import Entry, Scored
from digest.page.common import TABLE_AUTHORS, authors, num, paper_title, seen


@dataclass
class Row:
    title: str
    url: str
    score: str
    authors: str  # already-escaped Markdown
    code: str  # a Markdown link or —
    reasons: str  # already-escaped Markdown


@dataclass
class Summary:
    themes: list[str]
    highlights: list[str]
    directions: list[str]
    picks: list[dict[str, str]] = field(default_factory=list)


def row(state: DayState, entry: Entry, L: dict[str, str]) -> Row:
    p = entry.paper
    score = state.scores.get(p.id)
    code = tx.safe_url(p.github_repo) or tx.safe_url(tx.find_code_url(p.comment))
    return Row(
        title=paper_title(p),
        url=tx.safe_url(p.abs_url) or "",
        score=num(score.score) if score else "—",
        authors=authors(p.authors, L, TABLE_AUTHORS),
        code=f"[{L['code']}]({code})" if code else "—",
        reasons=_row_reasons(state, entry, score, L),
    )


def _row_reasons(state: DayState, entry: Entry, score: Scored | None, L: dict[str, str]) -> str:
    """The score's reasons in short, the cross-list and HF-only flags, and when it was seen before."""
    reasons = (
        [reason_text(r, state.language, short=True) for r in score.reasons if r.kind != "base"]
        if score
        else []
    )
    flags = [
        L["flag_cross"] if entry.cross_list else "",
        L["flag_hf_only"] if entry.source == "huggingface" else "",
    ]
    why = tx.md_escape(" · ".join(x for x in reasons + flags if x))
    return " · ".join(x for x in (why, seen(entry.paper.id, state.analysed_on, state.seen_on, L)) if x) or "—"


def summary(state: DayState, entries: dict[str, Entry], anchors: dict[str, str]) -> Summary | None:
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
            {
                "title": paper_title(entry.paper),
                "target": target,
                "reason": pick.reason,
                "audience": pick.audience,
            }
        )
    return Summary(themes=s.themes, highlights=s.highlights, directions=s.directions, picks=picks)
