"""DayState: the one read model of a date, built from the store (no network, no LLM).

The digest, `status`, the archive index and feed, the scheduler and the exit code all read it, so
they agree on what is analysed, failed or pending and on when the summary is pending.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from digest.config import Config, SelectionConfig
from digest.models import Announcement, Entry, PaperWarning, Scored
from digest.schemas import SCHEMAS, SUMMARY_TEMPLATE, Analysis, DeepDive, ExecutiveSummary, summary_key
from digest.store import Store, Task

Status = Literal["ok", "failed", "pending"]


class PaperResult(BaseModel):
    """One selected paper's analysis task: its state and, when it ended ok, its answer."""

    kind: Literal["analysis", "deep_dive"] = "analysis"
    status: Status = "pending"
    analysis: Analysis | DeepDive | None = None
    fulltext: bool = True  # False: the deep dive only saw the abstract
    warnings: list[PaperWarning] = Field(default_factory=list)
    error_kind: str | None = None  # why it failed (errors.*.kind)
    last_error: str | None = None  # the last error, for `status` (never on the page)
    attempts: int = 0

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


class DayState(BaseModel):
    """Everything stored about one date that any reader of it needs."""

    date: dt.date
    announcement: Announcement | None = None
    entries: list[Entry] = Field(default_factory=list)
    scores: dict[str, Scored] = Field(default_factory=dict)
    selected: list[str] = Field(default_factory=list)  # analysed paper ids, in rank order
    pick_reasons: dict[str, str | None] = Field(default_factory=dict)  # models.PickReason by paper id
    results: dict[str, PaperResult] = Field(default_factory=dict)
    summary: ExecutiveSummary | None = None
    summary_status: Literal["ok", "failed", "pending", "none"] = "none"
    summary_error_kind: str | None = None
    summary_warnings: list[str] = Field(default_factory=list)  # e.g. picks the model made up and we dropped
    hf_status: Literal["ok", "unavailable", "disabled", "empty"] = "ok"
    hf_error: str | None = None
    llm_model: str | None = None
    llm_off: bool = False  # no LLM configured and nothing ever asked: a metadata-only digest
    llm_key_env: str | None = None  # the variable that turns the LLM on
    language: Literal["zh", "en"] = "zh"
    pdf_url: str = "https://arxiv.org/pdf"
    metadata_sections: int = Field(default=10, ge=0)  # sections of a digest with nothing selected
    selection: SelectionConfig = Field(default_factory=SelectionConfig)  # the rule the picks followed
    prev_date: dt.date | None = None  # the neighbouring digests on disk
    next_date: dt.date | None = None
    digest_path: Path | None = None
    written: bool = False
    last_run: dict[str, Any] | None = None
    quota_resets_at: dt.datetime | None = None  # the daily LLM quota ran out: nothing is sent before then
    timezone: str = "Asia/Shanghai"  # the reader's, for times on the page

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
        return self.llm_off or (counts["failed"] == 0 and counts["pending"] == 0
                                and self.summary_status in ("ok", "none"))

    @property
    def complete(self) -> bool:
        """The digest is written and nothing is left to do."""
        return self.written and self.analyses_done


def digest_path(cfg: Config, date: dt.date) -> Path:
    """output/YYYY-MM-DD.md."""
    return Path(cfg.output.dir) / f"{date.isoformat()}.md"


def stored_answer(store: Store, date: dt.date, key: str, template: str,
                  task: Task | None = None) -> tuple[Any, dict] | None:
    """The validated answer of a task of `date` that ended ok, with its meta; None otherwise."""
    task = task if task is not None else store.get_task(date, key, template)
    cached = store.cache_latest(key, template) if task is not None and task.status == "ok" else None
    return (SCHEMAS[template].model_validate(cached[0]), cached[1]) if cached else None


def _warnings(meta: dict) -> list[PaperWarning]:
    out = []
    for w in meta.get("warnings") or []:
        if isinstance(w, dict):
            out.append(PaperWarning.model_validate(w))
        elif isinstance(w, str) and w.startswith("unverified_figure: "):
            # answers cached before warnings were data carry "unverified_figure: 12.5, 30%"
            out.append(PaperWarning(figures=[f.strip() for f in w.split(": ", 1)[1].split(",") if f.strip()]))
    return out


def _result(store: Store, date: dt.date, pid: str, template: str, task: Task | None) -> PaperResult:
    kind = "deep_dive" if template == "deep_dive" else "analysis"
    answer = stored_answer(store, date, pid, template, task)
    if answer is not None:
        analysis, meta = answer
        return PaperResult(kind=kind, status="ok", analysis=analysis, attempts=task.attempts if task else 0,
                           fulltext=bool(meta.get("fulltext", template == "deep_dive")), warnings=_warnings(meta))
    if task is not None and task.status == "failed":
        return PaperResult(kind=kind, status="failed", error_kind=task.error_kind, last_error=task.last_error,
                           attempts=task.attempts)
    return PaperResult(kind=kind, status="pending", attempts=task.attempts if task else 0)


def _neighbours(cfg: Config, dates: list[dt.date], date: dt.date) -> tuple[dt.date | None, dt.date | None]:
    written = [d for d in dates if d != date and digest_path(cfg, d).exists()]
    before = [d for d in written if d < date]
    after = [d for d in written if d > date]
    return (before[-1] if before else None), (after[0] if after else None)


def load_day_state(cfg: Config, store: Store, date: dt.date) -> DayState | None:
    """The state of `date` from the store, loading each table once; None if nothing is stored."""
    day = store.load_day(date)
    if day is None:
        return None
    picks = store.load_selection(date)
    tasks = {(t.key, t.template): t for t in store.tasks(date)}
    llm_off = not tasks and not cfg.llm_configured()
    results = {} if llm_off else {pid: _result(store, date, pid, tpl, tasks.get((pid, tpl))) for pid, tpl in picks}
    summary, summary_status, summary_kind, summary_warnings = None, "none", None, []
    task = tasks.get((summary_key(date.isoformat()), SUMMARY_TEMPLATE))
    if task is not None:
        summary_status, summary_kind = task.status, task.error_kind
        answer = stored_answer(store, date, task.key, task.template, task)
        if answer is not None:
            summary, summary_warnings = answer[0], [str(w) for w in answer[1].get("warnings") or []]
    elif any(r.status == "ok" for r in results.values()):
        summary_status = "pending"  # made once any paper is analysed; not yet asked
    prev_date, next_date = _neighbours(cfg, store.dates(), date)
    path = digest_path(cfg, date)
    runs = store.runs(date)
    return DayState(
        date=date, announcement=day.announcement, entries=day.entries, scores=store.load_scores(date),
        selected=[pid for pid, _ in picks], pick_reasons=store.selection_reasons(date), results=results,
        summary=summary, summary_status=summary_status, summary_error_kind=summary_kind,
        summary_warnings=summary_warnings,
        hf_status=day.hf_status, hf_error=day.hf_error, llm_model=None if llm_off else cfg.llm.model,
        llm_off=llm_off, llm_key_env=cfg.llm.api_key_env, language=cfg.language,
        pdf_url=cfg.sources.arxiv.pdf_url, selection=cfg.selection, prev_date=prev_date, next_date=next_date,
        digest_path=path, written=path.exists(), last_run=runs[-1] if runs else None,
        quota_resets_at=store.quota_resets_at(), timezone=cfg.timezone,
    )
