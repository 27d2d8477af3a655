"""What the page's modules share: the record of a pick's section and the small formatting helpers.

This module reads neither the day's state nor the language table (digest.day.state, digest.language):
the modules that do (sections, picks, table) import it, and render imports them, one level each.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from digest import text as tx
from digest.models import Entry, Paper
from digest.schemas import Analysis, DeepDive

MAX_AUTHORS = 8
TABLE_AUTHORS = 3
TOP_REASONS = 3
CONTENTS_ANCHOR = "contents"


@dataclass
class Section:
    """A pick's section, built by sections.section and read by the picks and the overview too."""

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


def num(x: float) -> str:
    return str(int(round(x))) if abs(x - round(x)) < 0.05 else f"{x:.1f}"


def paper_title(paper: Paper) -> str:
    """The title as shown; a paper whose title is empty (or only markup) is shown as its id."""
    return tx.clean_latex(paper.title).strip() or paper.id


def anchor(pid: str, used: set[str]) -> str:
    base = re.sub(r"[^A-Za-z0-9._-]", "-", pid) or "paper"
    name, n = base, 2
    while name in used or name == CONTENTS_ANCHOR:
        name, n = f"{base}-{n}", n + 1
    used.add(name)
    return name


def authors(names: list[str], L: dict[str, str], limit: int = MAX_AUTHORS) -> str:
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


def seen(
    pid: str, analysed_on: Mapping[str, dt.date], seen_on: Mapping[str, dt.date], L: dict[str, str]
) -> str:
    """The "已见于 MM-DD" note: the earlier digest that listed the paper, linked to its analysis if any."""
    day = analysed_on.get(pid) or seen_on.get(pid)
    where = f"#{anchor(pid, set())}" if pid in analysed_on else ""  # a pick's anchor is its id's
    return L["seen_on"].format(day_link(day, f"{day:%m-%d}", where)) if day else ""


def day_link(day: dt.date, text: str, fragment: str = "") -> str:
    return f"[{text}]({day.isoformat()}.md{fragment})"
