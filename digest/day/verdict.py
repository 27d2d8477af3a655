"""How a date stands after a command, decided in one place from its state: complete or partial, the exit
code, what to run next (advice that always does something), and whether the scheduler's retry would help.

The closing line, `status`, the scheduler and the pipeline all read it, so they cannot disagree.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from digest.config import Config, estimate_cost
from digest.day.order import Order
from digest.day.report import RunReport
from digest.day.state import DayState
from digest.models import TaskStatus

# Failures the settings decide (the model answers in another language than `language`): the scheduler's
# retry, with the same config, would only fail the same way again; `digest retry` by hand still tries.
SETTLED_BY_CONFIG = frozenset({"language"})


@dataclass(frozen=True)
class Step:
    """One piece of advice: a command that asks the model something, and why it is advised."""

    command: str
    why: Literal["retry", "spent", "again"]  # pending or failed with attempts left; attempts spent; re-run


@dataclass(frozen=True)
class Verdict:
    """A date's standing, for the reader and for the scheduler."""

    date: dt.date
    complete: bool  # written, nothing failed or pending, nothing asked for in this command left undone
    steps: list[Step] = field(default_factory=list)  # what to run, each of which asks the model something
    scheduled_retry: bool = (
        False  # the scheduler's hourly retry (same config, not by hand) would ask something
    )
    resets_at: dt.datetime | None = None  # the daily quota is spent: the advice asks nothing before then
    written: bool = False  # the digest file is on disk
    last_run: str | None = None  # how the date's last `digest run` ended (RunReport.status, "failed"), if any

    @property
    def advice(self) -> list[str]:
        """The advised commands."""
        return [s.command for s in self.steps]


def _scheduled_retry(state: DayState) -> bool:
    """A written, unfinished digest that the scheduler's retry could change: a pick pending or failed with
    attempts left, or the summary so. Failures the config settles (the model's language) are left alone."""
    if not state.written or state.complete:
        return False
    left = [r.error_kind for r in state.results.values() if r.retryable]
    if left and all(kind in SETTLED_BY_CONFIG for kind in left):
        return False
    return bool(left) or state.summary_record.retryable


def _steps(state: DayState, order: Order | None, unfinished: int) -> list[Step]:
    """Commands that each ask something: a plain retry while it would ask a pick or the summary (by hand it
    re-asks a spent summary too; the load leaves no summary to ask without an answered pick); the papers whose
    attempts are spent by name; else the same command again (answers kept, the re-run itself is left)."""
    date = state.date
    plain = any(r.retryable for r in state.results.values()) or state.summary_status in (
        TaskStatus.FAILED,
        TaskStatus.PENDING,
    )
    spent = sorted(pid for pid, r in state.results.items() if r.status == TaskStatus.FAILED and r.spent)
    steps = [Step(f"digest retry --date {date}", "retry")] if plain else []
    if spent:
        steps.append(Step(f"digest retry --date {date} --paper {' '.join(spent)}", "spent"))
    if not steps and unfinished and order is not None:
        steps.append(Step(order.command_line(date), "again"))
    return steps


def _last_run(runs: list[dict[str, Any]]) -> str | None:
    """How the last `digest run` of a date ended (the runs table, oldest first)."""
    statuses = [r["status"] for r in runs if r["command"] == "run"]
    return statuses[-1] if statuses else None


def verdict(state: DayState, order: Order | None = None, *, unfinished: int = 0) -> Verdict:
    """The date's verdict after `order` (None: as stored), `unfinished` of whose jobs got no answer."""
    complete = state.analyses_done and not unfinished
    return Verdict(
        date=state.date,
        complete=complete,
        steps=[] if complete else _steps(state, order, unfinished),
        scheduled_retry=_scheduled_retry(state),
        resets_at=state.quota_resets_at,
        written=state.written,
        last_run=_last_run(state.runs),
    )


def unstored(
    date: dt.date, runs: list[dict[str, Any]], resets_at: dt.datetime | None, *, written: bool = False
) -> Verdict:
    """The verdict of a date with no papers stored: its runs say whether one is due."""
    return Verdict(date=date, complete=False, resets_at=resets_at, written=written, last_run=_last_run(runs))


def _hint(v: Verdict, tz: dt.tzinfo) -> str:
    """The advice in words: when (after the quota's reset, or later) and what each command does."""
    when = f"after {v.resets_at.astimezone(tz):%Y-%m-%d %H:%M %Z}" if v.resets_at else "later"
    words = {
        "retry": "run `{}` " + when,
        "spent": "`{}` asks again the paper(s) whose attempts are spent",
        "again": "run `{}` again " + when,
    }
    return "; ".join(words[s.why].format(s.command) for s in v.steps)


def written(
    cfg: Config,
    state: DayState,
    path: Path,
    *,
    calls: dict[str, Any],
    order: Order | None = None,
    stop: str | None = None,
    unfinished: int = 0,
) -> RunReport:
    """The report of a command that wrote the digest of state.date; `calls` are its LLM requests' stats."""
    v = verdict(state, order, unfinished=unfinished)
    counts = state.counts()
    if state.analyses_done and unfinished:
        msg = f"wrote {path} ({unfinished} re-run(s) not done, earlier answers kept"
    elif state.analyses_done:
        msg = f"wrote {path}"
    else:
        summary = (
            f", summary {state.summary_status}"
            if state.summary_status in (TaskStatus.FAILED, TaskStatus.PENDING)
            else ""
        )
        msg = f"wrote {path} ({counts['failed']} failed, {counts['pending']} pending{summary}"
    if not v.complete:
        msg += (f": {stop}" if stop else "") + f"; {_hint(v, cfg.tz)})"
    return RunReport(
        state.date,
        "complete" if v.complete else "partial",
        msg,
        digest_path=path,
        stop_reason=stop,
        counts=counts,
        papers=state.listing().total,
        requests=calls["calls"],
        cost_usd=estimate_cost(calls, cfg),
    )
