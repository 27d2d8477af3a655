"""The scheduler on an injected clock, and SIGTERM/SIGINT to real `digest run` / `digest schedule` processes."""

from __future__ import annotations

import datetime as dt
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path
from zoneinfo import ZoneInfo

from digest.commands.pipeline import Pipeline
from digest.commands.scheduler import Daily, serve
from digest.config import load_config
from tests.e2e_helpers import DAY, KEY, KEY_ENV, Reply, libfaketime, llm_server, read_digest, write_config
from tests.fakes.answers import answer_for, template_of

SHANGHAI = ZoneInfo("Asia/Shanghai")


class VirtualClock:
    """Time that jumps ahead on every wait; it stops the scheduler once `until` is reached."""

    def __init__(self, start: dt.datetime, until: dt.datetime) -> None:
        self.t, self.until = start, until
        self.waits: list[dt.datetime] = []

    def now(self, tz: dt.tzinfo) -> dt.datetime:
        return self.t.astimezone(tz)

    def wait(self, seconds: float, stop: threading.Event) -> None:
        self.t = min(self.t + dt.timedelta(seconds=seconds), self.until)
        self.waits.append(self.t)
        if self.t >= self.until:
            stop.set()


def _at(hh: int, mm: int, ss: int = 0, day: str = DAY) -> dt.datetime:
    return dt.datetime.combine(dt.date.fromisoformat(day), dt.time(hh, mm, ss), tzinfo=SHANGHAI)


def _runs(tmp: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(tmp / "output" / "digest.db") as con:
        return [(c, s) for c, s in con.execute("SELECT command, status FROM runs ORDER BY id")]


def test_daily_fire_on_an_injected_clock(tmp_path, arxiv, no_key):
    cfg = load_config(write_config(tmp_path, arxiv_url=arxiv.url, schedule__time="09:30"))
    out = tmp_path / "output" / f"{DAY}.md"
    assert serve(Daily(cfg, Pipeline, clock=VirtualClock(_at(9, 29, 57), _at(9, 29, 59)))) == 0
    assert not out.exists()  # not before its time
    clock = VirtualClock(_at(9, 29, 59), _at(9, 45))
    assert serve(Daily(cfg, Pipeline, clock=clock)) == 0
    assert out.exists() and clock.waits[0] == _at(9, 30)  # woke exactly at schedule.time
    assert _runs(tmp_path) == [("run", "complete")]


def test_catch_up_on_start_on_an_injected_clock(tmp_path, arxiv, no_key):
    cfg = load_config(write_config(tmp_path, arxiv_url=arxiv.url, schedule__time="09:30"))
    clock = VirtualClock(_at(11, 15), _at(11, 16))  # started after the time: the run was missed
    assert serve(Daily(cfg, Pipeline, clock=clock)) == 0
    assert (tmp_path / "output" / f"{DAY}.md").exists() and _runs(tmp_path) == [("run", "complete")]
    # started again the same day: the digest is there, nothing runs
    assert serve(Daily(cfg, Pipeline, clock=VirtualClock(_at(11, 30), _at(11, 31)))) == 0
    assert _runs(tmp_path) == [("run", "complete")]


def test_hourly_retry_finishes_the_digest_on_an_injected_clock(tmp_path, arxiv, key):
    with llm_server() as llm:
        # two LLM requests per run: the morning run leaves work pending, each hourly retry does two more
        cfg = load_config(
            write_config(
                tmp_path,
                arxiv_url=arxiv.url,
                llm_url=llm.url,
                schedule__time="09:30",
                llm__max_calls_per_run=2,
                llm__max_concurrency=1,
            )
        )
        clock = VirtualClock(_at(9, 0), _at(9, 30, 30))
        assert serve(Daily(cfg, Pipeline, clock=clock)) == 0
        assert _runs(tmp_path) == [("run", "partial")] and llm.stats.requests == 2
        clock = VirtualClock(_at(9, 31), _at(10, 30, 30))  # a new process; its first retry is at 10:31
        assert serve(Daily(cfg, Pipeline, clock=clock)) == 0
        assert _runs(tmp_path) == [("run", "partial")] and llm.stats.requests == 2
        clock = VirtualClock(_at(9, 31), _at(23, 0))
        assert serve(Daily(cfg, Pipeline, clock=clock)) == 0
    runs = _runs(tmp_path)
    assert runs[0] == ("run", "partial") and runs[-1] == ("retry", "complete")
    assert all(c == "retry" for c, _ in runs[1:]) and len(runs) >= 3
    assert "分析暂缺" not in read_digest(tmp_path).text
    assert clock.waits[0] == _at(10, 31)  # hourly after the start, not at once


def test_hourly_retry_stops_once_a_papers_attempts_for_the_day_are_spent(tmp_path, arxiv, key):
    def never_valid(_req) -> Reply:
        return Reply(text="抱歉，我无法完成这个请求。")

    with llm_server(responder=never_valid) as llm:
        cfg = load_config(
            write_config(
                tmp_path,
                arxiv_url=arxiv.url,
                llm_url=llm.url,
                schedule__time="09:30",
                selection__analyze=1,
                selection__deep_dive=0,
                selection__always_include_hf_top=0,
                llm__papers_per_call=1,
                llm__max_attempts=2,
                llm__max_attempts_per_day=3,
            )
        )
        assert serve(Daily(cfg, Pipeline, clock=VirtualClock(_at(9, 29), _at(23, 0)))) == 0
        assert llm.stats.requests <= 4  # the day's 3 attempts (and one re-ask in flight when they ran out)
    # the morning run and one retry spend the budget; no hourly retry follows to re-render an unchanged page
    assert [c for c, _ in _runs(tmp_path)] == ["run", "retry"]


def test_a_summary_the_model_never_writes_is_not_asked_every_hour(tmp_path, arxiv, key):
    def no_summary(req) -> Reply:
        if template_of(req.prompt) == "executive_summary":
            return Reply(text="好的，以下是摘要。")  # never JSON
        return Reply(text=answer_for(req.prompt))

    with llm_server(responder=no_summary) as llm:
        cfg = load_config(
            write_config(
                tmp_path,
                arxiv_url=arxiv.url,
                llm_url=llm.url,
                schedule__time="09:30",
                llm__max_attempts=2,
                llm__max_attempts_per_day=3,
            )
        )
        assert serve(Daily(cfg, Pipeline, clock=VirtualClock(_at(9, 29), _at(23, 0)))) == 0
        summaries = [r for r in llm.requests if template_of(r.prompt) == "executive_summary"]
    assert len(summaries) <= 4  # its 3 attempts for the day (one re-ask may be in flight when they run out)
    assert [c for c, _ in _runs(tmp_path)] == ["run", "retry"]


# --- signals to real processes --------------------------------------------------------------------


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != KEY_ENV}
    env.update(extra)
    return env


