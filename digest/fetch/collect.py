"""Collect one digest date's papers: the arXiv announcement, RSS additions, HuggingFace daily papers."""

from __future__ import annotations

import datetime as dt
import time

import httpx

from digest.config import Config
from digest.errors import FetchError, ParseError
from digest.fetch.arxiv import ArxivClient
from digest.fetch.calendar import hf_dates
from digest.fetch.hf import HFPaper, fetch_hf, parse_hf
from digest.fetch.http import one_line
from digest.fetch.rss import RssItem, parse_rss
from digest.ids import id_sort_key
from digest.models import Announcement, DayPapers, Entry, Paper

RSS_TYPES = ("new", "cross")  # replacements are old papers: never part of a day's digest
# A search finding less than this share of what the RSS feed or a stored copy lists is still being
# indexed: arXiv's search lags the announcement by hours on some days, while the feed is complete at
# release. Half leaves room for the feed's cross-lists of older papers, which the window search misses.
INDEXED_SHARE = 0.5


class SearchLagging(FetchError):
    """arXiv's search does not list the announcement (yet): nothing is stored, a later run fetches again."""


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


def _announced(
    cfg: Config, day: dt.date, announcement: Announcement, arxiv: ArxivClient, *, stored: int
) -> tuple[dict[str, Entry], bool]:
    """The announcement's entries by id (export API, completed from RSS) and whether RSS was used.

    Raises SearchLagging when the search finds nothing or far fewer papers than the feed or the stored copy.
    """
    cats = list(cfg.sources.arxiv.categories)
    entries: dict[str, Entry] = {}
    for cat in cats:
        for paper in arxiv.search_window(cat, announcement.window_start, announcement.window_end):
            entries.setdefault(paper.id, _entry(paper, cats))
    searched = len(entries)

    rss_used = False
    listed: set[str] = set()
    missing: dict[str, RssItem] = {}
    for cat in cats:
        items = _rss_items(arxiv, cat, announcement.listing_date)
        if items is None:
            continue
        rss_used = True
        listed.update(i.id for i in items)
        for item in items:
            # With several categories a paper is "new" in one feed and "cross" in another: new wins.
            if item.id in entries:
                if entries[item.id].announce_type != "new":
                    entries[item.id].announce_type = item.announce_type
            elif item.id not in missing or item.announce_type == "new":
                missing[item.id] = item
    _check_indexed(day, searched, rss=len(listed) if rss_used else None, stored=stored)
    found, _ = _hydrate(arxiv, list(missing))  # on failure the feed's own fields are enough
    for paper_id, item in missing.items():
        paper = found.get(paper_id) or item.to_paper()
        entries[paper_id] = _entry(paper, cats, announce_type=item.announce_type)

    if not cfg.sources.arxiv.include_cross_lists:
        entries = {k: e for k, e in entries.items() if not e.cross_list}
    return entries, rss_used


def _check_indexed(digest_date: dt.date, searched: int, *, rss: int | None, stored: int) -> None:
    """Raise SearchLagging unless the search found at least INDEXED_SHARE of what the feed or store list."""
    if searched == 0 and rss != 0:  # an empty feed for the listing date is a day without announcement
        raise SearchLagging(
            f"arXiv's search returned 0 papers for the announcement of {digest_date}; "
            "its index may lag; try again later"
        )
    others = [
        (n, what)
        for n, what in (
            (rss or 0, "arXiv's RSS feed lists"),
            (stored, f"the stored copy of {digest_date} lists"),
        )
        if n
    ]
    if not others:
        return
    expected, what = max(others)
    if searched < INDEXED_SHARE * expected:
        raise SearchLagging(
            f"arXiv's search returned {searched} papers for the announcement of {digest_date} "
            f"but {what} {expected}; its index may lag; try again later"
        )


