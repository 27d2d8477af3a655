"""Build the LLM jobs of a day from papers and prompt templates."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from pydantic import BaseModel

from digest.analysis.job import Job, Pack
from digest.analysis.prompts import render_prompt
from digest.analysis.validate import invalid, links_in
from digest.config import Config
from digest.ids import try_normalise_id
from digest.language import labels
from digest.llm.base import Attachment
from digest.models import Entry, Paper, Template
from digest.schemas import (
    SUMMARY_TEMPLATE,
    Analysis,
    AnalysisPack,
    DeepDive,
    ExecutiveSummary,
    Rerank,
    summary_key,
)

DROPPED_PICK = "dropped_pick: "
log = logging.getLogger("digest.analysis.build")


def interests_text(cfg: Config) -> str:
    """The reader's positive interests, strongest first, for the prompts."""
    items = sorted(((w, k) for k, w in cfg.scoring.interests.items() if w > 0), reverse=True)
    return labels(cfg.language)["list_sep"].join(k for _, k in items)


def _paper_context(p: Paper, language: str) -> dict[str, object]:
    L = labels(language)
    more = L["prompt_more_authors"].format(len(p.authors)) if len(p.authors) > 10 else ""
    authors = ", ".join(p.authors[:10]) + more or L["prompt_no_authors"]
    return {
        "title": p.title,
        "authors": authors,
        "categories": ", ".join(p.categories) or (p.primary_category or ""),
        "comment": " ".join((p.comment or "").split()),
        "abstract": " ".join(p.abstract.split()),
    }


def paper_links(p: Paper) -> frozenset[str]:
    """The links an answer may cite: those in the abstract and comment, and HF's repository and page."""
    return frozenset(links_in(p.abstract, p.comment, p.github_repo, p.project_page))


def analysis_job(entry: Entry, cfg: Config, prompts: Path) -> Job:
    """Abstract-based analysis of one paper."""
    ctx = _paper_context(entry.paper, cfg.language)
    prompt = render_prompt("analysis", directory=prompts, interests=interests_text(cfg), **ctx)
    return Job(
        key=entry.paper.id,
        template=Template.ANALYSIS,
        prompt=prompt,
        schema=Analysis,
        verify_against=f"{ctx['title']} {ctx['abstract']} {ctx['comment']}",
        links=paper_links(entry.paper),
    )


def analysis_pack(entries: list[Entry], cfg: Config, prompts: Path) -> Pack:
    """Abstract analyses of several papers in one request; each member stays its own (cached) job."""
    contexts = {e.paper.id: dict(_paper_context(e.paper, cfg.language), id=e.paper.id) for e in entries}
    interests = interests_text(cfg)

    def render(members: list[Job]) -> str:
        return render_prompt(
            "analysis_pack", directory=prompts, interests=interests, papers=[contexts[m.key] for m in members]
        )

    return Pack(members=[analysis_job(e, cfg, prompts) for e in entries], render=render, schema=AnalysisPack)


def deep_dive_job(
    entry: Entry, cfg: Config, prompts: Path, load_pdf: Callable[[str], bytes | None] | None
) -> Job:
    """Full-text deep dive; falls back to the abstract (labelled) when the PDF cannot be had."""
    p = entry.paper
    ctx = _paper_context(p, cfg.language)
    interests = interests_text(cfg)
    fallback = Job(
        key=p.id,
        template=Template.DEEP_DIVE,
        schema=DeepDive,
        meta={"fulltext": False},
        prompt=render_prompt(
            "deep_dive", directory=prompts, interests=interests, fulltext=False, fulltext_text="", **ctx
        ),
        verify_against=f"{ctx['title']} {ctx['abstract']} {ctx['comment']}",
        links=paper_links(p),
    )
    if load_pdf is None:
        return fallback
    name = f"{p.id}v{p.version or 1}.pdf"

    def load() -> list[Attachment] | None:
        data = load_pdf(p.id)
        return [Attachment(mime_type="application/pdf", data=data, name=name)] if data else None

    return Job(
        key=p.id,
        template=Template.DEEP_DIVE,
        schema=DeepDive,
        meta={"fulltext": True},
        prompt=render_prompt(
            "deep_dive", directory=prompts, interests=interests, fulltext=True, fulltext_text="", **ctx
        ),
        attachment_tag=name,
        load_attachments=load,
        fallback=fallback,
        links=paper_links(p),
    )


