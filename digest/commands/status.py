"""`digest status`: what the store holds for a date, as a dict and as a human table."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from digest.config import Config, estimate_cost
from digest.day.load import digest_path, load_day_state
from digest.day.state import DayState
from digest.day.verdict import verdict
from digest.language import failure_text
from digest.models import TaskStatus
from digest.store import open_store


def status_of(cfg: Config, date: dt.date) -> dict[str, Any]:
    """The status object of a date (see README for its keys), read from the day's DayState."""
    path = digest_path(cfg, date)
    with open_store(cfg, create=False) as store:  # a date asked about before any run creates no store
        state = load_day_state(cfg, store, date) if store is not None else None
        if state is None:
            return _empty(cfg, date, path)
        stats = store.call_stats(date)
    return status_from(cfg, state, stats)


def status_from(cfg: Config, state: DayState, stats: dict[str, Any]) -> dict[str, Any]:
    """The status object of a loaded DayState and the date's call statistics."""
    listing = state.listing()  # what the page and index count: each paper once, a pruned day as it was
    by_source = {k: n for k, n in (("arxiv", listing.arxiv), ("huggingface", listing.hf_only)) if n}
    failures, warnings = [], _config_warnings(cfg)
    for pid, r in state.results.items():
        for w in r.warnings:
            warnings.append(
                {
                    "paper": pid,
                    "kind": w.kind,
                    "figures": w.figures,
                    "warning": f"{w.kind}: {', '.join(w.figures)}",
                }
            )
        if r.status == TaskStatus.FAILED:
            failures.append(
                {
                    "paper": pid,
                    "template": r.kind,
                    "kind": r.error_kind,
                    "attempts": r.attempts,
                    "last_error": (r.last_error or "")[:200],
                    "reason": failure_text(r.error_kind, "en"),
                    "retry": f"digest retry --date {state.date} --paper {pid}",
                }
            )
    warnings += [
        {"paper": "summary", "kind": w.split(":", 1)[0], "warning": w} for w in state.summary_warnings
    ]
    resets = state.quota_resets_at  # the daily quota ran out: nothing is sent before then
    llm = dict(
        stats,
        quota_resets_at=resets.astimezone(cfg.tz).isoformat() if resets else None,
        est_cost_usd=round(estimate_cost(stats, cfg), 6),
        model=cfg.llm.model,
    )
    ann = state.announcement
    return {
        "date": state.date.isoformat(),
        "announcement": None
        if ann is None
        else {
            "released": ann.released.isoformat(),
            "window_start": ann.window_start.isoformat(),
            "window_end": ann.window_end.isoformat(),
        },
        "papers": {
            "total": listing.total,
            "by_source": by_source,
            "cross_lists": listing.cross,
            "on_hf": listing.on_hf,
            "pruned": listing.pruned,
            "seen_before": len(state.seen_on),
            "hf_status": state.hf_status,
            "hf_error": state.hf_error,
        },
        "selected": len(state.selected),
        "analyses": state.counts(),
        "summary": state.summary_status,
        "failures": failures,
        "warnings": warnings,
        "llm": llm,
        "digest_path": str(state.digest_path) if state.written else None,
        "complete": state.complete,
        "advice": verdict(state).advice if state.written else [],
        "last_run": state.last_run,
    }


def _config_warnings(cfg: Config) -> list[dict[str, Any]]:
    if cfg.output.site_url:
        return []
    return [
        {
            "paper": None,
            "kind": "feed_links_relative",
            "warning": "output.site_url is not set: feed.xml links are relative and most feed readers "
            "cannot follow them; set it to where output/ is published",
        }
    ]


def _empty(cfg: Config, date: dt.date, path: Path) -> dict[str, Any]:
    # the keys of a stored date's status, so that a script reading any of them works on every date
    papers = {
        "total": 0,
        "by_source": {},
        "cross_lists": 0,
        "on_hf": 0,
        "pruned": False,
        "seen_before": 0,
        "hf_status": None,
        "hf_error": None,
    }
    return {
        "date": date.isoformat(),
        "announcement": None,
        "papers": papers,
        "selected": 0,
        "analyses": {"ok": 0, "failed": 0, "pending": 0},
        "summary": "none",
        "failures": [],
        "warnings": _config_warnings(cfg),
        "llm": {
            "calls": 0,
            "errors_by_kind": {},
            "tokens_in": 0,
            "tokens_out": 0,
            "tokens_thinking": 0,
            "est_cost_usd": 0.0,
            "quota_resets_at": None,
            "model": cfg.llm.model,
        },
        "digest_path": str(path) if path.exists() else None,
        "complete": False,
        "advice": [],
        "last_run": None,
    }


def format_status(s: dict[str, Any]) -> str:
    """A short human-readable table."""
    a, llm, p = s["analyses"], s["llm"], s["papers"]
    ann = s["announcement"]
    lines = [
        f"date          {s['date']}",
        f"announcement  {ann['window_start']} → {ann['window_end']}" if ann else "announcement  none",
        f"papers        {p['total']} ({', '.join(f'{k} {v}' for k, v in p['by_source'].items()) or 'none'})"
        + (" · listing pruned" if p.get("pruned") else ""),
        f"selected      {s['selected']}",
        f"analyses      ok {a['ok']} · failed {a['failed']} · pending {a['pending']}",
        f"summary       {s['summary']}",
        f"llm calls     {llm['calls']} · tokens in {llm['tokens_in']} / out {llm['tokens_out']}"
        f" · est. ${llm['est_cost_usd']:.4f}",
        f"digest        {s['digest_path'] or 'not written'}",
        f"complete      {'yes' if s['complete'] else 'no'}",
    ]
    if s.get("advice"):
        lines.append(f"next          {' · '.join(s['advice'])}")
    if llm.get("quota_resets_at"):
        lines.append(f"llm quota     used up for today; resets at {llm['quota_resets_at']}")
    if llm["errors_by_kind"]:
        lines.append("errors        " + ", ".join(f"{k} {v}" for k, v in llm["errors_by_kind"].items()))
    for w in s.get("warnings", []):
        lines.append(
            f"  warning {w['paper']}: {w['warning']}" if w["paper"] else f"  warning: {w['warning']}"
        )
    for f in s["failures"]:
        lines.append(
            f"  failed {f['paper']} ({f['template']}): {f['reason']} after {f['attempts']} attempts;"
            f" re-run: {f['retry']}"
        )
    return "\n".join(lines)
