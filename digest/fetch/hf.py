"""HuggingFace daily papers: fetch the raw JSON list of a day, parse it (pure) into HFPaper."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from digest.config import HuggingFaceConfig
from digest.errors import FetchError, ParseError
from digest.fetch.arxiv import clean_abstract, clean_title
from digest.fetch.http import (
    TRANSIENT_EXCEPTIONS,
    Transient,
    one_line,
    public_url,
    raise_if_transient,
    retrying,
)
from digest.ids import parse_id
from digest.models import Paper

RETRY_DELAY_S = 2.0


@dataclass(frozen=True)
class HFPaper:
    """One entry of the HuggingFace daily papers list (every field but id may be missing)."""

    id: str  # arXiv id without version
    title: str = ""
    summary: str = ""
    authors: list[str] = field(default_factory=list)
    upvotes: int | None = None
    github_repo: str | None = None
    github_stars: int | None = None
    project_page: str | None = None
    ai_keywords: list[str] = field(default_factory=list)
    ai_summary: str | None = None
    published_at: dt.datetime | None = None

    def extras(self) -> dict[str, Any]:
        """The Paper fields HuggingFace adds, as a model_copy(update=...) mapping."""
        return {
            "hf_upvotes": self.upvotes,
            "github_repo": self.github_repo,
            "github_stars": self.github_stars,
            "project_page": self.project_page,
            "ai_keywords": list(self.ai_keywords),
            "ai_summary": self.ai_summary,
        }

    def to_paper(self) -> Paper:
        """A Paper from HuggingFace's own fields (no arXiv categories), for when arXiv cannot be asked."""
        return Paper(
            id=self.id,
            title=self.title,
            authors=list(self.authors),
            abstract=self.summary,
            published=self.published_at,
            **self.extras(),
        )


def _str(value: object) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _when(value: object) -> dt.datetime | None:
    if not isinstance(value, str):
        return None
    try:
        stamp = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return stamp if stamp.tzinfo is not None else stamp.replace(tzinfo=dt.UTC)


def _item(raw: object) -> HFPaper | None:
    """One list item, or None if it has no usable arXiv id."""
    if not isinstance(raw, dict) or not isinstance(raw.get("paper"), dict):
        return None
    paper: dict[str, Any] = raw["paper"]
    raw_id = paper.get("id")
    if not isinstance(raw_id, str):
        return None
    try:
        paper_id, _ = parse_id(raw_id)
    except ValueError:
        return None
    authors = paper.get("authors")
    keywords = paper.get("ai_keywords")
    return HFPaper(
        id=paper_id,
        title=clean_title(_str(paper.get("title")) or _str(raw.get("title")) or ""),
        summary=clean_abstract(_str(paper.get("summary")) or _str(raw.get("summary")) or ""),
        authors=[a["name"].strip() for a in authors if isinstance(a, dict) and _str(a.get("name"))]
        if isinstance(authors, list)
        else [],
        upvotes=_int(paper.get("upvotes")),
        github_repo=_str(paper.get("githubRepo")),
        github_stars=_int(paper.get("githubStars")),
        project_page=_str(paper.get("projectPage")),
        ai_keywords=[k.strip() for k in keywords if isinstance(k, str) and k.strip()]
        if isinstance(keywords, list)
        else [],
        ai_summary=_str(paper.get("ai_summary")),
        published_at=_when(paper.get("publishedAt")) or _when(raw.get("publishedAt")),
    )


def parse_hf(text: str) -> list[HFPaper]:
    """Parse GET /api/daily_papers JSON; skip single malformed items, ParseError if none is usable."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ParseError(f"HuggingFace daily_papers changed shape: not JSON ({exc})") from exc
    if isinstance(data, dict):  # a paginated answer ({"papers": [...], "next": ...}): the list inside it
        data = next((v for v in data.values() if isinstance(v, list) and v and isinstance(v[0], dict)), data)
    if not isinstance(data, list):
        raise ParseError(
            f"HuggingFace daily_papers changed shape: expected a JSON list, got {type(data).__name__}"
        )
    papers: dict[str, HFPaper] = {}
    for raw in data:
        item = _item(raw)
        if item is not None:
            papers.setdefault(item.id, item)
    if data and not papers:
        raise ParseError(
            f"HuggingFace daily_papers changed shape: none of {len(data)} items has paper.id "
            "holding an arXiv id"
        )
    return list(papers.values())


def fetch_hf(
    cfg: HuggingFaceConfig, http: httpx.Client, day: dt.date, *, sleep: Callable[[float], None] = time.sleep
) -> str:
    """Raw daily-papers JSON of `day`; one retry on 429, 5xx or a network error, else FetchError."""
    url = cfg.api_url

    def get() -> str:
        try:
            response = http.get(
                url, params={"date": day.isoformat()}, timeout=cfg.timeout_s, follow_redirects=True
            )
        except TRANSIENT_EXCEPTIONS as exc:
            raise Transient.of(exc) from exc
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            raise FetchError(f"HuggingFace daily papers {public_url(url)} failed: {one_line(exc)}") from exc
        raise_if_transient(response.status_code, response.headers.get("Retry-After"))
        if response.status_code != 200:
            raise FetchError(
                f"HuggingFace daily papers {public_url(url)} answered HTTP "
                f"{response.status_code} for date={day.isoformat()}; "
                "check sources.huggingface.api_url"
            )
        return response.text

    try:
        return retrying(attempts=2, base_s=RETRY_DELAY_S, sleep=sleep)(get)
    except Transient as exc:
        raise FetchError(
            f"HuggingFace daily papers {public_url(url)} failed twice (last: {exc}) "
            f"for date={day.isoformat()}; try again later"
        ) from exc