def _hf_list(
    cfg: Config, day: dt.date, http: httpx.Client, arxiv: ArxivClient
) -> tuple[list[HFPaper], str, str | None]:
    """(papers, hf_status, hf_error) for the HF lists of `day` (calendar.hf_dates), one entry per paper.

    All or nothing: a list that cannot be read makes the day "unavailable", so a later run fetches them again.
    """
    hf_cfg = cfg.sources.huggingface
    if not hf_cfg.enabled:
        return [], "disabled", None
    best: dict[str, HFPaper] = {}
    for hf_day in hf_dates(day, cfg):
        try:
            papers = parse_hf(fetch_hf(hf_cfg, http, hf_day, sleep=getattr(arxiv, "sleep", time.sleep)))
        except (FetchError, ParseError, httpx.HTTPError, httpx.InvalidURL) as exc:
            return [], "unavailable", one_line(exc)
        for paper in papers:  # listed on two days: the later list's entry, unless it has fewer upvotes
            if paper.id not in best or (paper.upvotes or 0) >= (best[paper.id].upvotes or 0):
                best[paper.id] = paper
    papers = list(best.values())
    return papers, ("ok" if papers else "empty"), None


def _matches(paper: Paper, wanted: list[str]) -> bool:
    return not wanted or any(c in wanted for c in paper.categories)


def collect_day(
    cfg: Config,
    day: dt.date,
    announcement: Announcement | None,
    *,
    arxiv: ArxivClient,
    http: httpx.Client,
    stored: DayPapers | None = None,
) -> DayPapers:
    """Every paper of digest date `day`: announced arXiv papers, then HuggingFace-only ones.

    A stored copy of the day is only ever added to: its papers stay, and a search that finds far
    fewer than it lists raises SearchLagging (see _check_indexed).
    """
    entries: dict[str, Entry] = {}
    rss_used = False
    if announcement is not None:
        known = sum(e.source == "arxiv" for e in stored.entries) if stored else 0
        entries, rss_used = _announced(cfg, day, announcement, arxiv, stored=known)
    for entry in stored.entries if stored else []:
        if entry.source == "arxiv":  # merged before HF so that HF enriches them too
            entries.setdefault(entry.paper.id, entry.model_copy(deep=True))
    fresh = _with_hf(cfg, day, announcement, entries, arxiv=arxiv, http=http, rss_used=rss_used)
    return add_entries(fresh, stored.entries) if stored else fresh


def add_hf(cfg: Config, stored: DayPapers, *, arxiv: ArxivClient, http: httpx.Client) -> DayPapers:
    """The stored day with HuggingFace's list merged in (upvotes, links, HF-only papers); arXiv not searched."""
    entries = {e.paper.id: e.model_copy(deep=True) for e in stored.entries if e.source == "arxiv"}
    merged = _with_hf(
        cfg, stored.date, stored.announcement, entries, arxiv=arxiv, http=http, rss_used=stored.rss_used
    )
    return add_entries(merged, stored.entries)


def add_entries(day: DayPapers, extra: list[Entry]) -> DayPapers:
    """`day` plus the entries of `extra` it does not list yet, in digest order."""
    have = {e.paper.id for e in day.entries}
    entries = _ordered([*day.entries, *(e for e in extra if e.paper.id not in have)])
    return day.model_copy(update={"entries": entries})


def _with_hf(
    cfg: Config,
    day: dt.date,
    announcement: Announcement | None,
    entries: dict[str, Entry],
    *,
    arxiv: ArxivClient,
    http: httpx.Client,
    rss_used: bool,
) -> DayPapers:
    """The day's announced entries enriched by HuggingFace's list, plus HF-only papers, in digest order."""
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
        if _matches(
            paper, wanted
        ):  # unknown categories (lookup failed) pass only when any category is wanted
            hf_only.append(_entry(paper, cats, source="huggingface", on_hf=True))
    return DayPapers(
        date=day,
        announcement=announcement,
        entries=_ordered([*entries.values(), *hf_only]),
        hf_status=hf_status,
        hf_error=hf_error,
        rss_used=rss_used,
    )


def _ordered(entries: list[Entry]) -> list[Entry]:
    """New submissions in id order, then cross-lists, then HF-only papers by upvotes."""
    announced = sorted((e for e in entries if e.source == "arxiv"), key=lambda e: id_sort_key(e.paper.id))
    hf_only = sorted(
        (e for e in entries if e.source != "arxiv"),
        key=lambda e: (-(e.paper.hf_upvotes or 0), id_sort_key(e.paper.id)),
    )
    return [e for e in announced if not e.cross_list] + [e for e in announced if e.cross_list] + hf_only
