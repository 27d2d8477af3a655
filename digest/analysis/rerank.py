"""The optional LLM rerank (scoring.llm_rerank): one batched relevance judgement per 40 papers, merged into
the cheap score; a batch that fails keeps the cheap score of its papers."""

from __future__ import annotations

import logging
from collections.abc import Callable

from digest.analysis.build import rerank_job
from digest.analysis.session import Session
from digest.config import Config
from digest.models import DayPapers, Scored, TaskStatus
from digest.score.rank import apply_rerank, rerank_batches

log = logging.getLogger("digest.analysis.rerank")


def rerank(
    session: Session,
    day: DayPapers,
    scored: list[Scored],
    cfg: Config,
    *,
    on_stage: Callable[[str, int | None], None],
) -> list[Scored]:
    """The scores with the model's relevance blended in, best first."""
    by_id = {e.paper.id: e.paper for e in day.entries}
    batches = rerank_batches([s.id for s in scored], cfg.scoring.rerank_top)
    jobs = [
        rerank_job(i, [by_id[pid] for pid in batch], cfg, session.prompts) for i, batch in enumerate(batches)
    ]
    on_stage("score", len(jobs))
    merged = {s.id: s for s in scored}
    for out in session.run(jobs):
        if out.status != TaskStatus.OK:
            log.warning("rerank batch %s %s: %s; keeping the cheap score", out.job.key, out.status, out.error)
            continue
        judged: set[str] = set()
        for item in out.result.items:
            if item.id in merged and item.id not in judged:  # unknown ids and repeats are ignored
                judged.add(item.id)
                merged[item.id] = apply_rerank(merged[item.id], item.relevance, item.reason, cfg.scoring)
    return sorted(merged.values(), key=lambda s: (-s.score, s.id))
