"""Dates no announcement covers: nothing is asked or written, and their HuggingFace lists go to the next digest."""

from __future__ import annotations

import datetime as dt
import json

from digest.cli import main
from digest.config import Config
from digest.fetch.calendar import hf_dates
from tests.e2e_helpers import DAY, read_digest, write_config
from tests.helpers_sources import HF_OLD_CV, fixture

SHANGHAI = {"timezone": "Asia/Shanghai"}


def _hf_list_with_only(paper_id: str) -> str:
    """The recorded HF list of 2025-06-02 cut down to one paper."""
    items = [
        i for i in json.loads(fixture("days/hf_daily_papers_2025-06-02.json")) if i["paper"]["id"] == paper_id
    ]
    assert items, paper_id
    return json.dumps(items)


def test_hf_dates_cover_every_list_since_the_previous_digest():
    cfg = Config.model_validate({**SHANGHAI, "sources": {"huggingface": {"lag_days": 1}}})
    monday, tuesday, saturday = dt.date(2025, 6, 2), dt.date(2025, 6, 3), dt.date(2025, 5, 31)
    # Monday's digest follows Friday's: the lists of Friday, Saturday and Sunday (lag 1) are its own
    assert hf_dates(monday, cfg) == [dt.date(2025, 5, 30), dt.date(2025, 5, 31), dt.date(2025, 6, 1)]
    assert hf_dates(tuesday, cfg) == [dt.date(2025, 6, 2)]
    assert hf_dates(saturday, cfg) == []  # no announcement, no digest: its list waits for Monday
    lag0 = Config.model_validate({**SHANGHAI, "sources": {"huggingface": {"lag_days": 0}}})
    assert hf_dates(monday, lag0) == [dt.date(2025, 5, 31), dt.date(2025, 6, 1), dt.date(2025, 6, 2)]
    # Over two years (holidays, DST changes included) every HF list is read by exactly one digest
    for zone, lag in (("Asia/Shanghai", 1), ("America/New_York", 0), ("Europe/Berlin", 2)):
        cfg = Config.model_validate({"timezone": zone, "sources": {"huggingface": {"lag_days": lag}}})
        start = dt.date(2025, 1, 10)
        read = [d for i in range(730) for d in hf_dates(start + dt.timedelta(days=i), cfg)]
        assert len(read) == len(set(read))
        assert sorted(read) == [read[0] + dt.timedelta(days=i) for i in range(len(read))]  # none skipped
        assert len(read) >= 720


def test_a_saturday_asks_nothing_and_writes_nothing_even_when_huggingface_has_a_list(
    tmp_path, arxiv, no_key, capsys
):
    arxiv.services.hf["2025-05-30"] = _hf_list_with_only(
        HF_OLD_CV
    )  # Friday's list, which lag 1 gives Saturday
    cfg = write_config(tmp_path, arxiv_url=arxiv.url, sources__huggingface__lag_days=1)
    assert main(["run", "--date", "2025-05-31", "--config", str(cfg)]) == 0
    assert arxiv.services.log == []  # neither arXiv nor HuggingFace was asked
    assert not (tmp_path / "output" / "2025-05-31.md").exists()
    out = capsys.readouterr()
    assert "no arXiv announcement covers 2025-05-31 (Saturday)" in out.out + out.err


def test_the_weekends_huggingface_lists_reach_mondays_digest(tmp_path, arxiv, no_key):
    arxiv.services.hf["2025-05-31"] = _hf_list_with_only(HF_OLD_CV)  # a Saturday list (lag 0)
    del arxiv.services.hf["2025-06-02"]
    cfg = write_config(tmp_path, arxiv_url=arxiv.url)
    assert main(["run", "--date", DAY, "--config", str(cfg)]) == 0
    asked = [r.params["date"] for r in arxiv.services.requests("hf")]
    assert asked == ["2025-05-31", "2025-06-01", "2025-06-02"]
    assert HF_OLD_CV in read_digest(tmp_path).text


def test_a_date_without_announcement_is_settled_so_the_scheduler_runs_it_once(tmp_path, arxiv, no_key):
    import sqlite3
    from zoneinfo import ZoneInfo

    from digest.commands.pipeline import Pipeline
    from digest.commands.scheduler import Daily, serve
    from digest.config import load_config
    from tests.test_scheduler import VirtualClock

    cfg = load_config(write_config(tmp_path, arxiv_url=arxiv.url, schedule__time="09:30"))
    saturday = dt.datetime(2025, 5, 31, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    assert serve(Daily(cfg, Pipeline, clock=VirtualClock(saturday, saturday.replace(hour=23)))) == 0
    with sqlite3.connect(tmp_path / "output" / "digest.db") as con:
        runs = con.execute("SELECT date, status FROM runs").fetchall()
    assert runs == [("2025-05-31", "nothing")]  # settled: no hourly re-run of a weekend
    assert arxiv.services.log == []
