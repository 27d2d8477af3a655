"""Failure modes found in review: stopped forced re-runs, long 429 hints, immediate per-day 429s,
leaky error bodies, malformed provider replies."""

from __future__ import annotations

import sqlite3

import pytest

from digest.cli import main
from tests.e2e_helpers import (
    DAY,
    KEY,
    Reply,
    llm_server,
    read_digest,
    status_json,
    write_config,
)

pytestmark = pytest.mark.usefixtures("key")


def test_forced_rerun_stopped_by_the_quota_keeps_the_earlier_answers(tmp_path, arxiv, capsys):
    with llm_server() as llm:
        cfg = write_config(tmp_path, arxiv_url=arxiv.url, llm_url=llm.url)
        assert main(["run", "--date", DAY, "--config", str(cfg)]) == 0
        before = read_digest(tmp_path).text
        pid = before.split("<a id='")[2].split("'")[0]  # [1] is the picks' anchor
        llm.per_day, llm._day_count = 0, 0
        assert main(["retry", "--date", DAY, "--paper", pid, "--config", str(cfg)]) == 3
        assert main(["run", "--date", DAY, "--refresh-analyses", "--config", str(cfg)]) == 3
    assert "not done, earlier answers kept" in capsys.readouterr().err
    after = read_digest(tmp_path).text
    assert "分析暂缺" not in after and "执行摘要尚未生成" not in after
    assert status_json(capsys, cfg)["analyses"] == {"ok": 10, "failed": 0, "pending": 0}


def test_a_429_asking_for_an_hour_stops_the_run_instead_of_failing_every_paper(tmp_path, arxiv, capsys):
    with llm_server() as llm:
        llm.script(*[Reply.rate_limited(retry_s=3600)] * 20)
        cfg = write_config(tmp_path, arxiv_url=arxiv.url, llm_url=llm.url)
        assert main(["run", "--date", DAY, "--config", str(cfg)]) == 3
        assert llm.stats.requests == 1
    st = status_json(capsys, cfg)
    assert st["analyses"]["failed"] == 0 and st["analyses"]["pending"] == 10


def test_immediate_per_day_429_lets_no_request_through_after_it(tmp_path, arxiv):
    # the first call is slow and succeeds; the quota is then gone and the 429 comes back at once
    with llm_server(per_day=1, latency=lambda req: 1.0 if req.index == 0 else 0.0) as llm:
        cfg = write_config(tmp_path, arxiv_url=arxiv.url, llm_url=llm.url, llm__rpm=600)
        assert main(["run", "--date", DAY, "--config", str(cfg)]) == 3
        statuses = [r.status for r in sorted(llm.requests, key=lambda r: r.received_at)]
    first_429 = statuses.index(429)
    assert len(statuses) - first_429 - 1 <= 1, statuses


def test_an_error_body_echoing_the_key_never_reaches_output(tmp_path, arxiv, capsys):
    body = {
        "error": {
            "message": f"Insufficient balance for key {KEY}",
            "type": "insufficient_quota",
            "code": "insufficient_quota",
        }
    }
    with llm_server() as llm:
        llm.script(Reply.raw(402, body))
        cfg = write_config(
            tmp_path,
            arxiv_url=arxiv.url,
            llm_url=llm.url,
            llm__provider="openai",
            llm__base_url=llm.openai_url,
        )
        assert main(["run", "--date", DAY, "--config", str(cfg)]) == 3
    out = capsys.readouterr()
    assert KEY not in out.out + out.err
    db = tmp_path / "output" / "digest.db"
    assert KEY.encode() not in db.read_bytes()
    with sqlite3.connect(db) as con:
        assert all(KEY not in (m or "") for (m,) in con.execute("SELECT message FROM runs"))
    assert KEY not in read_digest(tmp_path).text


def test_malformed_openai_reply_is_retried_not_a_traceback(tmp_path, arxiv, capsys):
    with llm_server() as llm:
        llm.script(Reply.raw(200, {"choices": [{"message": "hi"}]}))
        cfg = write_config(
            tmp_path,
            arxiv_url=arxiv.url,
            llm_url=llm.url,
            llm__provider="openai",
            llm__base_url=llm.openai_url,
        )
        assert main(["run", "--date", DAY, "--config", str(cfg)]) == 0
        assert llm.stats.requests == 6  # one retry
    assert "Traceback" not in capsys.readouterr().err
