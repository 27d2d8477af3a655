"""A rerun never redoes an answer: answered picks keep their slot and template, new picks fill free slots only."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from digest.cli import main
from digest.config import SelectionConfig
from digest.models import Pick, Scored
from digest.score.rank import stable_picks
from digest.store import Store
from tests.e2e_helpers import DAY, llm_server, read_digest, write_config


def _selection(tmp_path) -> list[tuple[str, str, str | None]]:
    """(paper id, template, reason) of DAY's picks as the store holds them."""
    store = Store(tmp_path / "output" / "digest.db")
    try:
        date = dt.date.fromisoformat(DAY)
        reasons = store.selection_reasons(date)
        return [(pid, tpl, reasons.get(pid)) for pid, tpl in store.load_selection(date)]
    finally:
        store.close()


def _run(cfg) -> None:
    assert main(["run", "--date", DAY, "--config", str(cfg)]) == 0


def _page_counts(tmp_path) -> tuple[int, int, int]:
    """(analysed, sections, deep dives) as DAY's overview line states them."""
    found = re.search(r"AI 解读 (\d+)/(\d+) 篇（含深度解读 (\d+) 篇）", read_digest(tmp_path).text)
    assert found is not None
    return int(found[1]), int(found[2]), int(found[3])


@pytest.mark.parametrize("indexed", [None, 0], ids=["search-ok", "search-lags"])
def test_hf_refetch_keeps_the_picks_their_templates_and_the_configured_counts(
    tmp_path, arxiv, key, capsys, indexed
):
    arxiv.services.hf_status = 500
    with llm_server() as llm:
        cfg = write_config(tmp_path, arxiv_url=arxiv.url, llm_url=llm.url)
        _run(cfg)
        before = _selection(tmp_path)
        assert len(before) == 10 and [t for _, t, _ in before].count("deep_dive") == 2
        asked = next(e for e in _listed(tmp_path) if e not in {p for p, _, _ in before})
        assert main(["analyze", "--date", DAY, asked, "--config", str(cfg)]) == 0  # one more, on demand
        before = _selection(tmp_path)

        arxiv.services.hf_status = None  # HF is back: its upvotes move the scores
        arxiv.services.indexed = indexed
        if indexed == 0:
            del arxiv.services.rss["cs.CV"]  # the search lags and the feed carries the next listing
        sent = llm.stats.requests
        _run(cfg)
        after = _selection(tmp_path)
        assert sorted(after) == sorted(before)  # same papers, same templates, same reasons
        assert llm.stats.requests == sent  # the same analysed papers: the summary is not asked again
        for _ in range(2):
            sent = llm.stats.requests
            _run(cfg)
            assert llm.stats.requests == sent
            assert sorted(_selection(tmp_path)) == sorted(before)
    assert [w for _, _, w in after].count("asked") == 1
    assert _page_counts(tmp_path) == (11, 11, 2)


def _listed(tmp_path) -> list[str]:
    store = Store(tmp_path / "output" / "digest.db")
    try:
        day = store.load_day(dt.date.fromisoformat(DAY))
        return [e.paper.id for e in day.entries] if day else []
    finally:
        store.close()


def _scored(*ids: str) -> list[Scored]:
    return [Scored(id=pid, score=90.0 - i, reasons=[]) for i, pid in enumerate(ids)]


SEL = SelectionConfig(analyze=4, deep_dive=2)


def test_fresh_picks_fill_only_the_free_slots_hf_top_first():
    scored = _scored("a", "b", "c", "d", "e", "f", "hot")
    fresh = [Pick("a", "score"), Pick("b", "score"), Pick("c", "score"), Pick("hot", "hf_top")]
    held = [("d", "deep_dive", "score"), ("e", "analysis", "score"), ("f", "analysis", "asked")]
    picks, reasons = stable_picks(fresh, held, scored, SEL)
    # d and e keep their slots and templates; two slots are free: HF's top paper, then the best score
    assert picks == [
        ("a", "deep_dive"),
        ("d", "deep_dive"),
        ("e", "analysis"),
        ("hot", "analysis"),
        ("f", "analysis"),
    ]
    assert reasons == {"a": "score", "d": "score", "e": "score", "hot": "hf_top", "f": "asked"}


def test_no_earlier_picks_is_the_plain_selection():
    scored = _scored("a", "b", "c", "d", "e")
    fresh = [Pick("a", "score"), Pick("b", "interest"), Pick("c", "score"), Pick("d", "score")]
    picks, reasons = stable_picks(fresh, [], scored, SEL)
    assert picks == [("a", "deep_dive"), ("b", "deep_dive"), ("c", "analysis"), ("d", "analysis")]
    assert reasons == {"a": "score", "b": "interest", "c": "score", "d": "score"}


def test_more_answered_than_configured_stay_and_nothing_is_added():
    scored = _scored("a", "b", "c", "d", "e", "f")
    held = [(pid, "analysis", "score") for pid in "bcdef"]  # the reader lowered selection.analyze
    picks, _ = stable_picks([Pick("a", "score")], held, scored, SEL)
    assert picks == [(pid, "analysis") for pid in "bcdef"]
