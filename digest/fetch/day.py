"""A digest date's papers: nothing when no announcement covers it (or it is not released yet), else the
announcement with RSS and HuggingFace merged in; a day fetched while HuggingFace was down is completed."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable

import httpx

from digest.config import Config
from digest.errors import DigestError
from digest.fetch.arxiv import ArxivClient
from digest.fetch.calendar import announcement_for
from digest.fetch.collect import SearchLagging, add_hf, collect_day
from digest.models import DayPapers
from digest.store import Store

log = logging.getLogger("digest.fetch.day")


class NotYetAnnounced(Exception):
    """Nothing to fetch for the date (its announcement is still in the future, or `none` is): nothing stored."""

    def __init__(self, message: str, *, none: bool = False) -> None:
        super().__init__(message)
        self.none = none


def no_announcement(date: dt.date, cfg: Config) -> str:
    """Why a date gets no digest (a weekend, a holiday) and where its HuggingFace list goes."""
    hf = "; its HuggingFace list goes into the next digest" if cfg.sources.huggingface.enabled else ""
    return f"no arXiv announcement covers {date} ({date.strftime('%A')}){hf}"


def fetch_date(
    cfg: Config, date: dt.date, *, arxiv: ArxivClient, http: httpx.Client, stored: DayPapers | None = None
) -> DayPapers:
    """The papers of the announcement that `date` covers; NotYetAnnounced when there is none (yet), and a
    lagging search raises SearchLagging (the stored day stays)."""
    ann = announcement_for(date, cfg)
    if ann is None:  # no digest on such a date: nothing is asked (its HF list goes into the next digest's)
        raise NotYetAnnounced(no_announcement(date, cfg), none=True)
    if ann.released > dt.datetime.now(dt.UTC):
        raise NotYetAnnounced(
            f"the arXiv announcement for {date} is released at {ann.released:%Y-%m-%d %H:%M %Z} "
            f"({ann.released.astimezone(cfg.tz):%Y-%m-%d %H:%M} {cfg.timezone}); run after that"
        )
    day = collect_day(cfg, date, ann, arxiv=arxiv, http=http, stored=stored)
    if day.hf_status == "unavailable":
        log.warning(
            "HuggingFace daily papers unavailable (%s); the digest has arXiv papers only", day.hf_error
        )
    elif day.hf_error:
        log.warning("HuggingFace: %s", day.hf_error)
    return day


def complete_hf(
    cfg: Config, stored: DayPapers, *, arxiv: ArxivClient, http: httpx.Client
) -> DayPapers | None:
    """HuggingFace was down when the day was fetched: the day with HF's list added, never dropping a paper
    (a lagging search keeps the stored arXiv papers); None when HF is still unavailable or the fetch fails."""
    date = stored.date
    try:
        day = fetch_date(cfg, date, arxiv=arxiv, http=http, stored=stored)
    except SearchLagging as exc:
        log.warning("%s; keeping the stored arXiv papers and adding HuggingFace's list", exc)
        day = add_hf(cfg, stored, arxiv=arxiv, http=http)
    except (DigestError, NotYetAnnounced) as exc:
        log.warning("could not fetch %s again for HuggingFace (%s); keeping the stored papers", date, exc)
        return None
    return None if day.hf_status == "unavailable" else day


def papers_for_run(
    cfg: Config,
    store: Store,
    date: dt.date,
    *,
    refresh: bool,
    arxiv: ArxivClient,
    http: httpx.Client,
    on_fetch: Callable[[], None] = lambda: None,
) -> DayPapers:
    """The day's papers for `digest run`: stored (completed with HF's list if HF was down), else fetched and
    stored. NotYetAnnounced when there is nothing to write (no announcement, not released yet); a lagging
    search raises SearchLagging and the stored day stays."""
    stored = store.load_day(date)
    day = None if refresh else stored
    if day is not None and day.hf_status == "unavailable" and cfg.sources.huggingface.enabled:
        completed = complete_hf(cfg, day, arxiv=arxiv, http=http)
        if completed is not None:
            store.save_day(completed)
            day = completed
    if day is None:
        on_fetch()
        day = fetch_date(cfg, date, arxiv=arxiv, http=http, stored=stored)
        store.save_day(day)
    if day.announcement is None and not day.entries:
        raise NotYetAnnounced(no_announcement(date, cfg), none=True)
    return day
