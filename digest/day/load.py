"""A date's DayState built from the store (no network, no LLM)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from digest.config import Config
from digest.day.state import DayState, Listing, PaperResult, TaskRecord
from digest.models import PaperWarning, TaskStatus, Template
from digest.schemas import SCHEMAS, SUMMARY_TEMPLATE, summary_key
from digest.store import Store, Task


def digest_path(cfg: Config, date: dt.date) -> Path:
    """output/YYYY-MM-DD.md."""
    return Path(cfg.output.dir) / f"{date.isoformat()}.md"


def stored_answer(
    store: Store, date: dt.date, key: str, template: str, task: Task | None = None
) -> tuple[Any, dict] | None:
    """The validated answer of a task of `date` that ended ok, with its meta; None otherwise."""
    task = task if task is not None else store.get_task(date, key, template)
    cached = store.cache_latest(key, template) if task is not None and task.status == TaskStatus.OK else None
    return (SCHEMAS[template].model_validate(cached[0]), cached[1]) if cached else None


def _warnings(meta: dict) -> list[PaperWarning]:
    # Figure warnings are data (store migration 8 converted older ones); other entries are not paper warnings.
    return [PaperWarning.model_validate(w) for w in meta.get("warnings") or [] if isinstance(w, dict)]


def spent_message(budget: int, date: dt.date, pid: str) -> str:
    """Why a paper is no longer asked, and the command that asks it again."""
    return (
        f"llm.max_attempts_per_day ({budget}) spent; `digest retry --date {date} --paper {pid}` tries again"
    )


def _result(
    store: Store, date: dt.date, pid: str, template: str, task: Task | None, *, attempts: int, budget: int
) -> PaperResult:
    """A pick's record: the day's attempts come from the call log, whatever the last run's task counted; a
    paper without an answer whose attempts are spent is failed, never pending (a plain retry skips it)."""
    kind = "deep_dive" if template == Template.DEEP_DIVE else "analysis"
    answer = stored_answer(store, date, pid, template, task)
    if answer is not None:
        analysis, meta = answer
        return PaperResult(
            kind=kind,
            status=TaskStatus.OK,
            analysis=analysis,
            attempts=attempts,
            budget=budget,
            fulltext=bool(meta.get("fulltext", template == Template.DEEP_DIVE)),
            warnings=_warnings(meta),
        )
    record = PaperResult(
        kind=kind,
        status=TaskStatus.FAILED
        if task is not None and task.status == TaskStatus.FAILED
        else TaskStatus.PENDING,
        attempts=attempts,
        budget=budget,
        error_kind=task.error_kind if task else None,
        last_error=task.last_error if task and task.status == TaskStatus.FAILED else None,
    )
    if record.status == TaskStatus.PENDING and record.spent:
        record.status, record.error_kind = TaskStatus.FAILED, "budget"
        record.last_error = spent_message(budget, date, pid)
    return record


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
    budget, used = cfg.attempts_per_day(), store.attempts_by_paper(date)
    results = {}
    if not llm_off:
        for pid, tpl in picks:
            task = tasks.get((pid, tpl))
            results[pid] = _result(store, date, pid, tpl, task, attempts=used[pid], budget=budget)
    summary, summary_status, summary_kind, summary_warnings = None, TaskStatus.NONE, None, []
    key = summary_key(date.isoformat())
    task = tasks.get((key, SUMMARY_TEMPLATE))
    analysed = any(r.status == TaskStatus.OK for r in results.values())
    # nothing analysed (any more): no summary to show or to ask, whatever an earlier one was
    if analysed and task is not None:
        summary_status, summary_kind = task.status, task.error_kind
        if task.status == TaskStatus.PENDING and TaskRecord(attempts=used[key], budget=budget).spent:
            summary_status, summary_kind = TaskStatus.FAILED, "budget"  # spent: failed, never pending
        answer = stored_answer(store, date, task.key, task.template, task)
        if answer is not None:
            summary, summary_warnings = answer[0], [str(w) for w in answer[1].get("warnings") or []]
    elif analysed:
        summary_status = TaskStatus.PENDING  # made once any paper is analysed; not yet asked
    prev_date, next_date = _neighbours(cfg, store.dates(), date)
    path = digest_path(cfg, date)
    runs = store.runs(date)
    return DayState(
        date=date,
        announcement=day.announcement,
        entries=day.entries,
        scores=store.load_scores(date),
        pruned_listing=Listing.model_validate_json(kept)
        if (kept := store.value(f"listing.{date}"))
        else None,
        selected=[pid for pid, _ in picks],
        templates=dict(picks),
        pick_reasons=store.selection_reasons(date),
        results=results,
        summary=summary,
        summary_status=summary_status,
        summary_error_kind=summary_kind,
        summary_attempts=used[key],
        attempt_budget=budget,
        attempts=dict(used),
        summary_warnings=summary_warnings,
        hf_status=day.hf_status,
        hf_error=day.hf_error,
        llm_model=None if llm_off else cfg.llm.model,
        llm_off=llm_off,
        language=cfg.language,
        pdf_url=cfg.sources.arxiv.pdf_url,
        selection=cfg.selection,
        seen_on=store.listed_before(date),
        analysed_on=store.listed_before(date, analysed=True),
        prev_date=prev_date,
        next_date=next_date,
        digest_path=path,
        written=path.exists(),
        last_run=runs[-1] if runs else None,
        runs=runs,
        quota_resets_at=store.quota_resets_at(),
        timezone=cfg.timezone,
    )
