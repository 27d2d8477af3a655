"""RunReport: how a command ended for one date (digest.day.verdict makes the report of a digest just written)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path


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
