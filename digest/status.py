"""`digest status`: what the store holds for a date, as a dict and as a human table."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from digest.analyze import estimate_cost
from digest.config import Config
from digest.jobs import SUMMARY_TEMPLATE, summary_key
from digest.store import Store
from digest.view import digest_path


def status_of(cfg: Config, date: dt.date) -> dict[str, Any]:
    """The status object of a date (see README for its keys)."""
    path = digest_path(cfg, date)
    if not Path(cfg.store.path).exists():
        return _empty(date, path)
    store = Store(cfg.store.path)
    try:
        day = store.load_day(date)
        if day is None:
            return _empty(date, path)
        by_source: dict[str, int] = {}
        cross = 0
        for e in day.entries:
            by_source[e.source] = by_source.get(e.source, 0) + 1
            cross += e.cross_list
        picks = store.load_selection(date)
        tasks = {(t.key, t.template): t for t in store.tasks(date)}
        analyses = {"ok": 0, "failed": 0, "pending": 0}
        failures = []
        warnings = []
        for pid, tpl in picks:
            t = tasks.get((pid, tpl))
            st = t.status if t is not None else "pending"
            analyses[st] += 1
            cached = store.cache_latest(pid, tpl) if st == "ok" else None
            for w in (cached[1].get("warnings") or []) if cached else []:
                warnings.append({"paper": pid, "warning": w})
            if t is not None and st == "failed":
                failures.append({"paper": pid, "template": tpl, "kind": t.error_kind, "attempts": t.attempts,
                                 "last_error": (t.last_error or "")[:200]})
        summary_task = tasks.get((summary_key(date.isoformat()), SUMMARY_TEMPLATE))
        ok = summary_task is not None and summary_task.status == "ok"
        cached = store.cache_latest(summary_key(date.isoformat()), SUMMARY_TEMPLATE) if ok else None
        warnings += [{"paper": "summary", "warning": w} for w in (cached[1].get("warnings") or [])] if cached else []
        summary = summary_task.status if summary_task else ("pending" if picks and tasks else "none")
        stats = store.call_stats(date)
        llm = dict(stats, est_cost_usd=round(estimate_cost(stats, cfg), 6), model=cfg.llm.model)
        ann = day.announcement
        runs = store.runs(date)
        no_llm = not tasks
        if no_llm:  # a metadata-only digest: nothing was asked of an LLM, nothing is pending
            analyses = {"ok": 0, "failed": 0, "pending": 0}
        complete = path.exists() and (no_llm or (analyses["failed"] == 0 and analyses["pending"] == 0
                                                 and summary in ("ok", "none")))
        return {
            "date": date.isoformat(),
            "announcement": None if ann is None else {
                "released": ann.released.isoformat(), "window_start": ann.window_start.isoformat(),
                "window_end": ann.window_end.isoformat()},
            "papers": {"total": len(day.entries), "by_source": by_source, "cross_lists": cross,
                       "hf_status": day.hf_status, "hf_error": day.hf_error},
            "selected": len(picks),
            "analyses": analyses,
            "summary": summary,
            "failures": failures,
            "warnings": warnings,
            "llm": llm,
            "digest_path": str(path) if path.exists() else None,
            "complete": complete,
            "last_run": runs[-1] if runs else None,
        }
    finally:
        store.close()


def _empty(date: dt.date, path: Path) -> dict[str, Any]:
    return {"date": date.isoformat(), "announcement": None, "papers": {"total": 0, "by_source": {}},
            "selected": 0, "analyses": {"ok": 0, "failed": 0, "pending": 0}, "summary": "none", "failures": [], "warnings": [],
            "llm": {"calls": 0, "errors_by_kind": {}, "tokens_in": 0, "tokens_out": 0, "est_cost_usd": 0.0},
            "digest_path": str(path) if path.exists() else None, "complete": False, "last_run": None}


def format_status(s: dict[str, Any]) -> str:
    """A short human-readable table."""
    a, llm, p = s["analyses"], s["llm"], s["papers"]
    ann = s["announcement"]
    lines = [
        f"date          {s['date']}",
        f"announcement  {ann['window_start']} → {ann['window_end']}" if ann else "announcement  none",
        f"papers        {p['total']} ({', '.join(f'{k} {v}' for k, v in p['by_source'].items()) or 'none'})",
        f"selected      {s['selected']}",
        f"analyses      ok {a['ok']} · failed {a['failed']} · pending {a['pending']}",
        f"summary       {s['summary']}",
        f"llm calls     {llm['calls']} · tokens in {llm['tokens_in']} / out {llm['tokens_out']}"
        f" · est. ${llm['est_cost_usd']:.4f}",
        f"digest        {s['digest_path'] or 'not written'}",
        f"complete      {'yes' if s['complete'] else 'no'}",
    ]
    if llm["errors_by_kind"]:
        lines.append("errors        " + ", ".join(f"{k} {v}" for k, v in llm["errors_by_kind"].items()))
    for w in s.get("warnings", []):
        lines.append(f"  warning {w['paper']}: {w['warning']}")
    for f in s["failures"]:
        lines.append(f"  failed {f['paper']} ({f['template']}): {f['kind']} after {f['attempts']} attempts:"
                     f" {f['last_error']}")
    return "\n".join(lines)
