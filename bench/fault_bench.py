"""Fault-mix benchmark: the whole `digest run` against fake arXiv/HF and a fake Gemini that fails on purpose.

By default 10 % 5xx, 5 % refusals, 5 % invalid JSON and 3 % truncation (MAX_TOKENS), drawn with a fixed
seed. Prints how many papers were analysed, the calls made by kind, and whether any error text, refusal
or filler reached the digest.

    python bench/fault_bench.py --analyze 30 --seed 1
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from digest.cli import main as digest_main  # noqa: E402
from digest.commands.status import status_of  # noqa: E402
from digest.config import load_config  # noqa: E402
from tests.e2e_helpers import DAY, KEY, KEY_ENV, LocalServer, Reply, llm_server, services, write_config  # noqa: E402
from tests.fakes.answers import answer_for  # noqa: E402

POISON = ("请提供", "好的，", "作为一名", "RESOURCE_EXHAUSTED", "Traceback", "Internal error", "截断")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--analyze", type=int, default=30)
    p.add_argument("--deep-dive", type=int, default=2)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--p5xx", type=float, default=0.10)
    p.add_argument("--refusal", type=float, default=0.05)
    p.add_argument("--invalid", type=float, default=0.05)
    p.add_argument("--truncated", type=float, default=0.03)
    a = p.parse_args()
    rng = random.Random(a.seed)
    drawn = {"5xx": 0, "refusal": 0, "invalid": 0, "truncated": 0, "ok": 0}

    def responder(req):
        x = rng.random()
        for kind, prob in (
            ("5xx", a.p5xx),
            ("refusal", a.refusal),
            ("invalid", a.invalid),
            ("truncated", a.truncated),
        ):
            if x < prob:
                drawn[kind] += 1
                return {
                    "5xx": Reply.server_error(503),
                    "refusal": Reply(text="请提供论文的具体内容，我才能分析。"),
                    "invalid": Reply(text='{"contributions": "截'),
                    "truncated": Reply(text=answer_for(req.prompt)[:200], finish="max_tokens"),
                }[kind]
            x -= prob
        drawn["ok"] += 1
        return Reply(text=answer_for(req.prompt))

    os.environ[KEY_ENV] = KEY
    with (
        tempfile.TemporaryDirectory() as tmp,
        LocalServer(services()) as arxiv,
        llm_server(responder=responder) as llm,
    ):
        cfg = write_config(
            Path(tmp),
            arxiv_url=arxiv.url,
            llm_url=llm.url,
            selection__analyze=a.analyze,
            selection__deep_dive=a.deep_dive,
            llm__rpm=6000,
        )
        code = digest_main(["run", "--date", DAY, "--config", str(cfg)])
        st = status_of(load_config(cfg), __import__("datetime").date.fromisoformat(DAY))
        text = (Path(tmp) / "output" / f"{DAY}.md").read_text(encoding="utf-8")
    leaks = [w for w in POISON if w in text]
    print(f"exit code          {code}")
    print(
        f"analysed           {st['analyses']['ok']}/{st['selected']} (failed {st['analyses']['failed']}, "
        f"pending {st['analyses']['pending']}); summary {st['summary']}"
    )
    print(f"LLM requests       {llm.stats.requests} (faults drawn: {drawn})")
    print(f"errors by kind     {st['llm']['errors_by_kind']}")
    print(f"poison in digest   {leaks or 'none'}")


if __name__ == "__main__":
    main()
