"""LLM stage benchmark: a local fake Gemini with a per-minute quota, the real client, N analyses.

Prints calls made, 429s received, wall time, the rate floor ((calls - 1) / rpm minutes), the ratio
of the request span to that floor, and the LLM phase's wall time against floor + one latency. Time can be scaled (--window 6 means a "minute" lasts 6 s on both
sides) so a run takes seconds, not minutes.

    python bench/llm_bench.py --papers 30 --rpm 10 --quota 10 --latency 0.5 --window 6
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from digest.analysis.build import analysis_job  # noqa: E402
from digest.analysis.prompts import prompts_dir  # noqa: E402
from digest.analysis.session import Session  # noqa: E402
from digest.config import Config  # noqa: E402
from digest.llm import build_provider  # noqa: E402
from digest.llm.ratelimit import Limiter  # noqa: E402
from digest.models import Entry, Paper  # noqa: E402
from digest.store import Store  # noqa: E402
from tests.fakes.answers import answer_for  # noqa: E402
from tests.fakes.llm_server import FakeLLMServer, Reply  # noqa: E402

KEY = "bench-key"


def papers(n: int) -> list[Entry]:
    day = ROOT / "tests" / "fixtures" / "days" / "arxiv_cs.CV_2025-06-03.jsonl"
    rows = [json.loads(line) for line in day.read_text(encoding="utf-8").splitlines()][:n]
    return [
        Entry(
            paper=Paper(
                id=r["id"],
                title=r["title"],
                authors=r["authors"],
                abstract=r["abstract"],
                categories=r["categories"],
            )
        )
        for r in rows
    ]


def run(*, n: int, rpm: float, quota: int | None, latency: float, window: float, concurrency: int) -> dict:
    with (
        FakeLLMServer(
            latency=latency,
            rpm=quota,
            window_s=window,
            api_key=KEY,
            responder=lambda req: Reply(text=answer_for(req.prompt)),
        ) as server,
        tempfile.TemporaryDirectory() as tmp,
    ):
        cfg = Config.model_validate(
            {"llm": {"base_url": server.url, "rpm": rpm, "max_concurrency": concurrency, "max_attempts": 8}}
        )
        store = Store(Path(tmp) / "bench.db")
        session = Session(
            cfg,
            provider=build_provider(cfg.llm, KEY),
            store=store,
            date=dt.date(2025, 6, 3),
            prompts=prompts_dir(None, language=cfg.language),
            limiter=Limiter(rpm, concurrency, window_s=window),
        )
        jobs = [analysis_job(e, cfg, session.prompts) for e in papers(n)]
        t0 = time.monotonic()
        outcomes = session.run(jobs)
        wall = time.monotonic() - t0
        sent = [r for r in server.requests]
        span = (sent[-1].received_at - sent[0].received_at) if len(sent) > 1 else 0.0
        calls = server.stats.requests
        floor = max(calls - 1, 0) / rpm * window
        store.close()
        return {
            "papers": n,
            "ok": sum(o.status == "ok" for o in outcomes),
            "calls": calls,
            "429s": server.stats.rate_limited,
            "wall_s": round(wall, 2),
            "span_s": round(span, 2),
            "floor_s": round(floor, 2),
            "ratio": round(span / floor, 3) if floor else None,
            "phase": round(wall / (floor + latency), 3),
            "rpm": rpm,
            "quota": quota,
            "latency_s": latency,
            "window_s": window,
        }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--papers", type=int, default=30)
    p.add_argument("--rpm", type=float, default=10)
    p.add_argument(
        "--quota",
        type=int,
        action="append",
        help="server quota per window (repeatable; default: rpm, 0.7 rpm and 0.5 rpm)",
    )
    p.add_argument("--latency", type=float, default=0.5)
    p.add_argument("--window", type=float, default=6.0, help="seconds in a scaled 'minute'")
    p.add_argument("--concurrency", type=int, default=8)
    a = p.parse_args()
    os.environ.pop("GEMINI_API_KEY", None)
    quotas = a.quota or [int(a.rpm), max(1, int(a.rpm * 0.7)), max(1, int(a.rpm) // 2)]
    scenarios = [(f"quota {q}/rpm {a.rpm:g}", q) for q in quotas]
    print(
        f"{'scenario':<16} {'papers':>6} {'ok':>4} {'calls':>6} {'429s':>5} {'wall s':>8} {'span s':>8} "
        f"{'floor s':>8} {'ratio':>6} {'phase':>6}"
    )
    for name, quota in scenarios:
        r = run(
            n=a.papers, rpm=a.rpm, quota=quota, latency=a.latency, window=a.window, concurrency=a.concurrency
        )
        print(
            f"{name:<16} {r['papers']:>6} {r['ok']:>4} {r['calls']:>6} {r['429s']:>5} {r['wall_s']:>8} "
            f"{r['span_s']:>8} {r['floor_s']:>8} {r['ratio'] if r['ratio'] is not None else '-':>6} "
            f"{r['phase']:>6}"
        )


if __name__ == "__main__":
    main()
