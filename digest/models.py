"""Plain data shared by every stage: papers, announcements, scores."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Literal, NamedTuple

from pydantic import BaseModel, Field

from digest.text import SafeName, SafeText

Source = Literal["arxiv", "huggingface"]


class TaskStatus(StrEnum):
    """Where an LLM task of a date stands (a StrEnum: it compares equal to the stored strings)."""

    OK = "ok"
    FAILED = "failed"
    PENDING = "pending"
    NONE = "none"  # the summary only: nothing to summarise yet


class Template(StrEnum):
    """The prompt templates a task is asked with."""

    ANALYSIS = "analysis"
    DEEP_DIVE = "deep_dive"
    SUMMARY = "executive_summary"
    RERANK = "rerank"
    PACK = "analysis_pack"


class Paper(BaseModel):
    """One arXiv paper, with what HuggingFace adds when it lists it."""

    id: str  # arXiv id without version, e.g. "2505.23883"
    version: int | None = None
    title: SafeName  # may be "" (the renderer then shows the id)
    authors: list[SafeName] = Field(default_factory=list)
    abstract: SafeText = ""
    categories: list[SafeName] = Field(
        default_factory=list
    )  # arXiv categories only (ACM/MSC classes dropped)
    primary_category: SafeName | None = None
    comment: SafeText | None = None
    journal_ref: SafeName | None = None
    published: dt.datetime | None = None
    updated: dt.datetime | None = None
    # HuggingFace daily papers
    hf_upvotes: int | None = None
    github_repo: SafeName | None = None
    github_stars: int | None = None
    project_page: SafeName | None = None
    ai_keywords: list[SafeName] = Field(default_factory=list)
    ai_summary: SafeText | None = None

    @property
    def abs_url(self) -> str:
        """Link to the abstract page."""
        return f"https://arxiv.org/abs/{self.id}"

    @property
    def hf_url(self) -> str:
        """Link to the HuggingFace paper page."""
        return f"https://huggingface.co/papers/{self.id}"


class Entry(BaseModel):
    """A paper as it appears in one day's digest."""

    paper: Paper
    source: Source = "arxiv"  # where it entered the day: the announcement, or HF only
    cross_list: bool = False  # primary category outside the configured categories
    announce_type: SafeName | None = None  # from RSS when known: new, cross
    on_hf: bool = False  # also in the HF daily list


class Announcement(BaseModel):
    """One arXiv announcement: released at `released`, covering submissions in [window_start, window_end)."""

    released: dt.datetime  # aware; 20:00 America/New_York on a Sun-Thu
    window_start: dt.datetime  # aware, UTC
    window_end: dt.datetime  # aware, UTC

    @property
    def listing_date(self) -> dt.date:
        """The date arXiv's listing and RSS feed carry (the day after the evening release, in ET)."""
        return self.released.date() + dt.timedelta(days=1)


class Reason(BaseModel):
    """One part of a score, as data: worded per language at render time (language.reason_text)."""

    points: float
    kind: str = ""  # base, interest, interest_neg, cap, upvotes, code, page, venue, primary, author, rerank
    detail: dict[str, SafeName] = Field(
        default_factory=dict
    )  # the facts its wording needs: kw, where, n, venue...
    text: SafeName = ""  # only in scores stored before reasons were data: shown as it was written


class PaperWarning(BaseModel):
    """Something the reader should check in an analysis (stored with the answer, worded at render time)."""

    kind: Literal["unverified_figure"] = "unverified_figure"
    figures: list[str] = Field(default_factory=list)  # numbers the abstract does not contain


class Scored(BaseModel):
    """A paper's 0-100 score with the reasons that make it up."""

    id: str
    score: float
    reasons: list[Reason] = Field(default_factory=list)


# Why a paper is among the analysed ones: it matched an interest (picked first), its score, it was the
# day's top HF paper (selection.always_include_hf_top), or the reader asked for it (`digest analyze`).
PickReason = Literal["interest", "score", "hf_top", "asked"]


class Pick(NamedTuple):
    """A paper chosen for analysis and why it was chosen."""

    id: str
    reason: PickReason


class DayPapers(BaseModel):
    """What the fetch stage produced for one digest date."""

    date: dt.date
    announcement: Announcement | None
    entries: list[Entry]
    hf_status: Literal["ok", "unavailable", "disabled", "empty"] = "ok"
    hf_error: SafeName | None = None
    rss_used: bool = False
