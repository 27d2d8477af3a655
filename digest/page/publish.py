"""Write a date's digest, then the archive index and the Atom feed, all atomically.

Index and feed read one small record per written digest (store table `digests`), not every archived day.
"""

from __future__ import annotations

import datetime as dt
import html
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any
from urllib.parse import quote

from digest.config import Config
from digest.day.load import digest_path, load_day_state
from digest.day.report import RunReport, nothing_stored
from digest.day.state import DayState
from digest.day.verdict import written
from digest.ids import try_normalise_id
from digest.language import labels
from digest.models import TaskStatus
from digest.page.render import page_plan, render_digest
from digest.store import Store, open_store
from digest.store.files import atomic_write
from digest.text import clean_latex, collapse, md_escape

FEED_ENTRIES = 60
TOP = 3
ATOM = "http://www.w3.org/2005/Atom"
# Characters XML 1.0 does not allow, even escaped: a feed containing one is not well-formed.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def write_all(cfg: Config, store: Store, state: DayState) -> Path:
    """Write output/D.md, link the digests before and after it to it, then regenerate index.md and feed.xml."""
    path = digest_path(cfg, state.date)
    atomic_write(path, render_digest(state))
    store.save_digest_record(state.date, digest_record(state))
    for near in (state.prev_date, state.next_date):
        page = digest_path(cfg, near) if near is not None else None
        if page is not None and f"]({state.date.isoformat()}.md)" not in page.read_text(encoding="utf-8"):
            # A neighbour written before this digest existed (a backfilled day comes after the newer one)
            # links past it or nowhere: give it its link to this one.
            other = load_day_state(cfg, store, near)
            if other is not None:
                atomic_write(page, render_digest(other))
    write_archive(cfg, store)
    return path


def render_date(cfg: Config, date: dt.date) -> RunReport:
    """`digest render`: rewrite a date's digest, index.md and feed.xml from the store, under its lock."""
    with open_store(cfg, lock=True) as store:
        calls_before = store.last_call_id()
        state = load_day_state(cfg, store, date)
        if state is None:
            return nothing_stored(date)
        return written(cfg, state, write_all(cfg, store, state), calls=store.call_stats_after(calls_before))


def digest_record(state: DayState) -> dict[str, Any]:
    """What the index and the feed show of a digest: paper count, the picks (top ones first), the summary."""
    ranked, chosen, anchors = page_plan(state)
    papers = {e.paper.id: e.paper for e in ranked}  # each paper once, as the page shows it

    def title(pid: str) -> str:
        return (
            (collapse(clean_latex(papers[pid].title)) or pid) if pid in papers else ""
        )  # an empty title: its id

    def one_line(pid: str) -> str:
        res = state.results.get(pid)
        return collapse(res.one_line) if res is not None and res.status == TaskStatus.OK else ""

    picks = [
        {"id": pid, "title": title(pid), "anchor": anchors[pid], "one_line": one_line(pid)} for pid in chosen
    ]
    top = [{k: p[k] for k in ("id", "title", "anchor")} for p in picks[:TOP]]
    summary = state.summary.model_dump(mode="json") if state.summary is not None else None
    if summary is not None:
        for pick in summary["picks"]:
            pid = try_normalise_id(pick["paper_id"]) or pick["paper_id"].strip()
            pick.update(paper_id=pid, title=title(pid), anchor=anchors.get(pid, ""))
    return {"papers": state.listing().total, "top": top, "picks": picks, "summary": summary}


def _records(cfg: Config, store: Store) -> list[tuple[dt.date, dict[str, Any], str]]:
    """Every digest on disk with its record, newest first; digests written before records get one now."""
    records = store.digest_records()
    out = []
    for d in store.dates():
        if not digest_path(cfg, d).exists():
            continue
        if d not in records:
            state = load_day_state(cfg, store, d)
            if state is None:
                continue
            record = digest_record(state)
            store.save_digest_record(d, record)
            records[d] = (record, dt.datetime.now(dt.UTC).isoformat(timespec="seconds"))
        data, written_at = records[d]
        out.append((d, data, written_at))
    return sorted(out, key=lambda r: r[0], reverse=True)


