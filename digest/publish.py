"""Write a date's digest and regenerate the archive index and the Atom feed, all atomically."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from xml.sax.saxutils import escape

from digest.config import Config
from digest.jobs import SUMMARY_TEMPLATE, summary_key
from digest.render import DigestView, atomic_write, render_digest
from digest.schemas import ExecutiveSummary
from digest.store import Store
from digest.text import md_escape

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
    titles = {e.paper.id: " ".join(e.paper.title.split()) for e in day.entries}
    scores = store.load_scores(date)
    picked = [pid for pid, _ in store.load_selection(date)]
    order = picked or sorted(scores, key=lambda i: (-scores[i].score, i))
    return [(pid, titles.get(pid, pid), scores[pid].score if pid in scores else 0.0) for pid in order[:n]]


def _summary(store: Store, date: dt.date) -> ExecutiveSummary | None:
    key = summary_key(date.isoformat())
    task = store.get_task(date, key, SUMMARY_TEMPLATE)
    if task is None or task.status != "ok":
        return None
    cached = store.cache_latest(key, SUMMARY_TEMPLATE)
    return ExecutiveSummary.model_validate(cached[0]) if cached else None


def write_archive(cfg: Config, store: Store) -> None:
    """Regenerate output/index.md and output/feed.xml from the store and the digests on disk."""
    days = _days(cfg, store)
    lines = ["# 计算机视觉论文日报 · 归档", "", f"共 {len(days)} 期，最新在前。订阅：[feed.xml](feed.xml)", "",
             "| 日期 | 论文数 | 今日前三 |", "|---|---|---|"]
    for d, p in days:
        day = store.load_day(d)
        count = len(day.entries) if day else 0
        top = "<br>".join(f"[{md_escape(t)}]({p.name}#{pid})" for pid, t, _ in _top(store, d))
        lines.append(f"| [{d.isoformat()}]({p.name}) | {count} | {top or '—'} |")
    atomic_write(Path(cfg.output.dir) / "index.md", "\n".join(lines) + "\n")
    atomic_write(Path(cfg.output.dir) / "feed.xml", _feed(store, days[:FEED_ENTRIES]))


def _feed(store: Store, days: list[tuple[dt.date, Path]]) -> str:
    def stamp(p: Path) -> str:
        return dt.datetime.fromtimestamp(p.stat().st_mtime, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    updated = max((stamp(p) for _, p in days), default="1970-01-01T00:00:00Z")
    out = ['<?xml version="1.0" encoding="utf-8"?>', '<feed xmlns="http://www.w3.org/2005/Atom">',
           "  <title>计算机视觉论文日报</title>", "  <id>urn:digest:cv-daily</id>",
           f"  <updated>{updated}</updated>", "  <author><name>digest</name></author>",
           '  <link rel="alternate" href="index.md"/>']
    for d, p in days:
        summary = _summary(store, d)
        if summary is not None:
            body = "\n".join(
                ["主要主题与趋势："] + [f"- {x}" for x in summary.themes]
                + ["亮点与创新："] + [f"- {x}" for x in summary.highlights]
                + ["新兴研究方向："] + [f"- {x}" for x in summary.directions]
                + ["建议精读："] + [f"- {pk.paper_id}：{pk.reason}（{pk.audience}）" for pk in summary.picks])
        else:
            body = "今日前三：\n" + "\n".join(f"- {t} ({pid})" for pid, t, _ in _top(store, d))
        out += ["  <entry>", f"    <title>计算机视觉论文日报 | {d.isoformat()}</title>",
                f"    <id>urn:digest:cv-daily:{d.isoformat()}</id>", f"    <updated>{stamp(p)}</updated>",
                f'    <link rel="alternate" href="{escape(p.name)}"/>',
                f'    <content type="text">{escape(body)}</content>', "  </entry>"]
    out.append("</feed>")
    return "\n".join(out) + "\n"
