"""Operations: kill -9 and resume, two runs on one store, retry of named papers, the scheduler."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from digest.cli import main
from tests.e2e_helpers import DAY, KEY, KEY_ENV, libfaketime, llm_server, read_digest, write_config
from tests.fakes.answers import template_of
from tests.fakes.llm_server import FakeLLMServer


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != KEY_ENV}
    env.update(extra)
    return env


def _spawn(cfg: Path, *args: str, env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "digest", *args, "--config", str(cfg)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _cached_keys(db: Path) -> set[tuple[str, str]]:
    if not db.exists():
        return set()
    with sqlite3.connect(db) as con:
        return {(k, t) for k, t in con.execute("SELECT key, template FROM cache")}


def _asked(llm: FakeLLMServer, template: str) -> bool:
    return any(template_of(r.prompt) == template for r in list(llm.requests))


def _page_begun(out: Path) -> bool:
    """A page file is being written (its temp file) or is in place."""
    return out.is_dir() and any(p.suffix in (".md", ".tmp") for p in out.iterdir())


# Where a kill lands, each at a random moment within that stretch of the run (a run makes 5 requests: 2 packs,
# then 2 deep dives, then the summary): the store just opened (the day's papers being fetched and stored); a
# deep dive asked (a pack's analyses stored, the rest in flight); the summary asked (every analysis stored); the
# first page file written (the index and feed being written, the run being closed).
KILL_MOMENTS: list[tuple[str, Callable[[Path, FakeLLMServer], bool], float]] = [
    ("fetching", lambda tmp, llm: (tmp / "output" / "digest.db").exists(), 0.2),
    ("analysing", lambda tmp, llm: _asked(llm, "deep_dive"), 0.1),
    ("summarising", lambda tmp, llm: _asked(llm, "executive_summary"), 0.1),
    ("writing", lambda tmp, llm: _page_begun(tmp / "output"), 0.1),
]


def test_kill_9_at_random_moments_then_run_finishes_without_repeating_stored_work(tmp_path, arxiv):
    rng = random.Random(7)
    for trial, (moment, reached, jitter) in enumerate(KILL_MOMENTS):
        tmp = tmp_path / f"trial{trial}"
        tmp.mkdir()
        with llm_server(latency=0.15) as llm:
            cfg = write_config(tmp, arxiv_url=arxiv.url, llm_url=llm.url, llm__max_concurrency=2)
            proc = _spawn(cfg, "run", "--date", DAY, env=_env(**{KEY_ENV: KEY}))
            deadline = time.monotonic() + 30
            while not reached(tmp, llm) and proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.01)
            time.sleep(rng.random() * jitter)
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=10)
            out = tmp / "output" / f"{DAY}.md"
            if out.exists():  # written by rename only: a file at the path is always a whole digest
                whole = out.read_text(encoding="utf-8")
                assert (
                    whole.startswith("# 计算机视觉论文日报")
                    and "## 今日精选" in whole
                    and whole.endswith("\n")
                ), moment
            stored = _cached_keys(tmp / "output" / "digest.db")
            before = llm.stats.requests
            asked_before = [r.prompt for r in llm.requests]
            # the resumed run, in this process with the key set
            os.environ[KEY_ENV] = KEY
            try:
                code = main(["run", "--date", DAY, "--config", str(cfg)])
            finally:
                del os.environ[KEY_ENV]
            assert code == 0, moment
            resumed = llm.requests[before:]
            total_jobs = 11
            in_flight_max = 2
            assert len(resumed) <= total_jobs - len(stored) + in_flight_max, (
                moment,
                len(resumed),
                len(stored),
            )
            # no stored analysis was asked again: its prompt does not reappear after the kill
            repeats = [r for r in resumed if r.prompt in set(asked_before)]
            assert len(repeats) <= in_flight_max, moment
            text = read_digest(tmp).text
            assert "分析暂缺" not in text and "执行摘要" in text, moment


def test_two_runs_on_one_store_second_waits_then_exits_1(tmp_path, arxiv):
    # The first run holds the lock for about 5 requests x 1 s: long enough that the second process, even slow
    # to start on a loaded machine, finds it held and gives up after its 1 s wait.
    with llm_server(latency=1.0) as llm:
        cfg = write_config(
            tmp_path, arxiv_url=arxiv.url, llm_url=llm.url, llm__max_concurrency=1, store__lock_timeout_s=1
        )
        first = _spawn(cfg, "run", "--date", DAY, env=_env(**{KEY_ENV: KEY}))
        deadline = time.monotonic() + 20
        while llm.stats.requests < 1 and time.monotonic() < deadline:
            time.sleep(0.02)
        second = _spawn(cfg, "run", "--date", DAY, env=_env(**{KEY_ENV: KEY}))
        _, err2 = second.communicate(timeout=30)
        assert second.returncode == 1
        assert "lock" in err2 and "digest.db.lock" in err2 and "Traceback" not in err2
        out1, err1 = first.communicate(timeout=60)
        assert first.returncode == 0, err1
    text = read_digest(tmp_path).text
    assert "分析暂缺" not in text
    with sqlite3.connect(tmp_path / "output" / "digest.db") as con:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_retry_named_paper_reanalyses_only_that_paper(tmp_path, arxiv, monkeypatch, capsys):
    monkeypatch.setenv(KEY_ENV, KEY)
    with llm_server() as llm:
        cfg = write_config(tmp_path, arxiv_url=arxiv.url, llm_url=llm.url)
        assert main(["run", "--date", DAY, "--config", str(cfg)]) == 0
        text = read_digest(tmp_path).text
        first_pick = text.split("<a id='")[2].split("'")[0]  # [1] is the picks' anchor
        llm.reset()
        assert main(["retry", "--date", DAY, "--paper", first_pick, "--config", str(cfg)]) == 0
        # the named paper (even though it succeeded) and the summary, whose input did not change: cached
        assert llm.stats.requests == 1
        assert first_pick.split("v")[0] in llm.requests[0].prompt or llm.requests[0].attachments
        assert main(["retry", "--date", DAY, "--paper", "9999.99999", "--config", str(cfg)]) == 2
        assert "9999.99999" in capsys.readouterr().err


def _schedule(tmp: Path, cfg: Path, fake_utc: str) -> subprocess.Popen:
    env = _env(TZ="UTC", FAKETIME=f"@{fake_utc}", FAKETIME_DONT_FAKE_MONOTONIC="1", LD_PRELOAD=libfaketime())
    return subprocess.Popen(
        [sys.executable, "-m", "digest", "schedule", "--config", str(cfg)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp,
    )


def _wait_for(path: Path, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists():
            return True
        time.sleep(0.1)
    return False


def test_scheduler_fires_at_schedule_time_and_keeps_running(tmp_path, arxiv):
    cfg = write_config(
        tmp_path, arxiv_url=arxiv.url, schedule__time="09:30", schedule__log_file=str(tmp_path / "digest.log")
    )
    # 09:29:57 in Asia/Shanghai on the recorded Monday: the trigger fires three seconds later
    proc = _schedule(tmp_path, cfg, "2025-06-02 01:29:57")
    try:
        out = tmp_path / "output" / f"{DAY}.md"
        assert not _wait_for(out, 1.5), "ran before its time"
        assert _wait_for(out, 20), "the daily trigger did not fire"
        time.sleep(0.5)
        assert proc.poll() is None  # still serving
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert "scheduler stopped" in err
    assert "run 2025-06-02: complete" in (tmp_path / "digest.log").read_text(encoding="utf-8")
