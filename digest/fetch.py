"""Collect one digest date's papers: the arXiv announcement, RSS additions, HuggingFace daily papers."""

from __future__ import annotations

import datetime as dt
import time

import httpx

from digest.config import Config
from digest.errors import FetchError, ParseError
from digest.ids import id_sort_key
from digest.models import Announcement, DayPapers, Entry, Paper
from digest.sources.arxiv import ArxivClient, RssItem, parse_rss
from digest.sources.hf import HFPaper, fetch_hf, parse_hf
from digest.sources.http import one_line

RSS_TYPES = ("new", "cross")  # replacements are old papers: never part of a day's digest


def _entry(paper: Paper, categories: list[str], **fields: object) -> Entry:
    cross = paper.primary_category is not None and paper.primary_category not in categories
    return Entry(paper=paper, cross_list=cross, **fields)


def _hydrate(arxiv: ArxivClient, ids: list[str]) -> tuple[dict[str, Paper], str | None]:
    """Look ids up on the export API; ({} , reason) when that fails, so callers can fall back."""
    if not ids:
        return {}, None
    try:
        return {p.id: p for p in arxiv.by_ids(ids)}, None
    except (FetchError, ParseError) as exc:
        return {}, one_line(exc)


def _rss_items(arxiv: ArxivClient, category: str, listing_date: dt.date) -> list[RssItem] | None:
    """The feed's new/cross items when it carries `listing_date`, else None (RSS is optional)."""
    text = arxiv.rss(category)
    if text is None:
        return None
    try:
        feed = parse_rss(text)
    except ParseError:
        return None
    if feed.date != listing_date:  # yesterday's or tomorrow's feed: not this announcement
        return None
    return [i for i in feed.items if i.announce_type in RSS_TYPES]


def _announced(cfg: Config, announcement: Announcement, arxiv: ArxivClient) -> tuple[dict[str, Entry], bool]:
    """The announcement's entries by id (export API, completed from RSS) and whether RSS was used."""
    cats = list(cfg.sources.arxiv.categories)
    entries: dict[str, Entry] = {}
    for cat in cats:
        for paper in arxiv.search_window(cat, announcement.window_start, announcement.window_end):
            entries.setdefault(paper.id, _entry(paper, cats))

    rss_used = False
    missing: dict[str, RssItem] = {}
    for cat in cats:
        items = _rss_items(arxiv, cat, announcement.listing_date)
        if items is None:
            continue
        rss_used = True
        for item in items:
            # With several categories a paper is "new" in one feed and "cross" in another: new wins.
            if item.id in entries:
                if entries[item.id].announce_type != "new":
                    entries[item.id].announce_type = item.announce_type
            elif item.id not in missing or item.announce_type == "new":
                missing[item.id] = item
    found, _ = _hydrate(arxiv, list(missing))  # on failure the feed's own fields are enough
    for paper_id, item in missing.items():
        paper = found.get(paper_id) or item.to_paper()
        entries[paper_id] = _entry(paper, cats, announce_type=item.announce_type)

    if not cfg.sources.arxiv.include_cross_lists:
        entries = {k: e for k, e in entries.items() if not e.cross_list}
    return entries, rss_used


def _hf_list(cfg: Config, day: dt.date, http: httpx.Client, arxiv: ArxivClient
             ) -> tuple[list[HFPaper], str, str | None]:
    """(papers, hf_status, hf_error) for the HF list of day - lag_days."""
    hf_cfg = cfg.sources.huggingface
    if not hf_cfg.enabled:
        return [], "disabled", None
    hf_day = day - dt.timedelta(days=hf_cfg.lag_days)
    try:
        papers = parse_hf(fetch_hf(hf_cfg, http, hf_day, sleep=getattr(arxiv, "sleep", time.sleep)))
    except (FetchError, ParseError, httpx.HTTPError, httpx.InvalidURL) as exc:
        return [], "unavailable", one_line(exc)
    return papers, ("ok" if papers else "empty"), None


def _matches(paper: Paper, wanted: list[str]) -> bool:
    return not wanted or any(c in wanted for c in paper.categories)


def collect_day(cfg: Config, day: dt.date, announcement: Announcement | None, *, arxiv: ArxivClient,
                http: httpx.Client) -> DayPapers:
    """Every paper of digest date `day`: announced arXiv papers, then HuggingFace-only ones."""
    entries: dict[str, Entry] = {}
    rss_used = False
    if announcement is not None:
        entries, rss_used = _announced(cfg, announcement, arxiv)

    hf_papers, hf_status, hf_error = _hf_list(cfg, day, http, arxiv)
    outsiders: list[HFPaper] = []
    for hf in hf_papers:
        if hf.id in entries:
            entry = entries[hf.id]
            entry.paper = entry.paper.model_copy(update=hf.extras())
            entry.on_hf = True
        else:
            outsiders.append(hf)

    cats = list(cfg.sources.arxiv.categories)
    wanted = cfg.hf_categories()
    found, lookup_error = _hydrate(arxiv, [h.id for h in outsiders])
    if lookup_error:
        hf_error = f"arXiv lookup of {len(outsiders)} HuggingFace-only papers failed: {lookup_error}"
    hf_only: list[Entry] = []
    for hf in outsiders:
        base = found.get(hf.id)
        paper = base.model_copy(update=hf.extras()) if base is not None else hf.to_paper()
        if _matches(paper, wanted):  # unknown categories (lookup failed) pass only when any category is wanted
            hf_only.append(_entry(paper, cats, source="huggingface", on_hf=True))

    announced = sorted(entries.values(), key=lambda e: id_sort_key(e.paper.id))
    hf_only.sort(key=lambda e: (-(e.paper.hf_upvotes or 0), id_sort_key(e.paper.id)))
    ordered = [e for e in announced if not e.cross_list] + [e for e in announced if e.cross_list] + hf_only
    return DayPapers(date=day, announcement=announcement, entries=ordered, hf_status=hf_status,
                     hf_error=hf_error, rss_used=rss_used)
