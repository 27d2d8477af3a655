"""Render benchmark: `digest render` of a 10,000-paper day, and of one day in a 60-day archive.

Builds a store from the recorded cs.CV days (tests/fixtures/days), repeated under fresh ids, with ten
analysed papers and a summary per day, then times the re-render from the store (no network, no LLM):

    python bench/render_bench.py            # both measurements, best of 3
    python bench/render_bench.py --papers 2000 --days 10
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from digest.config import Config, OutputConfig, StoreConfig  # noqa: E402
from digest.models import DayPapers, Entry, Paper  # noqa: E402
from digest.page.publish import render_date  # noqa: E402
from digest.page.survey import write_survey  # noqa: E402
from digest.schemas import SCHEMAS  # noqa: E402
from digest.score.rank import score_all  # noqa: E402
from digest.store import Store, Task  # noqa: E402

# This script against main before issue 11 (4277c97), on the shared 2-core machine under the same load
# (load average ~5) as the numbers printed here; issue 11 measured 7.4-8.1 s and 2.6-3.0 s.
BEFORE = {
    "day": "7.16 s wall, 2.61 s CPU",
    "archive": "2.11 s wall, 0.77 s CPU",
    "survey": "5.29 s wall, 1.86 s CPU",
}
TARGET = {"day": 3.0, "archive": 1.5}
FIELD = "文本" * 40
ANALYSIS = {
    "field": "图像生成",
    "innovation_points": ["一"],
    "weaknesses": ["二"],
    "contributions": FIELD,
    "innovations": FIELD,
    "impact": FIELD,
    "applications": FIELD,
    "limitations": FIELD,
    "one_line": "一句话总结。",
}
SUMMARY = {"themes": ["主题"] * 3, "highlights": ["亮点"] * 3, "directions": ["方向"] * 3, "picks": []}


def _recorded() -> list[dict]:
    rows = []
    for path in sorted((ROOT / "tests" / "fixtures" / "days").glob("arxiv_cs.CV_*.jsonl")):
        rows += [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return rows


def _day(date: dt.date, n: int, rows: list[dict], offset: int) -> DayPapers:
    entries = []
    for i in range(n):
        r = rows[(offset + i) % len(rows)]
        pid = f"{date:%y%m}.{offset + i:05d}"
        paper = Paper(
            id=pid,
            version=1,
            title=r["title"],
            authors=r["authors"],
            abstract=r["abstract"],
            categories=[c for c in r["categories"] if c.startswith("cs.")] or ["cs.CV"],
            primary_category="cs.CV",
            comment=r.get("comment"),
            hf_upvotes=(i % 50) if i % 17 == 0 else None,
            github_repo=f"https://github.com/x/{pid}" if i % 5 == 0 else None,
        )
        entries.append(Entry(paper=paper, on_hf=paper.hf_upvotes is not None))
    return DayPapers(date=date, announcement=None, entries=entries)


def _fill(store: Store, cfg: Config, day: DayPapers) -> None:
    store.save_day(day)
    scored = score_all(day.entries, cfg.scoring, categories=["cs.CV"])
    store.save_scores(day.date, scored)
    picks = [(s.id, "analysis") for s in scored[:10]]
    store.save_selection(day.date, picks)
    d = day.date.isoformat()
    for pid, tpl in picks:
        store.cache_put(
            pid,
            tpl,
            "sha",
            "model",
            result=SCHEMAS[tpl].model_validate(ANALYSIS).model_dump(),
            meta={"warnings": []},
            task=Task(date=d, key=pid, template=tpl, status="ok"),
        )
    summary = dict(
        SUMMARY, picks=[{"paper_id": pid, "reason": "值得读", "audience": "研究者"} for pid, _ in picks[:3]]
    )
    key = f"summary:{d}"
    store.cache_put(
        key,
        "executive_summary",
        "sha",
        "model",
        result=summary,
        meta={},
        task=Task(date=d, key=key, template="executive_summary", status="ok"),
    )


def _best(fn, repeat: int) -> tuple[float, float]:
    """Best wall-clock and best CPU seconds of `repeat` runs (CPU time moves less on a shared machine)."""
    wall, cpu = [], []
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return min(wall), min(cpu)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--papers", type=int, default=10_000)
    p.add_argument("--days", type=int, default=60)
    p.add_argument("--repeat", type=int, default=3)
    a = p.parse_args()
    rows = _recorded()
    with tempfile.TemporaryDirectory() as tmp:
        cfg = Config(output=OutputConfig(dir=f"{tmp}/big"), store=StoreConfig(path=f"{tmp}/big/digest.db"))
        cfg.scoring.interests = {"diffusion": 8, "segmentation": 6, "3d": 5}
        big = dt.date(2026, 6, 30)
        store = Store(cfg.store.path)
        _fill(store, cfg, _day(big, a.papers, rows, 0))
        store.close()
        day_s = _best(lambda: render_date(cfg, big), a.repeat)

        arch = cfg.model_copy(update={"output": OutputConfig(dir=f"{tmp}/arch")})
        arch.store = StoreConfig(path=f"{tmp}/arch/digest.db")
        store = Store(arch.store.path)
        dates = [big - dt.timedelta(days=i) for i in range(a.days)]
        for i, d in enumerate(dates):
            _fill(store, arch, _day(d, 300, rows, i * 300))
        store.close()
        for d in dates:
            render_date(arch, d)  # every digest on disk, as in a real archive

        archive_s = _best(lambda: render_date(arch, big), a.repeat)  # the day, index.md and feed.xml
        survey_s = _best(lambda: write_survey(arch), a.repeat)  # every analysed paper of the archive
    print(
        f"render of a {a.papers}-paper day: {day_s[0]:.2f} s wall, {day_s[1]:.2f} s CPU "
        f"(before: {BEFORE['day']}; target <= {TARGET['day']} s)"
    )
    print(
        f"render of a day in a {a.days}-day archive (300 papers a day; digest, index.md, feed.xml): "
        f"{archive_s[0]:.2f} s wall, {archive_s[1]:.2f} s CPU (before: {BEFORE['archive']}; target <= {TARGET['archive']} s)"
    )
    print(
        f"survey of the {a.days}-day archive ({a.days * 10} analysed papers): "
        f"{survey_s[0]:.2f} s wall, {survey_s[1]:.2f} s CPU (before: {BEFORE['survey']})"
    )


if __name__ == "__main__":
    main()
