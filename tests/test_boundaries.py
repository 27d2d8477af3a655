"""Inputs at the edges: digest dates arXiv cannot have, config numbers out of range, the calendar boundary."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import yaml

from digest.cli import main
from tests.e2e_helpers import LocalServer, multi_day_services, read_digest, write_config


@pytest.mark.parametrize("day", ["0001-01-01", "1990-01-01", "2007-03-31", "9999-12-31", "2999-06-02"])
def test_dates_arxiv_cannot_have_exit_2_before_any_request(tmp_path, arxiv, no_key, capsys, day):
    cfg = write_config(tmp_path, arxiv_url=arxiv.url)
    assert main(["run", "--date", day, "--config", str(cfg)]) == 2
    err = capsys.readouterr().err
    assert day in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not arxiv.services.log  # nothing fetched
    assert not (tmp_path / "output").exists()  # nothing stored, no index.md or feed.xml
    assert main(["status", "--date", day, "--config", str(cfg)]) == 2


def test_first_date_and_tomorrow_are_accepted(tmp_path, arxiv, no_key):
    cfg = write_config(tmp_path, arxiv_url=arxiv.url)
    tomorrow = dt.datetime.now(ZoneInfo("Asia/Shanghai")).date() + dt.timedelta(days=1)
    assert main(["run", "--date", "2007-04-01", "--config", str(cfg)]) in (0, 1)
    assert main(["run", "--date", tomorrow.isoformat(), "--config", str(cfg)]) == 0  # not announced yet
    assert not (tmp_path / "output" / f"{tomorrow}.md").exists()


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("llm.timeout_s", ".inf"),
        ("llm.timeout_s", ".nan"),
        ("llm.timeout_s", "0"),
        ("llm.rpm", "1e-9"),
        ("llm.rpm", "-5"),
        ("llm.max_concurrency", "0"),
        ("llm.max_attempts", "0"),
        ("llm.max_attempts_per_day", "0"),
        ("llm.max_cost_usd_per_day", ".inf"),
        ("llm.pdf_max_mb", "-1"),
        ("store.lock_timeout_s", ".inf"),
        ("store.lock_timeout_s", "-1"),
        ("sources.arxiv.timeout_s", ".inf"),
        ("sources.arxiv.min_interval_s", "-3"),
        ("sources.arxiv.page_size", "0"),
        ("sources.huggingface.timeout_s", ".nan"),
        ("sources.huggingface.lag_days", "-1"),
        ("scoring.weights.base", ".inf"),
        ("scoring.weights.code", "1e300"),
        ("scoring.interests.diffusion", ".nan"),
        ("selection.min_score", "101"),
        ("selection.analyze", "-1"),
        ("schedule.retry_every_minutes", "0"),
        ("llm.price_per_million.input", ".inf"),
    ],
)
def test_out_of_range_config_numbers_exit_2_naming_the_key(tmp_path, capsys, key, value):
    *parents, leaf = key.split(".")
    doc = f"{leaf}: {value}\n"
    for name in reversed(parents):
        doc = f"{name}:\n" + "".join("  " + line + "\n" for line in doc.splitlines())
    cfg = tmp_path / "config.yaml"
    cfg.write_text(doc, encoding="utf-8")
    assert isinstance(yaml.safe_load(doc), dict)
    assert main(["status", "--config", str(cfg)]) == 2
    err = capsys.readouterr().err
    assert key in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_schedule_time_is_a_time_and_hhmm_strings_still_load(tmp_path):
    from digest.config import load_config

    cfg = tmp_path / "config.yaml"
    cfg.write_text('schedule:\n  time: "07:05"\ncalendar:\n  announce_time: "19:30"\n', encoding="utf-8")
    loaded = load_config(cfg)
    assert loaded.schedule.time == dt.time(7, 5) and loaded.calendar.announce_time == dt.time(19, 30)


def test_schedule_time_at_the_release_instant_digests_thursday_once(tmp_path, no_key, capsys):
    # 08:00 in Shanghai is 20:00 in New York in June: Thursday's release is Friday's digest, and
    # Saturday (whose window starts at that same instant) has none.
    svc = multi_day_services(["2025-06-05"])
    for record in svc.records:  # the recorded papers, submitted inside Thursday's window instead
        record["published"] += dt.timedelta(days=1)
    with LocalServer(svc) as server:
        cfg = write_config(tmp_path, arxiv_url=server.url, schedule__time="08:00")
        assert main(["run", "--date", "2025-06-06", "--config", str(cfg)]) == 0
        friday = read_digest(tmp_path, "2025-06-06").text
        assert len(svc.records) > 20 and all(r["id"] in friday for r in svc.records[:20])
        asked = len(svc.requests("api"))
        assert main(["run", "--date", "2025-06-07", "--config", str(cfg)]) == 0
        assert len(svc.requests("api")) == asked  # no arXiv request for Saturday
    assert "no arXiv announcement" in capsys.readouterr().out
    assert not (tmp_path / "output" / "2025-06-07.md").exists()
