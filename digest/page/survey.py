"""`digest survey`: a cumulative survey table over every stored analysis (no network, no LLM)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from digest.config import Config
from digest.language import labels
from digest.models import Paper, TaskStatus, Template
from digest.schemas import SCHEMAS, DeepDive, SurveyTags
from digest.store import Store, open_store
from digest.store.files import atomic_write
from digest.text import md_escape, safe_url

TEMPLATES = (Template.DEEP_DIVE, Template.ANALYSIS)


@dataclass
class Row:
    date: dt.date
    paper: Paper
    score: float
    tags: SurveyTags


def collect_rows(
    cfg: Config,
    store: Store,
    *,
    since: dt.date | None = None,
    until: dt.date | None = None,
    field: str | None = None,
    min_score: float | None = None,
) -> list[Row]:
    """Every analysed paper in the store that passes the filters, by date then score."""
    rows: list[Row] = []
    seen: set[str] = set()
    for date in store.dates():
        if (since and date < since) or (until and date > until):
            continue
        done = [
            t
            for t in store.tasks(date)
            if t.template in TEMPLATES and t.status == TaskStatus.OK and t.key not in seen
        ]
        if not done:
            continue
        day = store.load_day(date, only={t.key for t in done})  # the analysed papers, not the whole listing
        scores = store.load_scores(date)
        papers = {e.paper.id: e.paper for e in day.entries} if day else {}
        for task in done:
            if task.key in seen or task.key not in papers:
                continue
            cached = store.cache_latest(task.key, task.template)
            if cached is None:
                continue
            tags = SCHEMAS[task.template].model_validate(cached[0])
            score = scores[task.key].score if task.key in scores else 0.0
            if min_score is not None and score < min_score:
                continue
            if field and field.lower() not in tags.field.lower():
                continue
            seen.add(task.key)
            rows.append(Row(date=date, paper=papers[task.key], score=score, tags=tags))
    rows.sort(key=lambda r: (r.date, -r.score, r.paper.id))
    return rows


def _cell(items: list[str]) -> str:
    return "<br>".join(md_escape(x) for x in items) or "—"


def render_survey(rows: list[Row], *, language: str = "zh") -> str:
    """The survey table, then per-paper dataset notes."""
    L = labels(language)
    code_label = L["code"]
    out = [
        f"# {L['survey_title']}",
        "",
        L["survey_intro"].format(len(rows)),
        "",
        L["survey_header"],
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        p = r.paper
        code = safe_url(r.tags.code_url or "") or safe_url(p.github_repo or "")
        out.append(
            f"| {md_escape(' '.join(p.title.split()))} | [arXiv:{p.id}]({p.abs_url}) "
            f"| [{r.date.isoformat()}]({r.date.isoformat()}.md#{p.id}) | {md_escape(r.tags.field)} "
            f"| {f'[{code_label}]({code})' if code else '—'} | {_cell(r.tags.innovation_points)} "
            f"| {_cell(r.tags.weaknesses)} |"
        )
    notes = [r for r in rows if isinstance(r.tags, DeepDive) and r.tags.datasets]
    if notes:
        out += ["", f"## {L['survey_datasets']}", ""]
        for r in notes:
            out.append(f"### [{md_escape(' '.join(r.paper.title.split()))}]({r.paper.abs_url})")
            out.append("")
            for ds in r.tags.datasets:
                url = safe_url(ds.url or "")
                name = f"[{md_escape(ds.name)}]({url})" if url else md_escape(ds.name)
                out.append(f"- {name}{L['colon_sp']}{md_escape(ds.purpose) or '—'}")
            out.append("")
    return "\n".join(out).rstrip() + "\n"


def write_survey(
    cfg: Config,
    *,
    since: dt.date | None = None,
    until: dt.date | None = None,
    field: str | None = None,
    min_score: float | None = None,
) -> tuple[Path, int]:
    """Write output/survey.md; returns its path and row count."""
    path = Path(cfg.output.dir) / "survey.md"
    with open_store(cfg) as store:
        rows = collect_rows(cfg, store, since=since, until=until, field=field, min_score=min_score)
    atomic_write(path, render_survey(rows, language=cfg.language))
    return path, len(rows)
