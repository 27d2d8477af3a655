"""arXiv RSS feeds (pure parsing): the listing date a feed carries and its new / cross-list items."""

from __future__ import annotations

import datetime as dt
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from zoneinfo import ZoneInfo

from digest.errors import ParseError
from digest.fetch.arxiv import arxiv_categories, clean_abstract, clean_title
from digest.ids import parse_id
from digest.models import Paper

ET_ZONE = ZoneInfo("America/New_York")  # arXiv's clock: RSS dates are listing days in US Eastern
_ANNOUNCE = re.compile(r"Announce Type:\s*([A-Za-z-]+)")


def _local(tag: object) -> str:
    # Match on local names: arXiv declares namespaces on the root or on each element.
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _children(el: ET.Element, name: str) -> list[ET.Element]:
    return [c for c in el if _local(c.tag) == name]


def _text(el: ET.Element, name: str) -> str:
    for c in el:
        if _local(c.tag) == name:
            return "".join(c.itertext())
    return ""


@dataclass(frozen=True)
class RssItem:
    """One item of an arXiv RSS feed."""

    id: str
    version: int | None
    announce_type: str | None  # new, cross, replace, replace-cross
    title: str
    abstract: str
    authors: list[str] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)

    @property
    def primary_category(self) -> str | None:
        """The item's first category, which arXiv lists first as the primary one."""
        return self.categories[0] if self.categories else None

    def to_paper(self) -> Paper:
        """A Paper from the feed's own fields (no comment, dates or journal ref)."""
        return Paper(
            id=self.id,
            version=self.version,
            title=self.title,
            authors=list(self.authors),
            abstract=self.abstract,
            categories=list(self.categories),
            primary_category=self.primary_category,
        )


@dataclass(frozen=True)
class RssFeed:
    """An arXiv RSS feed: the listing date it carries and its items (none on holidays)."""

    date: dt.date | None
    items: list[RssItem]


def _rss_date(channel: ET.Element) -> dt.date | None:
    for name in ("pubDate", "lastBuildDate"):
        text = _text(channel, name).strip()
        if not text:
            continue
        try:
            stamp = parsedate_to_datetime(text)
        except (TypeError, ValueError):
            continue
        if stamp.tzinfo is None:
            stamp = stamp.replace(tzinfo=dt.UTC)
        return stamp.astimezone(ET_ZONE).date()
    return None


def _rss_item(item: ET.Element) -> RssItem | None:
    description = _text(item, "description")
    for raw in (_text(item, "guid"), description.split(" ", 1)[0], _text(item, "link")):
        try:
            paper_id, version = parse_id(raw.removeprefix("arXiv:"))
            break
        except ValueError:
            continue
    else:
        return None
    announce = _text(item, "announce_type").strip().lower()
    if not announce:
        match = _ANNOUNCE.search(description)
        announce = match.group(1).lower() if match else ""
    _, has_abstract, abstract = description.partition("Abstract:")
    authors = [a.strip() for a in _text(item, "creator").split(",") if a.strip()]
    return RssItem(
        id=paper_id,
        version=version,
        announce_type=announce or None,
        title=clean_title(_text(item, "title")),
        abstract=clean_abstract(abstract if has_abstract else description),
        authors=[clean_title(a) for a in authors],
        categories=arxiv_categories("".join(c.itertext()) for c in _children(item, "category")),
    )


def parse_rss(text: str) -> RssFeed:
    """Parse an arXiv RSS 2.0 feed; raise ParseError if it is not one."""
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        raise ParseError(f"arXiv RSS feed is malformed XML: {exc}") from exc
    channel = root if _local(root.tag) == "channel" else next(iter(_children(root, "channel")), None)
    if channel is None:
        raise ParseError(
            f"arXiv RSS feed has no <channel> (root <{_local(root.tag)}>); the feed format changed"
        )
    items = [_rss_item(i) for i in _children(channel, "item")]
    return RssFeed(date=_rss_date(channel), items=[i for i in items if i is not None])
