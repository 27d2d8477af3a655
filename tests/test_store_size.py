"""The store holds each paper's text once, migrates old stores in place, and prunes old listings."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import sqlite3
from pathlib import Path

import yaml

from bench.store_size import build, store_bytes
from digest.cli import main
from digest.models import DayPapers, Entry, Paper
from digest.store import Store
from tests.e2e_helpers import status_json

FIXTURE_V4 = Path(__file__).parent / "fixtures" / "store_v4.db"  # made by digest at 05d93a7 (schema v4)
D1, D2 = dt.date(2025, 6, 2), dt.date(2025, 6, 3)


def test_four_metadata_only_days_fit_the_budget(tmp_path, no_key):
    store, rows = build(tmp_path)
    papers = sum(n for _, n, _ in rows)
    size = rows[-1][2]
    assert papers > 700
    assert size <= 3_000_000
    assert size / papers * 300 <= 750_000  # a 300-paper day
    with sqlite3.connect(store) as db:
        texts = db.execute("SELECT COUNT(*) FROM paper_texts").fetchone()[0]
    assert texts == len({pid for pid in _listed(store)})


def _listed(store: Path) -> list[str]:
    with sqlite3.connect(store) as db:
        return [r[0] for r in db.execute("SELECT paper_id FROM day_papers")]


def _paper(upvotes: int | None, *, version: int = 1, comment: str | None = None) -> Paper:
    return Paper(
        id="2506.01921",
        version=version,
        title="A title",
        abstract="An abstract. " * 80,
        authors=["A. Author"],
        categories=["cs.CV"],
        primary_category="cs.CV",
        hf_upvotes=upvotes,
        comment=comment,
    )


def _day(date: dt.date, paper: Paper) -> DayPapers:
    return DayPapers(
        date=date, announcement=None, entries=[Entry(paper=paper, on_hf=paper.hf_upvotes is not None)]
    )


def test_each_date_keeps_its_own_upvotes_and_the_text_is_stored_once(tmp_path):
    store = Store(tmp_path / "s.db")
    store.save_day(_day(D1, _paper(5)))
    store.save_day(_day(D2, _paper(30, comment="CVPR 2025")))
    store.save_day(_day(dt.date(2025, 6, 4), _paper(None, version=2)))
    assert store.load_day(D1).entries[0].paper == _paper(5)
    assert store.load_day(D2).entries[0].paper == _paper(30, comment="CVPR 2025")
    assert store.load_day(dt.date(2025, 6, 4)).entries[0].paper == _paper(None, version=2)
    store.save_day(_day(D1, _paper(7)))  # a re-fetch of a date replaces its snapshot
    assert store.load_day(D1).entries[0].paper.hf_upvotes == 7
    rows = store._q("SELECT version FROM paper_texts ORDER BY version")
    assert [r[0] for r in rows] == [1, 2]
    store.close()


def _old_snapshots(path: Path) -> dict[tuple[str, str], dict]:
    with sqlite3.connect(path) as db:
        return {
            (d, pid): json.loads(data)
            for d, pid, data in db.execute(
                "SELECT dp.date, dp.paper_id, COALESCE(dp.data, p.data) FROM day_papers dp JOIN papers p ON p.id = dp.paper_id"
            )
        }


def _v4_output(tmp_path: Path) -> tuple[Path, Path]:
    """A copy of the schema-v4 store in tmp_path/output and a config pointing at it."""
    path = tmp_path / "output" / "digest.db"
    path.parent.mkdir()
    shutil.copy(FIXTURE_V4, path)
    cfg = tmp_path / "config.yaml"
    cfg.write_text(
        yaml.safe_dump(
            {
                "output": {"dir": "output"},
                "store": {"path": "output/digest.db"},
                "llm": {"api_key_env": "DIGEST_TEST_KEY"},
            }
        ),
        encoding="utf-8",
    )
    return path, cfg


def test_a_store_made_by_the_previous_schema_migrates_in_place(tmp_path, no_key):
    path, cfg = _v4_output(tmp_path)
    before = _old_snapshots(path)
    assert {pid for (_, pid) in before if (D1.isoformat(), pid) in before and (D2.isoformat(), pid) in before}
    size_before = path.stat().st_size
    store = Store(path)
    for date in (D1, D2):
        day = store.load_day(date)
        got = {e.paper.id: json.loads(e.paper.model_dump_json()) for e in day.entries}
        assert got == {pid: snap for (d, pid), snap in before.items() if d == date.isoformat()}
    assert store.tasks(D1) and store.load_selection(D1)
    tables = {r[0] for r in store._q("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert not tables & {"papers", "paper_versions"}
    store.close()
    assert store_bytes(path) < size_before * 0.6  # the texts were 3 of the old store's 4 parts
    assert main(["render", "--date", D1.isoformat(), "--config", str(cfg)]) == 0
    assert "主要贡献" in (tmp_path / "output" / f"{D1}.md").read_text(encoding="utf-8")


def test_prune_drops_old_listings_and_keeps_analysed_papers(tmp_path, no_key, capsys):
    path, cfg = _v4_output(tmp_path)
    store = Store(path)
    picked = {pid for pid, _ in store.load_selection(D1)}
    d2_before = store.load_day(D2)
    store.close()
    assert main(["prune", "--before", D2.isoformat(), "--config", str(cfg)]) == 0
    assert "pruned" in capsys.readouterr().out
    store = Store(path)
    assert {e.paper.id for e in store.load_day(D1).entries} == picked
    assert store.load_day(D2) == d2_before
    assert set(store.load_scores(D1)) == picked
    store.close()
    assert main(["render", "--date", D1.isoformat(), "--config", str(cfg)]) == 0
    assert "主要贡献" in (tmp_path / "output" / f"{D1}.md").read_text(encoding="utf-8")


def before_selected(path) -> int:
    store = Store(path)
    try:
        return len(store.load_selection(D1))
    finally:
        store.close()


def test_status_of_a_pruned_day_counts_the_papers_it_listed(tmp_path, no_key, capsys):
    path, cfg = _v4_output(tmp_path)
    before = status_json(capsys, cfg, D1.isoformat())["papers"]
    assert before["total"] > before_selected(path) and before["pruned"] is False
    assert main(["prune", "--before", D2.isoformat(), "--config", str(cfg)]) == 0
    after = status_json(capsys, cfg, D1.isoformat())["papers"]
    assert after["pruned"] is True  # the listing is gone; its counts are what the page and index say
    assert {k: after[k] for k in ("total", "by_source", "cross_lists")} == {
        k: before[k] for k in ("total", "by_source", "cross_lists")
    }


def test_status_of_a_date_with_nothing_stored_has_the_keys_of_any_other(tmp_path, no_key, capsys):
    _, cfg = _v4_output(tmp_path)
    stored, empty = (status_json(capsys, cfg, d) for d in (D1.isoformat(), "2025-07-01"))
    assert empty["papers"]["total"] == 0 and empty["complete"] is False
    # a script reading papers.cross_lists or llm.tokens_thinking works on any date
    for part in ("papers", "llm"):
        assert sorted(empty[part]) == sorted(stored[part])
    assert sorted(empty) == sorted(stored)


def test_a_pruned_day_renders_the_counts_it_had_and_says_the_listing_was_pruned(tmp_path, no_key, capsys):
    path, cfg = _v4_output(tmp_path)
    page = tmp_path / "output" / f"{D1}.md"
    assert main(["render", "--date", D1.isoformat(), "--config", str(cfg)]) == 0
    scanned = next(ln for ln in page.read_text(encoding="utf-8").splitlines() if "今日扫描" in ln)
    index_line = next(
        ln
        for ln in (tmp_path / "output" / "index.md").read_text(encoding="utf-8").splitlines()
        if D1.isoformat() in ln
    )
    for _ in range(2):  # pruning again keeps the day's own counts
        assert main(["prune", "--before", D2.isoformat(), "--config", str(cfg)]) == 0
        assert main(["render", "--date", D1.isoformat(), "--config", str(cfg)]) == 0
        text = page.read_text(encoding="utf-8")
        assert scanned.split("）")[0] in text  # "今日扫描 N 篇论文（arXiv 新提交 … 篇…" unchanged
        assert "列表已清理" in text
        assert index_line in (tmp_path / "output" / "index.md").read_text(encoding="utf-8")
    store = Store(path)
    store.save_day(store.load_day(D1))  # a new fetch of the day replaces the listing: its own counts again
    store.close()
    assert main(["render", "--date", D1.isoformat(), "--config", str(cfg)]) == 0
    assert "列表已清理" not in page.read_text(encoding="utf-8")
    capsys.readouterr()
