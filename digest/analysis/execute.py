"""Carry out a day's WorkPlan: the picks' jobs (packs first, then deep dives), then the executive summary
over every answered pick. What to ask was decided by digest.day.plan; this module only asks it."""

from __future__ import annotations

import logging
from collections.abc import Callable

from digest.analysis.build import analysis_pack, deep_dive_job, summary_job
from digest.analysis.session import Session
from digest.config import Config
from digest.day.load import spent_message, stored_answer
from digest.day.plan import WorkPlan
from digest.day.state import DayState
from digest.ids import id_sort_key
from digest.models import DayPapers, TaskStatus
from digest.store import Store, Task

log = logging.getLogger("digest.analysis.execute")


def record_spent(store: Store, state: DayState, plan: WorkPlan) -> None:
    """The picks the plan leaves out for their spent budget are failed, with the day's attempts."""
    date = state.date
    for pid, tpl in plan.spent:
        used = state.attempts.get(pid, 0)
        log.info("%s %s: its %d attempts for %s are spent; not asked again", tpl, pid, used, date)
        task = store.get_task(date, pid, tpl)
        if task is None or task.status != TaskStatus.FAILED:
            task = Task(
                date=date.isoformat(),
                key=pid,
                template=tpl,
                status=TaskStatus.FAILED,
                error_kind="budget",
                last_error=spent_message(state.attempt_budget or used, date, pid),
            )
        task.attempts = used  # the status shows the whole day's attempts, not the last run's
        store.set_task(task)


def run_plan(
    session: Session,
    day: DayPapers,
    plan: WorkPlan,
    cfg: Config,
    *,
    load_pdf: Callable[[str], bytes | None] | None,
    on_stage: Callable[[str, int | None], None],
) -> None:
    """Ask what the plan asks; every outcome is recorded by the session (tasks, cache, call log)."""
    by_id = {e.paper.id: e for e in day.entries}
    prompts = session.prompts
    deep = [deep_dive_job(by_id[pid], cfg, prompts, load_pdf) for pid in plan.deep]
    packs = [analysis_pack([by_id[pid] for pid in group], cfg, prompts) for group in plan.packs]
    for job in [*deep, *(j for p in packs for j in p.members)]:
        job.force = job.key in plan.force
        if job.fallback is not None:
            job.fallback.force = job.force
    on_stage("analyse", plan.jobs)
    # Packs first: they carry most papers per request; a pack of one is a plain analysis.
    session.run([*(p if len(p.members) > 1 else p.members[0] for p in packs), *deep])
    # The summary covers every answered pick; its prompt changes (and it is redone) when they change, not
    # when scores reorder them: it lists them in id order.
    done = []
    for pid, tpl in sorted(plan.picks, key=lambda p: id_sort_key(p[0])):
        answer = stored_answer(session.store, session.date, pid, tpl)
        if answer is not None:
            done.append((by_id[pid].paper, answer[0]))
    if not done:
        return
    if plan.summary:
        session.run([summary_job(session.date.isoformat(), done, cfg, prompts)])
    else:  # a command a person runs (retry, analyze) or --refresh-analyses tries again; the scheduler does not
        log.info(
            "the executive summary of %s failed its %d attempts for the day; not asked again",
            session.date,
            cfg.attempts_per_day(),
        )
