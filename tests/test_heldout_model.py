"""Answers written the way other models write them (tests/fakes/heldout_model.py, not answers.py), through the
real CLI and the real clients, on a recorded day the other end-to-end tests do not use (2025-06-04)."""

from __future__ import annotations

import pytest

from digest.cli import main
from tests.e2e_helpers import (
    LocalServer,
    llm_server,
    multi_day_services,
    read_digest,
    status_json,
    write_config,
)
from tests.fakes.heldout_model import HeldOutModel

DAY = "2025-06-04"
OK = {"ok": 10, "failed": 0, "pending": 0}


@pytest.fixture(scope="module")
def other_day():
    """Fake arXiv/HF serving the recorded 2025-06-04 listing."""
    with LocalServer(multi_day_services([DAY])) as server:
        yield server


def _run(tmp_path, other_day, capsys, model: HeldOutModel, provider: str = "gemini", **over: object):
    """Run the day twice against `model`; the first run's exit code, requests and status, the rerun's requests."""
    with llm_server(responder=model) as llm:
        url = llm.openai_url if provider == "openai" else llm.url
        cfg = write_config(tmp_path, arxiv_url=other_day.url, llm_url=url, llm__provider=provider, **over)
        code = main(["run", "--date", DAY, "--config", str(cfg)])
        sent = llm.stats.requests
        st = status_json(capsys, cfg, DAY)
        assert main(["run", "--date", DAY, "--config", str(cfg)]) == code
        return code, sent, st, llm.stats.requests - sent


# The prompts write ids in square brackets, and models quote them: "[2506.02010]" is JSON too (a list).
BRACKETS = "好的，以下是 [2506.02010] 等论文的分析（见 [1]）：\n"


@pytest.mark.parametrize(
    ("wrap", "opening", "provider"), [("preamble", BRACKETS, "gemini"), ("fence+preamble", "", "openai")]
)
def test_json_after_a_chatty_opening_is_read_not_thrown_away(
    tmp_path, other_day, key, capsys, wrap, opening, provider
):
    model = HeldOutModel(
        wrap=wrap, preamble=opening
    )  # "好的，以下是对这几篇论文的结构化分析：" then the JSON
    code, sent, st, again = _run(tmp_path, other_day, capsys, model, provider)
    assert (code, sent, again) == (0, 5, 0)  # 2 packs, 2 deep dives, the summary; the rerun is cached
    assert st["analyses"] == OK and st["llm"]["errors_by_kind"] == {}
    assert "以下是" not in read_digest(tmp_path, DAY).text  # the opening is outside the JSON: never shown


@pytest.mark.parametrize(("shape", "ids"), [("keyed", "arxiv"), ("keyed", "abs"), ("renamed", "version")])
def test_a_pack_keyed_by_id_or_under_another_name_is_one_request(
    tmp_path, other_day, key, capsys, shape, ids
):
    model = HeldOutModel(pack_shape=shape, id_style=ids, wrap="fence")
    code, sent, st, again = _run(tmp_path, other_day, capsys, model, "openai")
    assert model.asked.get("analysis", 0) == 0  # no paper re-asked alone
    assert (code, sent, again) == (0, 5, 0) and st["analyses"] == OK


@pytest.mark.parametrize("envelope", ["analysis", "response"])
def test_an_answer_wrapped_in_one_key_is_read_not_reasked(tmp_path, other_day, key, capsys, envelope):
    model = HeldOutModel(envelope=envelope)  # {"analysis": {...}}: the asked object under one key
    code, sent, st, again = _run(tmp_path, other_day, capsys, model, "openai")
    assert (code, sent, again) == (0, 5, 0) and st["analyses"] == OK and st["summary"] == "ok"
    assert st["llm"]["errors_by_kind"] == {}


def test_under_a_daily_quota_every_pack_is_asked_before_any_paper_is_reasked(
    tmp_path, other_day, key, capsys
):
    # Each pack answer leaves one paper out and opens another with filler: 2 of 5 papers re-asked alone.
    model = HeldOutModel(
        drop_one=True, plant={"field": "好的，作为一名计算机视觉专家，我将为您分析。"}, plant_first_only=True
    )
    with llm_server(responder=model, per_day=20) as llm:
        cfg = write_config(
            tmp_path,
            arxiv_url=other_day.url,
            llm_url=llm.url,
            llm__rpd=20,
            llm__max_concurrency=2,
            selection__analyze=40,
            selection__deep_dive=2,
        )
        assert main(["run", "--date", DAY, "--config", str(cfg)]) == 3  # 16 re-asks do not all fit
        assert llm.stats.requests == 20 and llm.stats.quota_exhausted == 0
        st = status_json(capsys, cfg, DAY)
    # 8 packs (22 papers: 7 of 5 and one of 3) and 2 deep dives first, 9 re-asks, the summary: a re-ask,
    # worth one paper, never took the place of a pack's first request, worth three (it analysed 14-19
    # papers, with 5-7 packs and no deep dive).
    assert model.asked["pack"] == 8 and model.asked["deep_dive"] == 2 and model.asked["analysis"] == 9
    assert st["analyses"] == {"ok": 33, "failed": 0, "pending": 7} and st["summary"] == "ok"


def test_the_scheduler_does_not_retry_a_language_mismatch_its_config_cannot_fix(
    tmp_path, other_day, key, capsys
):
    import datetime as dt

    from digest.commands.pipeline import Pipeline
    from digest.commands.scheduler import Daily
    from digest.config import load_config

    with llm_server(responder=HeldOutModel(language="zh")) as llm:
        cfg = write_config(tmp_path, arxiv_url=other_day.url, llm_url=llm.url, language="en")
        assert main(["run", "--date", DAY, "--config", str(cfg)]) == 3
        sent = llm.stats.requests
        assert sent <= 15
        daily = Daily(load_config(cfg), Pipeline)
        daily.last_date = dt.date.fromisoformat(DAY)
        for _ in range(3):  # three hourly retries: each would ask ~10 more papers in Chinese again
            daily.retry()
        assert llm.stats.requests == sent
        assert main(["retry", "--date", DAY, "--config", str(cfg)]) == 3  # asked for by hand: it still tries
        assert llm.stats.requests > sent
