"""What a command asks the model about a date, decided in one pure function of the day's state.

`plan(state, cfg, order, requests_left)` is the one place for: which earlier picks keep their slot (held
picks), which picks a day's attempt budget leaves out, whether the summary is asked again, how abstracts
are packed and in which order under `llm.rpd`, and the fit of the day to the requests left (`fit_quota`,
called once). No store, no network, no clock: the pipeline executes the plan.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from digest.config import Config
from digest.day.order import Command, Order
from digest.day.state import DayState
from digest.models import Template
from digest.score.rank import select, stable_picks

MAX_PER_CALL = 10  # abstracts in one request at most, however tight the quota: longer answers get cut off
Pick = tuple[str, str]  # (paper id, template)


@dataclass(frozen=True)
class WorkPlan:
    """What one command does with the model for a date."""

    picks: list[Pick]  # the date's selection once the command ran (saved before anything is asked)
    reasons: dict[str, str | None]  # why each pick is there (models.PickReason, or "asked")
    ask: list[Pick] = field(
        default_factory=list
    )  # asked now, in this order; answered ones come from the cache
    force: frozenset[str] = frozenset()  # asked again: the cache is ignored
    spent: list[Pick] = field(default_factory=list)  # not asked: their day's attempts are spent
    per_call: int = 5  # abstracts per request
    packs: list[list[str]] = field(default_factory=list)  # abstract analyses, one request each at most
    deep: list[str] = field(default_factory=list)  # full-text deep dives, after the packs
    summary: bool = True  # the summary may be asked (once a pick has an answer)

    @property
    def jobs(self) -> int:
        """LLM jobs of the analyse stage: each asked paper and the summary."""
        return len(self.ask) + 1


def fit_quota(picks: list[Pick], *, budget: int | None, per_call: int) -> tuple[list[Pick], int]:
    """Picks and abstracts per request fitted to `budget` requests: more papers per request first, then
    deep dives (the lowest ranked first) become abstract analyses; the summary keeps its request."""
    if budget is None:
        return picks, per_call
    picks = list(picks)
    deep = [i for i, (_, tpl) in enumerate(picks) if tpl == Template.DEEP_DIVE]
    while True:
        abstracts = len(picks) - len(deep)
        room = budget - len(deep) - 1  # requests left for packs
        if room >= 1:
            fitted = max(per_call, math.ceil(abstracts / room)) if abstracts else per_call
            if fitted <= max(per_call, MAX_PER_CALL):
                return picks, fitted
        if not deep:
            return picks, max(per_call, MAX_PER_CALL)  # what does not fit stays pending until the reset
        i = deep.pop()
        picks[i] = (picks[i][0], Template.ANALYSIS)


def held_picks(state: DayState, order: Order) -> list[tuple[str, str, str | None]]:
    """Earlier picks that keep their slot and template (scores move between runs: HF's upvotes come later):
    the ones asked for (`digest analyze`) and, unless every answer is refreshed, every answered one."""
    listed = {e.paper.id for e in state.entries}
    why = state.pick_reasons
    return [
        (pid, tpl, why.get(pid))
        for pid, tpl in state.picks
        if pid in listed
        and (why.get(pid) == "asked" or (not order.refresh_answers and state.answered(pid, tpl)))
    ]


def with_asked(
    picks: list[Pick], reasons: dict[str, str | None], ids: tuple[str, ...]
) -> tuple[list[Pick], dict[str, str | None]]:
    """The selection with the named papers added after the picks, marked as asked for."""
    picked = {pid for pid, _ in picks}
    added = [pid for pid in ids if pid not in picked]
    return picks + [(pid, Template.ANALYSIS) for pid in added], {**reasons, **dict.fromkeys(added, "asked")}


def _selection(
    state: DayState, cfg: Config, order: Order
) -> tuple[list[Pick], dict[str, str | None], list[Pick]]:
    """The date's picks after the command, their reasons, and the ones it asks."""
    if order.command == Command.RUN:
        ranked = sorted(state.scores.values(), key=lambda s: (-s.score, s.id))
        fresh = select(state.entries, ranked, cfg.selection, done=state.analysed_on)
        picks, reasons = stable_picks(fresh, held_picks(state, order), ranked, cfg.selection)
        return picks, reasons, picks
    if order.named:
        picks, reasons = with_asked(state.picks, state.pick_reasons, order.named)
        return picks, reasons, [p for p in picks if p[0] in order.named]
    return state.picks, dict(state.pick_reasons), state.picks


def plan(state: DayState, cfg: Config, order: Order, requests_left: int | None) -> WorkPlan:
    """What `order` asks about the date, given its state and the requests left today (None: unknown)."""
    picks, reasons, ask = _selection(state, cfg, order)
    if order.refresh_answers:
        force = frozenset(pid for pid, _ in ask)
    elif order.forces_named:
        force = frozenset(pid for pid, _ in state.picks if pid in order.named)
    else:
        force = frozenset()
    # A paper named by hand is the reader's explicit choice: its day's budget does not hold it back.
    exempt = force | set(order.named)
    spent = [
        (pid, tpl)
        for pid, tpl in ask
        if pid not in exempt and not state.answered(pid, tpl) and state.attempts_spent(pid)
    ]
    ask = [p for p in ask if p not in spent]
    todo = [(pid, tpl) for pid, tpl in ask if pid in force or not state.answered(pid, tpl)]
    fitted, per_call = fit_quota(todo, budget=requests_left, per_call=cfg.llm.papers_per_call)
    if order.command == Command.RUN:  # under llm.rpd deep dives not yet made may become analyses
        template = dict(fitted)
        picks = [(pid, template.get(pid, tpl)) for pid, tpl in picks]
        ask = [(pid, template.get(pid, tpl)) for pid, tpl in ask]
    asked = {pid for pid, _ in todo}
    # Packs carry most papers per request: the papers to ask are packed together, the answered ones
    # (served from the cache) apart, so that no request is spent on a pack of answered papers.
    abstracts = [pid for pid, tpl in ask if tpl != Template.DEEP_DIVE]
    packs = [
        group[i : i + per_call]
        for group in ([p for p in abstracts if p in asked], [p for p in abstracts if p not in asked])
        for i in range(0, len(group), per_call)
    ]
    reask_spent_summary = order.refresh_answers or (order.by_hand and order.command != Command.RUN)
    return WorkPlan(
        picks=picks,
        reasons=reasons,
        ask=ask,
        force=force,
        spent=spent,
        per_call=per_call,
        packs=packs,
        deep=[pid for pid, tpl in ask if tpl == Template.DEEP_DIVE],
        summary=reask_spent_summary or not state.summary_record.spent,
    )
