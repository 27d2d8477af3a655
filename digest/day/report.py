"""RunReport: how a command ended for one date, and the report of a digest just written."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from digest.config import Config, estimate_cost
from digest.day.state import DayState


@dataclass
class RunReport:
    """How a command ended for one date."""

    date: dt.date
    status: str  # complete | partial | nothing | not_yet (the announcement is not released yet)
    message: str
    digest_path: Path | None = None
    stop_reason: str | None = None
    counts: dict[str, int] = field(default_factory=dict)
    papers: int = 0  # listed that day
    requests: int = 0  # LLM requests this command sent
    cost_usd: float = 0.0  # their estimated cost (llm.price_per_million)

    @property
    def exit_code(self) -> int:
        """0 complete or nothing to do, 3 written but incomplete."""
        return 3 if self.status == "partial" else 0


def nothing_stored(date: dt.date) -> RunReport:
    """Nothing is stored for `date`: no digest to write."""
    return RunReport(date, "nothing", f"nothing stored for {date}; run `digest run --date {date}` first")


def written(
    cfg: Config,
    state: DayState,
    path: Path,
    *,
    calls: dict[str, Any],
    stop: str | None = None,
    unfinished: int = 0,
) -> RunReport:
    """The report of a command that wrote the digest of state.date; `calls` are its LLM requests' stats."""
    complete, counts = state.analyses_done, state.counts()
    # Complete means the digest is whole and nothing asked for in this run was left undone (a forced
    # re-run stopped by the quota keeps the earlier answer but is still reported).
    status = "complete" if complete and not unfinished else "partial"
    if complete and unfinished:
        msg = f"wrote {path} ({unfinished} re-run(s) not done, earlier answers kept"
    elif complete:
        msg = f"wrote {path}"
    else:
        summary = f", summary {state.summary_status}" if state.summary_status in ("failed", "pending") else ""
        msg = f"wrote {path} ({counts['failed']} failed, {counts['pending']} pending{summary}"
    if status == "partial":
        msg += (f": {stop}" if stop else "") + f"; {_retry_hint(cfg, state, counts)})"
    return RunReport(
        state.date,
        status,
        msg,
        digest_path=path,
        stop_reason=stop,
        counts=counts,
        papers=state.listing().total,
        requests=calls["calls"],
        cost_usd=estimate_cost(calls, cfg),
    )


def _retry_hint(cfg: Config, state: DayState, counts: dict[str, int]) -> str:
    """What to run for the rest: a plain retry, unless what is left is papers whose day's attempts are spent
    (a plain retry no longer asks those: only naming them does)."""
    spent = sorted(
        pid
        for pid, r in state.results.items()
        if r.status == "failed" and r.attempts >= cfg.attempts_per_day()
    )
    plain = f"run `digest retry --date {state.date}` later"
    if not spent:
        return plain
    named = f"`digest retry --date {state.date} --paper {' '.join(spent)}` asks again the paper(s) whose attempts are spent"
    if counts["failed"] == len(spent) and not counts["pending"] and state.summary_status in ("ok", "none"):
        return named
    return f"{plain}; {named}"
