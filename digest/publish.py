"""Write a date's digest and regenerate the archive index and the Atom feed, all atomically."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from xml.sax.saxutils import escape

from digest.config import Config
from digest.labels import labels
from digest.render import DigestView, atomic_write, render_digest
from digest.store import Store
from digest.text import md_escape
from digest.view import stored_summary

FEED_ENTRIES = 60


def write_all(cfg: Config, store: Store, date: dt.date, view: DigestView) -> Path:
    """Write output/D.md, then index.md and feed.xml."""
    path = Path(cfg.output.dir) / f"{date.isoformat()}.md"
    atomic_write(path, render_digest(view))
    write_archive(cfg, store)
    return path


def _days(cfg: Config, store: Store) -> list[tuple[dt.date, Path]]:
    out = []
    for d in store.dates():
        p = Path(cfg.output.dir) / f"{d.isoformat()}.md"
        if p.exists():
            out.append((d, p))
    return sorted(out, reverse=True)


def _top(store: Store, date: dt.date, n: int = 3) -> list[tuple[str, str, float]]:
    day = store.load_day(date)
    if day is None:
        return []
    titles = {e.paper.id: e.paper.title or e.paper.id for e in day.entries}
    scores = store.load_scores(date)
    picked = [pid for pid, _ in store.load_selection(date)]
    order = picked or sorted(scores, key=lambda i: (-scores[i].score, i))
    return [(pid, titles.get(pid, pid), scores[pid].score if pid in scores else 0.0) for pid in order[:n]]


def write_archive(cfg: Config, store: Store) -> None:
    """Regenerate output/index.md and output/feed.xml from the store and the digests on disk."""
    days = _days(cfg, store)
    L = labels(cfg.language)
    lines = [f"# {L['archive_title']}", "", L["archive_intro"].format(len(days)), "",
             L["archive_header"], "|---|---|---|"]
    for d, p in days:
        day = store.load_day(d)
        count = len(day.entries) if day else 0
        top = "<br>".join(f"[{md_escape(t)}]({p.name}#{pid})" for pid, t, _ in _top(store, d))
        lines.append(f"| [{d.isoformat()}]({p.name}) | {count} | {top or '—'} |")
    atomic_write(Path(cfg.output.dir) / "index.md", "\n".join(lines) + "\n")
    atomic_write(Path(cfg.output.dir) / "feed.xml", _feed(store, days[:FEED_ENTRIES], language=cfg.language))


def _feed(store: Store, days: list[tuple[dt.date, Path]], *, language: str = "zh") -> str:
    def stamp(p: Path) -> str:
        return dt.datetime.fromtimestamp(p.stat().st_mtime, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    L = labels(language)
    updated = max((stamp(p) for _, p in days), default="1970-01-01T00:00:00Z")
    out = ['<?xml version="1.0" encoding="utf-8"?>', '<feed xmlns="http://www.w3.org/2005/Atom">',
           f"  <title>{escape(L['title'])}</title>", "  <id>urn:digest:cv-daily</id>",
           f"  <updated>{updated}</updated>", "  <author><name>digest</name></author>",
           '  <link rel="alternate" href="index.md"/>']
    for d, p in days:
        summary = stored_summary(store, d)
        if summary is not None:
            body = "\n".join(
                [L["themes"] + L["colon"]] + [f"- {x}" for x in summary.themes]
                + [L["highlights"] + L["colon"]] + [f"- {x}" for x in summary.highlights]
                + [L["directions"] + L["colon"]] + [f"- {x}" for x in summary.directions]
                + [L["picks"] + L["colon"]]
                + [L["feed_pick"].format(pk.paper_id, pk.reason, pk.audience) for pk in summary.picks])
        else:
            body = L["feed_top"] + "\n" + "\n".join(f"- {t} ({pid})" for pid, t, _ in _top(store, d))
        out += ["  <entry>", f"    <title>{escape(L['title'])} | {d.isoformat()}</title>",
                f"    <id>urn:digest:cv-daily:{d.isoformat()}</id>", f"    <updated>{stamp(p)}</updated>",
                f'    <link rel="alternate" href="{escape(p.name)}"/>',
                f'    <content type="text">{escape(body)}</content>', "  </entry>"]
    out.append("</feed>")
    return "\n".join(out) + "\n"
