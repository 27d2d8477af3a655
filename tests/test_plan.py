"""The day's decisions as pure functions: plan() and verdict() on hand-made DayStates, no server, no store.

Each rule has one home (digest.day.plan / digest.day.verdict); these tests pin them down in milliseconds,
and the end-to-end tests (test_budget, test_advice, test_quota, test_scheduler) check the wiring.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from digest.config import Config
from digest.day.order import Command, Order
from digest.day.plan import fit_quota, plan
from digest.day.state import DayState, PaperResult
from digest.day.verdict import verdict
from digest.models import Entry, Paper, Reason, Scored
from tests.fakes.answers import analysis

DAY = dt.date(2025, 6, 2)
DAY_PATH = Path("output/2025-06-02.md")


def _cfg(**llm: object) -> Config:
    return Config.model_validate(
        {
            "llm": {"max_attempts": 2, "max_attempts_per_day": 4, "papers_per_call": 5, **llm},
            "selection": {"analyze": 4, "deep_dive": 1, "always_include_hf_top": 0, "min_score": 0},
        }
    )


def _ids(n: int) -> list[str]:
    return [f"2506.{i:05d}" for i in range(1, n + 1)]


def _state(n: int = 6, *, results: dict[str, PaperResult] | None = None, **kw: object) -> DayState:
    ids = _ids(n)
    scores = {
        pid: Scored(id=pid, score=90.0 - i, reasons=[Reason(points=90.0 - i, kind="base")])
        for i, pid in enumerate(ids)
    }
    results = results or {}
    kw.setdefault("selected", list(results))
    kw.setdefault("templates", {pid: r.kind for pid, r in results.items()})
    kw.setdefault("attempt_budget", 4)
    return DayState(
        date=DAY,
        entries=[Entry(paper=Paper(id=pid, title=f"Paper {pid}")) for pid in ids],
        scores=scores,
        results=results,
        **kw,
    )


def _ok(kind: str = "analysis", **kw: object) -> PaperResult:
    return PaperResult(kind=kind, status="ok", analysis=analysis(), budget=4, **kw)


def _failed(attempts: int, **kw: object) -> PaperResult:
    return PaperResult(status="failed", error_kind="refusal", attempts=attempts, budget=4, **kw)


# ---------------------------------------------------------------- plan: picks


def test_a_first_run_picks_the_best_with_the_top_one_as_deep_dive_and_asks_them_all():
    work = plan(_state(), _cfg(), Order.run(), requests_left=None)
    assert work.picks == [
        ("2506.00001", "deep_dive"),
        ("2506.00002", "analysis"),
        ("2506.00003", "analysis"),
        ("2506.00004", "analysis"),
    ]
    assert work.ask == work.picks and work.force == frozenset() and work.spent == []
    assert work.deep == ["2506.00001"] and work.packs == [["2506.00002", "2506.00003", "2506.00004"]]
    assert work.summary and work.jobs == 5


def test_answered_picks_keep_their_slot_and_template_when_scores_move():
    # 2506.00005 was picked and answered as a deep dive; today it scores lower than four others
    state = _state(results={"2506.00005": _ok("deep_dive")}, pick_reasons={"2506.00005": "score"})
    work = plan(state, _cfg(), Order.run(), requests_left=None)
    assert ("2506.00005", "deep_dive") in work.picks and len(work.picks) == 4
    assert [t for _, t in work.picks].count("deep_dive") == 1  # the held one uses the deep-dive slot
    assert work.packs[0] == ["2506.00001", "2506.00002", "2506.00003"]  # to ask, packed together
    assert work.packs[1:] == [] and work.deep == ["2506.00005"]  # answered: from the cache


def test_refresh_answers_forces_every_pick_and_lets_fresh_scores_choose():
    state = _state(results={"2506.00005": _ok("deep_dive")}, pick_reasons={"2506.00005": "score"})
    work = plan(state, _cfg(), Order.run(refresh_answers=True), requests_left=None)
    assert [p for p, _ in work.picks] == _ids(4)
    assert work.force == frozenset(_ids(4))


def test_analyze_adds_a_named_paper_as_asked_for_and_asks_only_it():
    state = _state(results={pid: _ok() for pid in _ids(2)}, pick_reasons=dict.fromkeys(_ids(2), "score"))
    work = plan(state, _cfg(), Order.analyze(["2506.00006"]), requests_left=None)
    assert work.picks[-1] == ("2506.00006", "analysis") and work.reasons["2506.00006"] == "asked"
    assert work.ask == [("2506.00006", "analysis")] and work.force == frozenset()


# ---------------------------------------------------------------- plan: the day's budget


def test_a_pick_whose_attempts_are_spent_is_left_out_of_a_plain_retry_but_not_of_a_named_one():
    results = {"2506.00001": _failed(4), "2506.00002": _failed(2)}
    state = _state(results=results, attempts={"2506.00001": 4, "2506.00002": 2})
    plain = plan(state, _cfg(), Order.retry(), requests_left=None)
    assert plain.spent == [("2506.00001", "analysis")] and plain.ask == [("2506.00002", "analysis")]
    named = plan(state, _cfg(), Order.retry(["2506.00001"]), requests_left=None)
    assert named.spent == [] and named.ask == [("2506.00001", "analysis")]
    assert named.force == frozenset({"2506.00001"})  # the reader's explicit choice: asked again


def test_a_spent_summary_is_asked_again_only_by_hand():
    state = _state(
        results={"2506.00001": _ok()},
        summary_status="failed",
        summary_attempts=4,
        attempts={"summary:2025-06-02": 4},
    )
    assert state.summary_record.spent
    assert not plan(state, _cfg(), Order.retry(by_hand=False), requests_left=None).summary  # the scheduler
    assert plan(state, _cfg(), Order.retry(), requests_left=None).summary
    assert plan(state, _cfg(), Order.analyze(["2506.00002"]), requests_left=None).summary
    assert not plan(state, _cfg(), Order.run(), requests_left=None).summary
    assert plan(state, _cfg(), Order.run(refresh_answers=True), requests_left=None).summary


# ---------------------------------------------------------------- plan: the daily quota


def test_under_a_tight_quota_packs_grow_then_deep_dives_become_analyses():
    roomy = plan(_state(), _cfg(), Order.run(), requests_left=3)  # a pack, the deep dive, the summary
    assert roomy.deep == ["2506.00001"]
    work = plan(_state(), _cfg(), Order.run(), requests_left=2)
    assert work.deep == [] and all(t == "analysis" for _, t in work.picks)  # 1 pack + the summary fit 2
    assert work.packs == [_ids(4)]


def test_answered_picks_do_not_count_against_the_quota_fit():
    state = _state(results={pid: _ok() for pid in _ids(3)}, pick_reasons=dict.fromkeys(_ids(3), "score"))
    work = plan(state, _cfg(), Order.retry(), requests_left=2)  # 1 to ask + the summary: fits as it is
    assert work.per_call == 5 and work.packs == [_ids(3)]


@pytest.mark.parametrize(
    ("budget", "per_call", "deep"),
    [(None, 5, 2), (5, 5, 2), (4, 8, 2), (3, 9, 1), (2, 10, 0)],
)
def test_fit_quota(budget, per_call, deep):
    picks = [(pid, "deep_dive" if i < 2 else "analysis") for i, pid in enumerate(_ids(10))]
    fitted, size = fit_quota(picks, budget=budget, per_call=5)
    assert size == per_call and sum(t == "deep_dive" for _, t in fitted) == deep


# ---------------------------------------------------------------- verdict


def test_a_failed_paper_with_attempts_left_gets_the_plain_retry():
    state = _state(results={"2506.00001": _failed(2)}, written=True)
    v = verdict(state)
    assert not v.complete
    assert v.advice == ["digest retry --date 2025-06-02"] and v.scheduled_retry


def test_a_spent_paper_gets_only_the_named_retry_and_no_scheduled_one():
    state = _state(results={"2506.00001": _failed(4)}, written=True)
    v = verdict(state)
    assert v.advice == ["digest retry --date 2025-06-02 --paper 2506.00001"]
    assert not v.scheduled_retry


def test_a_failed_summary_gets_the_plain_retry_by_hand_whatever_its_attempts():
    state = _state(results={"2506.00001": _ok()}, summary_status="failed", summary_attempts=9, written=True)
    v = verdict(state)
    assert v.advice == ["digest retry --date 2025-06-02"] and not v.scheduled_retry


def test_a_forced_rerun_left_undone_is_advised_again_as_it_was_given():
    state = _state(results={"2506.00001": _ok()}, summary_status="ok", written=True)
    order = Order(Command.RUN, refresh_answers=True, by_hand=False)
    v = verdict(state, order, unfinished=1)
    assert not v.complete and v.advice == ["digest run --date 2025-06-02 --refresh-analyses"]
    assert verdict(state).complete and verdict(state).advice == []


def test_a_language_mismatch_is_not_retried_by_the_scheduler():
    state = _state(
        results={"2506.00001": PaperResult(status="pending", error_kind="language", budget=4)}, written=True
    )
    v = verdict(state)
    assert v.advice == ["digest retry --date 2025-06-02"] and not v.scheduled_retry


# ---------------------------------------------------------------- the review's cases


def test_a_named_paper_whose_attempts_are_spent_is_asked_whether_picked_or_not():
    # not a pick (displaced after a scoring change), its attempts spent: naming it is the reader's choice
    state = _state(results={"2506.00001": _ok()}, attempts={"2506.00006": 4})
    for order in (Order.retry(["2506.00006"]), Order.analyze(["2506.00006"])):
        work = plan(state, _cfg(), order, requests_left=None)
        assert work.ask == [("2506.00006", "analysis")] and work.spent == [], order


def test_while_the_quota_is_spent_the_advice_says_after_its_reset():
    from digest.day.verdict import written

    resets = dt.datetime(2025, 6, 3, 7, 0, tzinfo=dt.UTC)
    state = _state(results={"2506.00001": PaperResult(status="pending", budget=4)}, quota_resets_at=resets)
    state = state.model_copy(update={"written": True})
    report = written(_cfg(), state, DAY_PATH, calls={"calls": 0, "tokens_in": 0, "tokens_out": 0})
    assert "run `digest retry --date 2025-06-02` after 2025-06-03 15:00 CST" in report.message, report.message
    assert "later" not in report.message


def test_a_failed_summary_without_an_answered_pick_advises_nothing_for_it(tmp_path):
    # The picks that had answers were displaced: the summary has nothing to summarise, so no retry can ask it
    # and none is advised for it (a real store, loaded as the commands load it).
    from digest.day.load import load_day_state
    from digest.models import DayPapers
    from digest.store import Store, Task

    cfg = Config.model_validate(
        {"store": {"path": str(tmp_path / "digest.db")}, "output": {"dir": str(tmp_path)}}
    )
    store = Store(tmp_path / "digest.db")
    store.save_day(DayPapers(date=DAY, announcement=None, entries=_state().entries))
    store.save_selection(DAY, [("2506.00002", "analysis")], {"2506.00002": "score"})
    store.set_task(
        Task(date="2025-06-02", key="2506.00002", template="analysis", status="failed", attempts=1)
    )
    store.set_task(
        Task(date="2025-06-02", key="summary:2025-06-02", template="executive_summary", status="failed")
    )
    state = load_day_state(cfg, store, DAY)
    store.close()
    assert state.summary_status == "none"
    assert verdict(state).advice == ["digest retry --date 2025-06-02"]  # for the failed pick, which it asks
    assert plan(state, cfg, Order.retry(), requests_left=None).ask == [("2506.00002", "analysis")]


def test_an_undone_forced_rerun_of_an_answered_paper_is_not_called_spent():
    from digest.day.verdict import written

    state = _state(results={"2506.00001": _ok()}, summary_status="ok", written=True)
    report = written(
        _cfg(),
        state,
        DAY_PATH,
        calls={"calls": 0, "tokens_in": 0, "tokens_out": 0},
        order=Order.retry(["2506.00001"]),
        unfinished=1,
    )
    assert "run `digest retry --date 2025-06-02 --paper 2506.00001` again later" in report.message
    assert "spent" not in report.message
