"""A fetch never shrinks a stored day: a lagging search index stores nothing, an HF re-fetch only adds."""

from __future__ import annotations

import datetime as dt

import pytest

from digest.cli import main
from digest.day.load import stored_answer
from digest.store import Store
from tests.e2e_helpers import DAY, llm_server, read_digest, status_json, write_config
from tests.helpers_sources import LATE, day_records

LISTED = len([r for r in day_records() if r["id"] != LATE])  # 152 from the search + 1 cross-list only RSS has


def _stored(tmp_path) -> tuple[list[str], dict[str, object]]:
    """(ids listed, {pick id: its answer}) as the store holds them for DAY."""
    store = Store(tmp_path / "output" / "digest.db")
    try:
        date = dt.date.fromisoformat(DAY)
        day = store.load_day(date)
        ids = [e.paper.id for e in day.entries] if day else []
        answers = {pid: stored_answer(store, date, pid, tpl) for pid, tpl in store.load_selection(date)}
        return ids, {pid: a[0] for pid, a in answers.items() if a is not None}
    finally:
        store.close()


@pytest.mark.parametrize("rss", ["listing", "none"])
def test_zero_search_results_store_nothing_exit_1_and_next_run_fetches_the_day(
    tmp_path, arxiv, no_key, capsys, rss
):
    if rss == "none":
        del arxiv.services.rss["cs.CV"]
    arxiv.services.indexed = 0
    cfg = write_config(tmp_path, arxiv_url=arxiv.url)
    assert main(["run", "--date", DAY, "--config", str(cfg)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert (
        f"arXiv's search returned 0 papers for the announcement of {DAY}; its index may lag; try again later"
    ) in err[0]
    assert not (tmp_path / "output" / f"{DAY}.md").exists()
    st = status_json(capsys, cfg)
    assert st["papers"]["total"] == 0 and st["announcement"] is None and st["complete"] is False

    arxiv.services.indexed = None
    assert main(["run", "--date", DAY, "--config", str(cfg)]) == 0
    ids, _ = _stored(tmp_path)
    assert len([i for i in ids if i in {r["id"] for r in day_records()}]) == (
        LISTED if rss == "listing" else LISTED - 1
    )


def test_far_fewer_than_the_rss_feed_is_a_lagging_index(tmp_path, arxiv, no_key, capsys):
    arxiv.services.indexed = 40
    cfg = write_config(tmp_path, arxiv_url=arxiv.url)
    assert main(["run", "--date", DAY, "--config", str(cfg)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert f"arXiv's search returned 40 papers for the announcement of {DAY}" in err[0]
    assert f"arXiv's RSS feed lists {LISTED}" in err[0] and "try again later" in err[0]
    assert _stored(tmp_path)[0] == []


def test_refresh_that_finds_far_fewer_keeps_the_stored_day(tmp_path, arxiv, no_key, capsys):
    cfg = write_config(tmp_path, arxiv_url=arxiv.url)
    assert main(["run", "--date", DAY, "--config", str(cfg)]) == 0
    before, _ = _stored(tmp_path)
    del arxiv.services.rss["cs.CV"]  # the feed has moved on: only the stored copy says how many there were
    arxiv.services.indexed = 30
    assert main(["run", "--date", DAY, "--refresh", "--config", str(cfg)]) == 1
    err = capsys.readouterr().err
    assert "returned 30 papers" in err and f"the stored copy of {DAY} lists {LISTED}" in err
    assert _stored(tmp_path)[0] == before


def test_hf_refetch_while_search_lags_keeps_papers_and_analyses_and_adds_hf(tmp_path, arxiv, key, capsys):
    arxiv.services.hf_status = 500
    with llm_server() as llm:
        cfg = write_config(tmp_path, arxiv_url=arxiv.url, llm_url=llm.url)
        assert main(["run", "--date", DAY, "--config", str(cfg)]) == 0
        ids_before, answers_before = _stored(tmp_path)
        assert len(answers_before) == 10 and status_json(capsys, cfg)["papers"]["hf_status"] == "unavailable"

        arxiv.services.hf_status = None
        arxiv.services.indexed = 0  # the next morning the search index lags...
        del arxiv.services.rss["cs.CV"]  # ...and the feed carries the next listing
        assert main(["run", "--date", DAY, "--config", str(cfg)]) == 0
        st = status_json(capsys, cfg)
    ids_after, answers_after = _stored(tmp_path)
    assert set(ids_before) <= set(ids_after) and len(ids_after) > len(ids_before)  # + HF-only papers
    for pid, answer in answers_before.items():
        assert answers_after.get(pid) == answer
    assert st["papers"]["hf_status"] == "ok" and st["papers"]["by_source"].get("huggingface", 0) >= 1
    text = read_digest(tmp_path).text
    assert "🔥" in text and "不可用" not in text
    assert text.count("https://arxiv.org/abs/") >= len(ids_before)
