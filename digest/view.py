"""Assemble what the renderer needs for a date from the store (no network, no LLM)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from pydantic import BaseModel

from digest.analyze import FIGURE_WARNING
from digest.config import Config
from digest.jobs import SUMMARY_TEMPLATE, summary_key
from digest.render import DigestView, PaperResult
from digest.schemas import SCHEMAS, ExecutiveSummary
from digest.store import Store


def digest_path(cfg: Config, date: dt.date) -> Path:
    """output/YYYY-MM-DD.md."""
    return Path(cfg.output.dir) / f"{date.isoformat()}.md"


def llm_note(cfg: Config, store: Store, date: dt.date) -> str | None:
    """Why the digest has no analyses, when that is so."""
    if store.tasks(date) or cfg.llm_configured():
        return None
    return f"未设置环境变量 {cfg.llm.api_key_env}，已跳过 LLM 分析（设置后运行 digest retry 或 digest run 即可补全）"


def stored_answer(store: Store, date: dt.date, key: str, template: str) -> tuple[BaseModel, dict] | None:
    """The validated answer of a task of `date` that ended ok, with its meta; None otherwise."""
    task = store.get_task(date, key, template)
    cached = store.cache_latest(key, template) if task is not None and task.status == "ok" else None
    return (SCHEMAS[template].model_validate(cached[0]), cached[1]) if cached else None


def stored_summary(store: Store, date: dt.date) -> ExecutiveSummary | None:
    """The executive summary of `date`, if one was made."""
    answer = stored_answer(store, date, summary_key(date.isoformat()), SUMMARY_TEMPLATE)
    return answer[0] if answer else None  # type: ignore[return-value]


def build_view(cfg: Config, store: Store, date: dt.date) -> DigestView:
    """Everything the digest template needs for a date."""
    day = store.load_day(date)
    if day is None:
        raise ValueError(f"nothing stored for {date}")
    scores = store.load_scores(date)
    picks = store.load_selection(date)
    note = llm_note(cfg, store, date)
    results: dict[str, PaperResult] = {}
    for pid, tpl in picks:
        answer = stored_answer(store, date, pid, tpl)
        if answer is not None:
            result, meta = answer
            unverified = [f.strip() for w in meta.get("warnings") or [] if w.startswith(FIGURE_WARNING)
                          for f in w.removeprefix(FIGURE_WARNING).split(",")]
            results[pid] = PaperResult(kind=tpl, status="ok", analysis=result,
                                       fulltext=bool(meta.get("fulltext", tpl == "deep_dive")),
                                       unverified=unverified)
        else:
            task = store.get_task(date, pid, tpl)
            status = task.status if task is not None and task.status in ("failed", "pending") else "pending"
            results[pid] = PaperResult(kind=tpl, status=status, analysis=None, fulltext=False)
    summary, summary_status = None, "none"
    task = store.get_task(date, summary_key(date.isoformat()), SUMMARY_TEMPLATE)
    if task is not None:
        summary_status = task.status
        summary = stored_summary(store, date)
    elif picks and note is None:
        summary_status = "pending"
    return DigestView(
        date=date, announcement=day.announcement, entries=day.entries, scores=scores,
        selected=[pid for pid, _ in picks],
        results=results if note is None else {}, summary=summary, summary_status=summary_status,
        hf_status=day.hf_status, llm_model=cfg.llm.model if note is None else None,
        llm_disabled_reason=note, language=cfg.language, pdf_url=cfg.sources.arxiv.pdf_url,
    )


def is_complete(view: DigestView) -> tuple[bool, dict[str, int]]:
    """Whether every selected paper and the summary are analysed; counts by status."""
    counts = {"ok": 0, "failed": 0, "pending": 0}
    for r in view.results.values():
        counts[r.status] += 1
    if view.llm_disabled_reason:
        return True, counts
    summary_ok = view.summary_status in ("ok", "none") or not view.selected
    return counts["failed"] == 0 and counts["pending"] == 0 and summary_ok, counts
