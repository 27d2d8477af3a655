"""DayState: the one read model of a date, as data (digest.day.load builds it from the store).

The digest, `status`, the archive index and feed, the scheduler and the exit code all read it, so
they agree on what is analysed, failed or pending and on when the summary is pending.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from digest.config import SelectionConfig
from digest.models import Announcement, Entry, PaperWarning, Scored, TaskStatus
from digest.schemas import Analysis, DeepDive, ExecutiveSummary


class TaskRecord(BaseModel):
    """One LLM task of the date (a pick's analysis or the executive summary): its state, the day's attempts
    from the call log (every run's requests that carried it) and the day's budget (llm.max_attempts_per_day)."""

    status: TaskStatus = TaskStatus.PENDING
    attempts: int = 0
    budget: int | None = None  # None: no daily budget known (a state made by hand)
    error_kind: str | None = (
        None  # why it failed (errors.*.kind); pending: the failure pattern that stopped the run
    )

    @property
    def spent(self) -> bool:
        """No answer, and the day's attempts are used up: only a command naming it asks again."""
        return (
            self.status in (TaskStatus.FAILED, TaskStatus.PENDING)
            and self.budget is not None
            and self.attempts >= self.budget
        )

    @property
    def retryable(self) -> bool:
        """A plain retry would ask it: pending, or failed with attempts left."""
        return self.status == TaskStatus.PENDING or (self.status == TaskStatus.FAILED and not self.spent)


def unique_entries(entries: list[Entry]) -> list[Entry]:
    """Each paper once, as first listed (a paper listed twice is shown and counted once)."""
    by_id: dict[str, Entry] = {}
    for e in entries:
        by_id.setdefault(e.paper.id, e)
    return list(by_id.values())


class PaperResult(TaskRecord):
    """One selected paper's analysis task: its state and, when it ended ok, its answer."""

    kind: Literal["analysis", "deep_dive"] = "analysis"
    status: TaskStatus = TaskStatus.PENDING  # never NONE
    analysis: Analysis | DeepDive | None = None
    fulltext: bool = True  # False: the deep dive only saw the abstract
    warnings: list[PaperWarning] = Field(default_factory=list)
    last_error: str | None = None  # the last error, for `status` (never on the page)

    @property
    def unverified(self) -> list[str]:
        """Figures of the analysis that the abstract does not contain."""
        return [f for w in self.warnings if w.kind == "unverified_figure" for f in w.figures]

    @property
    def one_line(self) -> str:
        """The analysis in one sentence (一句话总结, or a deep dive's 核心思想)."""
        if isinstance(self.analysis, DeepDive):
            return self.analysis.summary.core_idea
        return self.analysis.one_line if self.analysis is not None else ""


class Listing(BaseModel):
    """How many papers a day listed, by kind; `pruned`: counted before `digest prune` dropped the listing."""

    arxiv: int = 0  # in the announcement, cross-lists included
    cross: int = 0
    hf_only: int = 0
    on_hf: int = 0  # on HF's daily list, HF-only papers included
    pruned: bool = False

    @property
    def total(self) -> int:
        """Papers listed (each once)."""
        return self.arxiv + self.hf_only

    @classmethod
    def of(cls, entries: list[Entry]) -> Listing:
        """The counts of a listing (a paper listed twice counts once, as on the page)."""
        unique = unique_entries(entries)
        arxiv = [e for e in unique if e.source == "arxiv"]
        return cls(
            arxiv=len(arxiv),
            cross=sum(e.cross_list for e in arxiv),
            hf_only=len(unique) - len(arxiv),
            on_hf=sum(e.on_hf or e.source == "huggingface" for e in unique),
        )


class DayState(BaseModel):
    """Everything stored about one date that any reader of it needs."""

    date: dt.date
    announcement: Announcement | None = None
    entries: list[Entry] = Field(default_factory=list)
    pruned_listing: Listing | None = None  # the day's counts when `digest prune` dropped its listing
    scores: dict[str, Scored] = Field(default_factory=dict)
    selected: list[str] = Field(default_factory=list)  # analysed paper ids, in rank order
    templates: dict[str, str] = Field(default_factory=dict)  # each selected paper's template
    pick_reasons: dict[str, str | None] = Field(default_factory=dict)  # models.PickReason by paper id
    results: dict[str, PaperResult] = Field(default_factory=dict)
    summary: ExecutiveSummary | None = None
    summary_status: TaskStatus = TaskStatus.NONE
    summary_error_kind: str | None = None
    summary_attempts: int = 0  # the day's requests for the summary (the call log)
    attempt_budget: int | None = None  # llm.max_attempts_per_day of each task (None: unknown)
    attempts: dict[str, int] = Field(default_factory=dict)  # the day's requests that carried each key
    summary_warnings: list[str] = Field(default_factory=list)  # e.g. picks the model made up and we dropped
    hf_status: Literal["ok", "unavailable", "disabled", "empty"] = "ok"
    hf_error: str | None = None
    llm_model: str | None = None
    llm_off: bool = False  # no LLM configured and nothing ever asked: a metadata-only digest
    language: Literal["zh", "en"] = "zh"
    pdf_url: str = "https://arxiv.org/pdf"
    metadata_sections: int = Field(default=10, ge=0)  # sections of a digest with nothing selected
    selection: SelectionConfig = Field(default_factory=SelectionConfig)  # the rule the picks followed
    seen_on: dict[str, dt.date] = Field(default_factory=dict)  # papers an earlier date listed: the latest one
    analysed_on: dict[str, dt.date] = Field(default_factory=dict)  # ... analysed there: not picked again
    prev_date: dt.date | None = None  # the neighbouring digests on disk
    next_date: dt.date | None = None
    digest_path: Path | None = None
    written: bool = False
    last_run: dict[str, Any] | None = None
    runs: list[dict[str, Any]] = Field(default_factory=list)  # every command on the date, oldest first
    quota_resets_at: dt.datetime | None = None  # the daily LLM quota ran out: nothing is sent before then
    timezone: str = "Asia/Shanghai"  # the reader's, for times on the page

    def listing(self) -> Listing:
        """The day's listing by kind: as fetched, or as it was before it was pruned."""
        return self.pruned_listing or Listing.of(self.entries)

    @property
    def picks(self) -> list[tuple[str, str]]:
        """The stored selection as (paper id, template), in rank order."""
        return [(pid, self.templates.get(pid, "analysis")) for pid in self.selected]

    @property
    def summary_record(self) -> TaskRecord:
        """The executive summary as a task record (status `none`: nothing analysed to summarise yet)."""
        return TaskRecord(
            status=self.summary_status,
            attempts=self.summary_attempts,
            budget=self.attempt_budget,
            error_kind=self.summary_error_kind,
        )

    def attempts_spent(self, key: str) -> bool:
        """The day's attempts of a task (a paper id, or the summary's key) are used up, answered or not."""
        return self.attempt_budget is not None and self.attempts.get(key, 0) >= self.attempt_budget

    def answered(self, pid: str, template: str | None = None) -> bool:
        """The pick has a stored answer (in `template`, when given)."""
        r = self.results.get(pid)
        return r is not None and r.status == TaskStatus.OK and (template is None or r.kind == template)

    def counts(self) -> dict[str, int]:
        """Selected papers by task state (all zero for a metadata-only digest)."""
        counts = {"ok": 0, "failed": 0, "pending": 0}
        for r in self.results.values():
            counts[r.status] += 1
        return counts

    @property
    def analyses_done(self) -> bool:
        """Nothing failed or pending: every selected paper and the summary are analysed (or none was asked)."""
        counts = self.counts()
        return self.llm_off or (
            counts["failed"] == 0
            and counts["pending"] == 0
            and self.summary_status in (TaskStatus.OK, TaskStatus.NONE)
        )

    @property
    def complete(self) -> bool:
        """The digest is written and nothing is left to do."""
        return self.written and self.analyses_done
