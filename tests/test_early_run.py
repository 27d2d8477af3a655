"""A run before the announcement is released does not settle the day: the scheduler still catches it up."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from zoneinfo import ZoneInfo

from digest.commands.pipeline import Pipeline
from digest.commands.scheduler import Daily, serve
from digest.config import load_config
from tests.e2e_helpers import DAY, KEY_ENV, libfaketime, write_config
from tests.test_scheduler import VirtualClock

SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_a_run_before_the_release_does_not_stop_the_schedulers_catch_up(tmp_path, arxiv, no_key):
    cfg_path = write_config(tmp_path, arxiv_url=arxiv.url, schedule__time="09:30")
    # 07:30 in Shanghai: the announcement of DAY comes out at 08:00 (20:00 in New York)
    env = {k: v for k, v in os.environ.items() if k != KEY_ENV}
    env.update(
        TZ="UTC", FAKETIME="@2025-06-01 23:30:00", FAKETIME_DONT_FAKE_MONOTONIC="1", LD_PRELOAD=libfaketime()
    )
    early = subprocess.run(
        [sys.executable, "-m", "digest", "run", "--date", DAY, "--config", str(cfg_path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert early.returncode == 0 and "released at" in early.stdout, early.stdout + early.stderr
    assert not (tmp_path / "output" / f"{DAY}.md").exists()

    # the scheduler starts at 10:00, after schedule.time: the day's digest is due and missing
    start = dt.datetime(2025, 6, 2, 10, 0, tzinfo=SHANGHAI)
    daily = Daily(load_config(cfg_path), Pipeline, clock=VirtualClock(start, start + dt.timedelta(minutes=5)))
    assert serve(daily) == 0
    assert (tmp_path / "output" / f"{DAY}.md").exists()
