"""Quota benchmark: a free-tier day (rpm 10, rpd 20, 8 s latency) through the whole `digest run`.

Fake arXiv/HF and a fake Gemini behind the real google-genai client. The Gemini fake admits `--rpm`
requests per scaled minute and `--rpd` a day, answers after `--latency` scaled seconds and, with
`--faults`, fails on purpose like bench/fault_bench.py (10 % 5xx, 5 % refusals, 5 % invalid JSON, 3 %
truncation, fixed seed). Time is scaled down `--scale` times on both sides (the server's window is
60/scale s, the config's llm.rpm is rpm x scale, the latency is latency/scale), so a day takes seconds.
The client's backoff after a 5xx is not scaled (2 s, 4 s, ... real), which inflates wall time under
faults. Prints analysed papers, requests, 429s, LLM wall time against the floor ((requests - 1) / rpm
minutes + one latency), and requests per analysed paper.

    python bench/quota_bench.py                      # the four scenarios below
    python bench/quota_bench.py --analyze 40 --deep-dive 2 --rpd 20 --faults
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import io
import os
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from digest.cli import main as digest_main  # noqa: E402
from digest.commands.status import status_of  # noqa: E402
from digest.config import load_config  # noqa: E402
from tests.e2e_helpers import DAY, KEY, KEY_ENV, LocalServer, Reply, llm_server, services, write_config  # noqa: E402
from tests.fakes.answers import answer_for  # noqa: E402

FAULTS = (("5xx", 0.10), ("refusal", 0.05), ("invalid", 0.05), ("truncated", 0.03))


def responder(rng: random.Random | None):
    """Valid answers, or the fault bench's mix when rng is given."""

    def answer(req):
        x = rng.random() if rng else 1.0
        for kind, prob in FAULTS:
            if x < prob:
                return {
                    "5xx": Reply.server_error(503),
                    "refusal": Reply(text="请提供论文的具体内容，我才能分析。"),
                    "invalid": Reply(text='{"contributions": "截'),
                    "truncated": Reply(text=answer_for(req.prompt)[:200], finish="max_tokens"),
                }[kind]
            x -= prob
        return Reply(text=answer_for(req.prompt))

    return answer


def run(
    *,
    analyze: int,
    deep: int,
    rpm: int,
    rpd: int | None,
    latency: float,
    scale: float,
    faults: bool,
    per_call: int,
    seed: int,
) -> dict:
    window = 60.0 / scale
    os.environ[KEY_ENV] = KEY
    rng = random.Random(seed) if faults else None
    with (
        tempfile.TemporaryDirectory() as tmp,
        LocalServer(services()) as arxiv,
        llm_server(
            rpm=rpm, window_s=window, per_day=rpd, latency=latency / scale, responder=responder(rng)
        ) as llm,
    ):
        cfg = write_config(
            Path(tmp),
            arxiv_url=arxiv.url,
            llm_url=llm.url,
            selection__analyze=analyze,
            selection__deep_dive=deep,
            llm__rpm=rpm * scale,
            llm__rpd=rpd,
            llm__papers_per_call=per_call,
            llm__max_concurrency=8,
            llm__timeout_s=60,
        )
        t0 = time.monotonic()
        with contextlib.redirect_stdout(io.StringIO()):
            code = digest_main(["run", "--date", DAY, "--config", str(cfg)])
        wall = time.monotonic() - t0
        st = status_of(load_config(cfg), dt.date.fromisoformat(DAY))
        sent = llm.requests
        span = (sent[-1].received_at - sent[0].received_at) if len(sent) > 1 else 0.0
    requests = llm.stats.requests
    floor = max(requests - 1, 0) / rpm * window + latency / scale
    ok = st["analyses"]["ok"]
    return {
        "exit": code,
        "analysed": ok,
        "selected": st["selected"],
        "requests": requests,
        "429s": llm.stats.rate_limited + llm.stats.quota_exhausted,
        "wall": wall * scale,
        "llm": (span + latency / scale) * scale,
        "floor": floor * scale,
        "per_paper": requests / ok if ok else float("nan"),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--analyze", type=int, help="selection.analyze (default: the four scenarios)")
    p.add_argument("--deep-dive", type=int, default=2)
    p.add_argument("--rpm", type=int, default=10)
    p.add_argument("--rpd", type=int, default=20)
    p.add_argument("--latency", type=float, default=8.0, help="seconds per answer (unscaled)")
    p.add_argument("--scale", type=float, default=10.0, help="time runs this many times faster")
    p.add_argument("--papers-per-call", type=int, default=5)
    p.add_argument("--faults", action="store_true")
    p.add_argument("--seed", type=int, default=1)
    a = p.parse_args()
    if a.analyze is not None:
        scenarios = [(f"analyze {a.analyze}", a.analyze, a.faults)]
    else:
        scenarios = [
            ("default day", 10, False),
            ("default + faults", 10, True),
            ("free tier 40", 40, False),
            ("free tier 40 + faults", 40, True),
        ]
    print(
        f"rpm {a.rpm}, rpd {a.rpd}, latency {a.latency:g} s, deep dives {a.deep_dive}, papers per call "
        f"{a.papers_per_call}; times in unscaled seconds (run {a.scale:g}x faster)"
    )
    print(
        f"{'scenario':<22} {'exit':>4} {'analysed':>9} {'requests':>8} {'429s':>5} {'LLM s':>7} {'floor s':>8} "
        f"{'ratio':>6} {'req/paper':>9}"
    )
    for name, analyze, faults in scenarios:
        r = run(
            analyze=analyze,
            deep=a.deep_dive,
            rpm=a.rpm,
            rpd=a.rpd,
            latency=a.latency,
            scale=a.scale,
            faults=faults,
            per_call=a.papers_per_call,
            seed=a.seed,
        )
        print(
            f"{name:<22} {r['exit']:>4} {r['analysed']:>4}/{r['selected']:<4} {r['requests']:>8} {r['429s']:>5} "
            f"{r['llm']:>7.1f} {r['floor']:>8.1f} {r['llm'] / r['floor']:>6.2f} {r['per_paper']:>9.2f}"
        )


if __name__ == "__main__":
    main()