def summary_digest_line(result: BaseModel, language: str = "zh") -> str:
    """What the summary prompt is told about one analysed paper."""
    if isinstance(result, Analysis):
        return f"{result.one_line} {result.contributions}"
    if isinstance(result, DeepDive):
        return f"{result.summary.core_idea}{labels(language)['sentence_sep']}{result.comparison.contribution}"
    return ""


def summary_job(date: str, papers: list[tuple[Paper, BaseModel]], cfg: Config, prompts: Path) -> Job:
    """One executive summary over all analysed papers."""
    ids = {p.id for p, _ in papers}
    items = [
        {"id": p.id, "title": p.title, "summary": summary_digest_line(r, cfg.language)} for p, r in papers
    ]
    prompt = render_prompt(
        "executive_summary", directory=prompts, date=date, papers=items, interests=interests_text(cfg)
    )

    def check(result: BaseModel) -> list[str]:
        # Picks are compared as ids (arXiv:ID, IDv2 name a listed paper) and stored normalised; a pick
        # naming no listed paper is dropped with a warning rather than costing the summary a re-ask.
        assert isinstance(result, ExecutiveSummary)
        kept, dropped = [], []
        for pick in result.picks:
            pid = try_normalise_id(pick.paper_id)
            if pid not in ids:
                dropped.append(pick.paper_id)
            elif pid not in {k.paper_id for k in kept}:  # the same paper twice adds nothing
                kept.append(pick.model_copy(update={"paper_id": pid}))
        if not kept:  # nothing left to recommend: the section would be empty, so ask again
            raise invalid(
                "schema", language=cfg.language, field="picks", rule="ids", evidence=", ".join(dropped)
            )
        result.picks = kept
        for pid in dropped:
            log.warning("executive summary of %s: dropped a pick naming no listed paper: %s", date, pid)
        return [f"{DROPPED_PICK}{pid}" for pid in dropped]

    return Job(
        key=summary_key(date), template=SUMMARY_TEMPLATE, prompt=prompt, schema=ExecutiveSummary, check=check
    )


def rerank_job(index: int, papers: list[Paper], cfg: Config, prompts: Path) -> Job:
    """One batched relevance judgement over up to 40 papers."""
    ids = [p.id for p in papers]
    items = [{"id": p.id, "title": p.title, "snippet": _first_sentences(p.abstract, 2)} for p in papers]
    prompt = render_prompt("rerank", directory=prompts, papers=items, interests=interests_text(cfg))

    def check(result: BaseModel) -> None:
        # A dropped or repeated id is tolerated (the merge keeps the cheap score / the first judgement),
        # so the rerank stays within ceil(M/40) calls; a reply missing most ids is re-asked.
        assert isinstance(result, Rerank)
        missing = sorted(set(ids) - {it.id for it in result.items})
        if len(missing) > len(ids) // 2:
            raise invalid(
                "schema", language=cfg.language, field="items", rule="ids", evidence=", ".join(missing[:10])
            )  # the ids the answer left out

    return Job(key=f"rerank:{index}", template=Template.RERANK, prompt=prompt, schema=Rerank, check=check)


def _first_sentences(text: str, n: int) -> str:
    flat = " ".join(text.split())
    out, start = [], 0
    for i, ch in enumerate(flat):
        if ch == "." and (i + 1 == len(flat) or flat[i + 1] == " ") and i - start > 20:
            out.append(flat[start : i + 1].strip())
            start = i + 1
            if len(out) == n:
                break
    return " ".join(out) or flat[:300]
