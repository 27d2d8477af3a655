"""Fetch benchmark: arXiv requests and fetch time of one day's listing of 304 / 3,000 / 10,000 papers.

A local fake export API (a real HTTP server, read by the `arxiv` package) serves a synthetic cs.CV
listing of each size, with the day's RSS feed (two older cross-lists that need an id_list lookup) and
a HuggingFace list (papers outside the listing, one more lookup). `collect_day` fetches the day at the
configured page size (2,000, arXiv's maximum) and, for comparison, at the old page size of 200.

Fetch time is the time arXiv's politeness rule makes the fetch take: the 3 s gate between arXiv
requests runs on a simulated clock (FakeClock) whose sleep() adds the wait to the clock instead of
sleeping, and the fake server answers instantly, so the time printed is the sum of the required waits,
(requests - 1) x 3 s, and the bench finishes in seconds. The last column is this machine's wall time.

    python bench/fetch_bench.py [--sizes 304 3000 10000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from digest.config import Config  # noqa: E402
from digest.fetch.arxiv import ArxivClient  # noqa: E402
from digest.fetch.collect import collect_day  # noqa: E402
from tests.helpers_sources import (  # noqa: E402
    ANNOUNCEMENT,
    DAY,
    FakeClock,
    FakeServices,
    LocalServer,
    fixture,
    hf_records,
    listing_rss,
)

BEFORE = {304: (4, 9), 3000: (18, 51), 10000: (53, 156)}  # requests, seconds at page size 200 (issue 12)


def synthetic_day(size: int) -> FakeServices:
    """A listing of `size` cs.CV papers inside the announcement window, its RSS feed and an HF list."""
    step = (ANNOUNCEMENT.window_end - ANNOUNCEMENT.window_start) / (size + 1)
    records = [
        {
            "id": f"2505.{30000 + i:05d}",
            "version": 1,
            "title": f"Synthetic paper {i}",
            "authors": ["A. Author", "B. Author"],
            "abstract": "We study vision. " * 40,
            "categories": ["cs.CV"] if i % 4 else ["cs.LG", "cs.CV"],
            "comment": None,
            "published": ANNOUNCEMENT.window_start + step * (i + 1),
        }
        for i in range(size)
    ]
    older = [
        {
            **records[i],
            "id": f"2505.{20000 + i:05d}",
            "published": ANNOUNCEMENT.window_start - dt.timedelta(days=2),
        }
        for i in range(2)
    ]
    hf_text = fixture("days/hf_daily_papers_2025-06-02.json")
    services = FakeServices(records=records + older + hf_records(hf_text), clock=FakeClock(), latency=0.0)
    services.rss["cs.CV"] = listing_rss(records + older)
    services.hf = {DAY.isoformat(): hf_text}
    return services


def measure(size: int, page_size: int) -> tuple[int, float, float, int]:
    """(arXiv requests, simulated fetch time in s, wall time in s, papers) for one fetch of the day."""
    services = synthetic_day(size)
    with LocalServer(services) as server, httpx.Client(trust_env=False) as http:
        cfg = Config.model_validate(
            {
                "sources": {
                    "arxiv": {
                        "api_url": f"{server.url}/api/query",
                        "rss_url": f"{server.url}/rss",
                        "page_size": page_size,
                    },
                    "huggingface": {"api_url": f"{server.url}/api/daily_papers", "lag_days": 0},
                }
            }
        )
        arxiv = ArxivClient(cfg.sources.arxiv, http, sleep=services.clock.sleep, clock=services.clock)
        start_clock, start_wall = services.clock(), time.perf_counter()
        day = collect_day(cfg, DAY, ANNOUNCEMENT, arxiv=arxiv, http=http)
        wall = time.perf_counter() - start_wall
    return arxiv.requests, services.clock() - start_clock, wall, len(day.entries)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", type=int, nargs="+", default=[304, 3000, 10000])
    a = p.parse_args()
    page = Config().sources.arxiv.page_size
    print(
        f"{'papers':>7} | {'issue 12 (page 200)':>19} | {'page 200 now':>13} | "
        f"{f'page {page} now':>14} | {'wall':>6}"
    )
    for size in a.sizes:
        old_req, old_s = BEFORE.get(size, (0, 0))
        quoted = f"{old_req} req {old_s:>4} s" if size in BEFORE else "-"
        r200, t200, _, _ = measure(size, 200)
        requests, fetch_s, wall, papers = measure(size, page)
        assert papers >= size, f"fetched {papers} of {size} papers"
        print(
            f"{size:>7} | {quoted:>19} | {r200:>3} req {t200:>4.0f} s | {requests:>3} req {fetch_s:>5.0f} s | "
            f"{wall:>5.1f}s"
        )


if __name__ == "__main__":
    main()
