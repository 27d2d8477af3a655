"""Servers' retry hints are advice with a ceiling: `inf`, NaN, negative, huge or garbage values never crash
a run nor make it sleep for ever (issue 19: `Retry-After: inf` crashed with OverflowError)."""

from __future__ import annotations

import math

import pytest

from digest.cli import main
from digest.retrying import HINT_CEILING_S, parse_duration, retry_after_header, retry_hint_from_message
from tests.e2e_helpers import DAY, Reply, llm_server, status_json, write_config


@pytest.mark.parametrize("value", ["inf", "Infinity", "-inf", "nan", "NaN", "-5", "1e400", "garbage", ""])
def test_a_retry_after_header_is_finite_and_never_negative(value):
    seconds = retry_after_header(value)
    assert seconds is None or (math.isfinite(seconds) and 0 <= seconds <= HINT_CEILING_S)


def test_a_huge_hint_is_the_ceiling_and_an_ordinary_one_is_kept():
    assert retry_after_header("99999999999999999999") == HINT_CEILING_S
    assert retry_after_header("30") == 30.0
    assert parse_duration("99999999999999999999999h") == HINT_CEILING_S
    assert retry_hint_from_message("Please retry in 29.08s.") == pytest.approx(29.08)


@pytest.mark.parametrize(
    ("hint", "waits"), [("inf", True), ("1e400", True), ("86400", True), ("nan", False), ("-1", False)]
)
def test_a_503_with_a_hostile_retry_after_ends_the_run_with_a_page_not_a_traceback(
    tmp_path, arxiv, key, capsys, hint, waits
):
    # A hint past what we would wait is not slept: the run stops with the papers pending (exit 3) and says
    # why; NaN or a negative hint is no hint, retried as usual.
    with llm_server() as llm:
        llm.script(
            *[Reply.raw(503, {"error": {"code": 503, "message": "overloaded"}}, {"Retry-After": hint})] * 3
        )
        cfg = write_config(tmp_path, arxiv_url=arxiv.url, llm_url=llm.url, llm__max_attempts=2)
        code = main(["run", "--date", DAY, "--config", str(cfg)])
        err = capsys.readouterr().err
    assert "Traceback" not in err and "OverflowError" not in err
    assert (tmp_path / "output" / f"{DAY}.md").exists()
    st = status_json(capsys, cfg)
    if waits:
        assert code == 3 and "server asks to wait" in err, err
        assert st["analyses"]["pending"] >= 1 and st["analyses"]["failed"] == 0
    else:
        assert code in (0, 3) and st["analyses"]["ok"] >= 1