def _wait_requests(llm, n: int, proc: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while llm.stats.requests < n and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert llm.stats.requests >= n and proc.poll() is None


def test_sigterm_to_run_mid_analysis_writes_the_digest_and_exits_3(tmp_path, arxiv):
    with llm_server(latency=1.0) as llm:
        cfg = write_config(
            tmp_path, arxiv_url=arxiv.url, llm_url=llm.url, llm__max_concurrency=1, llm__papers_per_call=1
        )
        proc = subprocess.Popen(
            [sys.executable, "-m", "digest", "run", "--date", DAY, "--config", str(cfg)],
            env=_env(**{KEY_ENV: KEY}),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        _wait_requests(llm, 1, proc)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=15)
        sent = llm.stats.requests
    assert proc.returncode == 3, err
    assert "Traceback" not in err and "RuntimeError" not in err
    assert sent <= 3  # the call in flight finished; nothing new started
    text = read_digest(tmp_path).text
    assert "分析暂缺" in text  # the rest is pending, and says so
    assert _runs(tmp_path) == [("run", "partial")]


def test_sigterm_to_schedule_mid_analysis_writes_the_digest_and_exits_0(tmp_path, arxiv):
    log_file = tmp_path / "logs" / "new" / "digest.log"  # the directory does not exist yet
    with llm_server(latency=1.0) as llm:
        cfg = write_config(
            tmp_path,
            arxiv_url=arxiv.url,
            llm_url=llm.url,
            llm__max_concurrency=1,
            llm__papers_per_call=1,
            schedule__time="09:30",
            schedule__log_file=str(log_file),
        )
        # 11:15 in Shanghai on the recorded Monday: the catch-up run starts at once
        env = _env(
            **{KEY_ENV: KEY},
            TZ="UTC",
            FAKETIME="@2025-06-02 03:15:00",
            FAKETIME_DONT_FAKE_MONOTONIC="1",
            LD_PRELOAD=libfaketime(),
        )
        proc = subprocess.Popen(
            [sys.executable, "-m", "digest", "schedule", "--config", str(cfg)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=tmp_path,
        )
        _wait_requests(llm, 1, proc)
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=20)
        stopped_in = time.monotonic() - started
        sent = llm.stats.requests
    assert proc.returncode == 0, err
    assert "Traceback" not in err and "RuntimeError" not in err and "scheduler stopped" in err
    assert stopped_in < 15 and sent <= 3
    assert "分析暂缺" in read_digest(tmp_path).text
    assert _runs(tmp_path) == [("run", "partial")]  # not "failed"
    assert "run 2025-06-02: partial" in log_file.read_text(encoding="utf-8")