def write_archive(cfg: Config, store: Store) -> None:
    """Regenerate output/index.md and output/feed.xml from the digest records."""
    days = _records(cfg, store)
    L = labels(cfg.language)
    lines = [
        f"# {L['archive_title']}",
        "",
        L["archive_intro"].format(len(days)),
        "",
        L["archive_header"],
        "|---|---|---|",
    ]
    for d, data, _ in days:
        name = f"{d.isoformat()}.md"
        top = "<br>".join(f"[{md_escape(t['title'])}]({name}#{t['anchor']})" for t in data["top"])
        lines.append(f"| [{d.isoformat()}]({name}) | {data['papers']} | {top or '—'} |")
    out = Path(cfg.output.dir)
    atomic_write(out / "index.md", "\n".join(lines) + "\n")
    feed = build_feed(days[:FEED_ENTRIES], language=cfg.language, site_url=cfg.output.site_url)
    atomic_write(out / "feed.xml", feed, check=lambda tmp: ET.parse(tmp))  # never publish a broken feed


def _url(site_url: str | None, name: str) -> str:
    """A link to a file of output/: absolute under site_url when it is set."""
    return f"{site_url.rstrip('/')}/{quote(name, safe='/#:.-_')}" if site_url else name


def _x(text: object) -> str:
    return _NOT_XML.sub("", str(text or ""))


def _entry_html(d: dt.date, data: dict[str, Any], L: dict[str, str], site_url: str | None) -> str:
    """The entry's content: the summary and its recommendations, then every pick with its link (escaped HTML)."""
    e = html.escape
    name = f"{d.isoformat()}.md"
    parts: list[str] = []
    summary = data.get("summary")
    if summary:
        for key in ("themes", "highlights", "directions"):
            items = "".join(f"<li>{e(collapse(x))}</li>" for x in summary[key])
            parts.append(f"<h3>{e(L[key])}</h3><ul>{items}</ul>")
        picks = []
        for pk in summary["picks"]:
            if not pk.get("title"):
                continue  # an id the model made up
            target = (
                _url(site_url, f"{name}#{pk['anchor']}")
                if pk.get("anchor")
                else f"https://arxiv.org/abs/{quote(pk['paper_id'])}"
            )
            audience = L["audience"].format(e(collapse(pk["audience"]))) if collapse(pk["audience"]) else ""
            picks.append(
                f'<li><a href="{e(target)}">{e(pk["title"])}</a>{e(L["colon_sp"])}'
                f"{e(collapse(pk['reason']))}{audience}</li>"
            )
        if picks:
            parts.append(f"<h3>{e(L['picks'])}</h3><ul>{''.join(picks)}</ul>")
    # Every pick of the page with its one-line summary; a record written before picks were kept has the top ones.
    listed = data.get("picks") or data["top"]
    if listed:
        items = "".join(
            f'<li><a href="{e(_url(site_url, name + "#" + t["anchor"]))}">{e(t["title"])}</a>'
            + (f"{e(L['colon_sp'])}{e(t['one_line'])}" if t.get("one_line") else "")
            + "</li>"
            for t in listed
        )
        heading = L["picks_heading"] if data.get("picks") else L["feed_top"]
        parts.append(f"<h3>{e(heading)}</h3><ol>{items}</ol>")
    return "".join(parts)


def build_feed(
    days: list[tuple[dt.date, dict[str, Any], str]], *, language: str = "zh", site_url: str | None = None
) -> str:
    """The Atom feed of the newest digests (well-formed whatever the text: built with ElementTree)."""

    def stamp(written_at: str) -> str:
        return dt.datetime.fromisoformat(written_at).astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    L = labels(language)
    ET.register_namespace("", ATOM)

    def sub(parent: ET.Element, tag: str, text: str | None = None, **attrib: str) -> ET.Element:
        el = ET.SubElement(parent, f"{{{ATOM}}}{tag}", {k: _x(v) for k, v in attrib.items()})
        if text is not None:
            el.text = _x(text)
        return el

    feed = ET.Element(f"{{{ATOM}}}feed")
    sub(feed, "title", L["title"])
    sub(feed, "id", "urn:digest:cv-daily")
    sub(feed, "updated", max((stamp(w) for _, _, w in days), default="1970-01-01T00:00:00Z"))
    sub(sub(feed, "author"), "name", "digest")
    sub(feed, "link", rel="alternate", href=_url(site_url, "index.md"))
    if site_url:
        sub(feed, "link", rel="self", href=_url(site_url, "feed.xml"))
    for d, data, written_at in days:
        entry = sub(feed, "entry")
        sub(entry, "title", f"{L['title']} | {d.isoformat()}")
        sub(entry, "id", f"urn:digest:cv-daily:{d.isoformat()}")
        sub(entry, "updated", stamp(written_at))
        sub(entry, "link", rel="alternate", href=_url(site_url, f"{d.isoformat()}.md"))
        sub(entry, "content", _entry_html(d, data, L, site_url), type="html")
    return ET.tostring(feed, encoding="unicode", xml_declaration=False).join(
        ['<?xml version="1.0" encoding="utf-8"?>\n', "\n"]
    )
