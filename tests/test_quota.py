"""The key's daily quota: planning within llm.rpd, the stored reset after a per-day 429, nothing sent before it."""

from __future__ import annotations

import datetime as dt
import math
from zoneinfo import ZoneInfo

from digest.analysis.caps import next_reset
from digest.cli import main
from digest.commands.pipeline import Pipeline
from digest.commands.scheduler import Daily
from digest.config import load_config
from digest.day.plan import MAX_PER_CALL, fit_quota
from digest.store import Store
from tests.e2e_helpers import DAY, KEY, llm_server, status_json, write_config

LA = ZoneInfo("America/Los_Angeles")


def _picks(n: int, deep: int) -> list[tuple[str, str]]:
    return [(f"2506.{i:05d}", "deep_dive" if i < deep else "analysis") for i in range(n)]


def requests_needed(abstracts: int, deep: int, per_call: int) -> int:
    """Requests a clean day makes: the packs, one per deep dive, and the summary."""
    return math.ceil(abstracts / per_call) + deep + 1


def test_plan_fits_more_papers_per_request_then_turns_deep_dives_into_analyses():
    picks = _picks(10, 2)
    assert fit_quota(picks, budget=None, per_call=5) == (picks, 5)
    assert fit_quota(picks, budget=5, per_call=5) == (picks, 5)  # 2 packs + 2 deep dives + the summary
    assert fit_quota(picks, budget=4, per_call=5) == (picks, 8)  # one pack of 8
    fitted, per_call = fit_quota(picks, budget=3, per_call=5)  # a deep dive gives way, the summary keeps one
    assert per_call == 9 and [t for _, t in fitted].count("deep_dive") == 1 and fitted[0] == picks[0]
    assert requests_needed(9, 1, per_call) == 3
    fitted, per_call = fit_quota(_picks(40, 2), budget=20, per_call=5)  # the free tier's day fits as it is
    assert per_call == 5 and requests_needed(38, 2, 5) == 11
    fitted, per_call = fit_quota(
        _picks(40, 2), budget=4, per_call=5
    )  # too many: the rest waits for the reset
    assert per_call == MAX_PER_CALL and all(t == "analysis" for _, t in fitted)


def test_next_reset_is_midnight_in_los_angeles():
    now = dt.datetime(2026, 3, 8, 9, 30, tzinfo=dt.UTC)  # 01:30 PST, the day clocks go forward
    assert next_reset(now, "America/Los_Angeles") == dt.datetime(2026, 3, 9, tzinfo=LA)
    assert next_reset(now, "America/Los_Angeles").utcoffset() == dt.timedelta(hours=-7)


def test_a_tight_rpd_packs_more_and_makes_every_request_count(tmp_path, arxiv, key, capsys):
    with llm_server() as llm:
        cfg = write_config(tmp_path, arxiv_url=arxiv.url, llm_url=llm.url, llm__rpd=4)
        assert main(["run", "--date", DAY, "--config", str(cfg)]) == 0
        assert llm.stats.requests == 4  # one pack of 8, 2 deep dives, the summary
        st = status_json(capsys, cfg)
    assert st["analyses"] == {"ok": 10, "failed": 0, "pending": 0} and st["summary"] == "ok"
    assert st["llm"]["quota_resets_at"] is not None  # llm.rpd used up: the scheduler waits for the reset


def test_free_tier_day_of_forty_papers_fits_twenty_requests(tmp_path, arxiv, key, capsys):
    # Time shrunk 10x: the server admits 10 requests per 6 s. The config paces at 95 a minute, not 100: at 10x
    # speed the limiter's 3 % margin is 0.18 s over the window, which a loaded CI machine's jitter can eat.
    # bench/quota_bench.py measures the unscaled margin (rpm = the server's quota).
    with llm_server(rpm=10, window_s=6.0, per_day=20) as llm:
        cfg = write_config(
            tmp_path,
            arxiv_url=arxiv.url,
            llm_url=llm.url,
            llm__rpm=95,
            llm__rpd=20,
            selection__analyze=40,
            selection__deep_dive=2,
        )
        assert main(["run", "--date", DAY, "--config", str(cfg)]) == 0
        assert llm.stats.requests <= 20 and llm.stats.rate_limited == 0 and llm.stats.quota_exhausted == 0
        sent = llm.stats.requests
        st = status_json(capsys, cfg)
        assert main(["run", "--date", DAY, "--config", str(cfg)]) == 0
        assert llm.stats.requests == sent  # the rerun is served from the cache
    assert st["analyses"] == {"ok": 40, "failed": 0, "pending": 0} and st["complete"] is True


def test_a_server_allowing_three_requests_a_day_is_not_probed_again_before_midnight_in_la(
    tmp_path, arxiv, key, capsys
):
    with llm_server(per_day=3, api_key=KEY) as llm:
        cfg = write_config(tmp_path, arxiv_url=arxiv.url, llm_url=llm.url, llm__max_concurrency=1)
        before = dt.datetime.now(dt.UTC)
        assert main(["run", "--date", DAY, "--config", str(cfg)]) == 3
        assert llm.stats.quota_exhausted == 1
        err = capsys.readouterr().err
        assert "daily LLM quota is used up" in err and "resets at" in err
        st = status_json(capsys, cfg)
        resets = dt.datetime.fromisoformat(st["llm"]["quota_resets_at"])
        assert resets == next_reset(before, "America/Los_Angeles") or resets == next_reset(
            dt.datetime.now(dt.UTC), "America/Los_Angeles"
        )
        assert resets.utcoffset() == dt.timedelta(hours=8)  # shown in the reader's time zone (Asia/Shanghai)
        assert resets.astimezone(LA).time() == dt.time(0, 0)
        sent = llm.stats.requests
        assert main(["run", "--date", DAY, "--config", str(cfg)]) == 3
        assert main(["retry", "--date", DAY, "--config", str(cfg)]) == 3
        assert llm.stats.requests == sent  # nothing sent before the reset
        daily = Daily(load_config(cfg), Pipeline)
        assert daily.quota_resets_at(dt.date.fromisoformat(DAY)) == resets  # the scheduler's retry waits too
        daily.last_date = dt.date.fromisoformat(DAY)
        daily.retry()
        assert llm.stats.requests == sent
        store = Store(tmp_path / "output" / "digest.db")
        store.set_quota_resets_at(dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1))  # the reset has passed
        store.close()
        llm.per_day = None
        assert main(["retry", "--date", DAY, "--config", str(cfg)]) == 0
        assert llm.stats.requests > sent


def test_when_nothing_else_fits_a_deep_dive_becomes_an_abstract_analysis(tmp_path, arxiv, key, capsys):
    with llm_server() as llm:
        cfg = write_config(tmp_path, arxiv_url=arxiv.url, llm_url=llm.url, llm__rpd=3)
        assert main(["run", "--date", DAY, "--config", str(cfg)]) == 0
        assert llm.stats.requests == 3  # a pack of 9, one deep dive, the summary
        assert sum(bool(r.attachments) for r in llm.requests) == 1
        st = status_json(capsys, cfg)
    assert st["analyses"] == {"ok": 10, "failed": 0, "pending": 0} and st["complete"] is True
