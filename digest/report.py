"""RunReport: how a command ended for one date, and the report of a digest just written."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from digest.config import Config, estimate_cost
from digest.daystate import DayState


@dataclass
class RunReport:
    """How a command ended for one date."""

    date: dt.date
    status: str  # complete | partial | nothing
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


def written(cfg: Config, state: DayState, path: Path, *, calls: dict[str, Any], stop: str | None = None,
            unfinished: int = 0) -> RunReport:
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
        msg = f"wrote {path} ({counts['failed']} failed, {counts['pending']} pending"
    if status == "partial":
        msg += (f": {stop}" if stop else "") + f"; run `digest retry --date {state.date}` later)"
    return RunReport(state.date, status, msg, digest_path=path, stop_reason=stop, counts=counts,
                     papers=state.listing().total, requests=calls["calls"], cost_usd=estimate_cost(calls, cfg))
