"""Papers and days: each date's fetched listing, the paper texts it shares, pruning old listings."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Collection

from digest.models import Announcement, DayPapers, Entry, Paper
from digest.store.base import Tables, utc_now
from digest.store.migrations import delta, pack, unpack


class Papers(Tables):
    """Tables `days`, `day_papers` and `paper_texts` (and the pruned listings' counts in `state`)."""

    def save_day(self, day: DayPapers) -> None:
        """Store a fetched day, replacing an earlier fetch of the same date."""
        date = day.date.isoformat()
        ann = day.announcement.model_dump_json() if day.announcement else None
        with self.tx() as db:
            db.execute("DELETE FROM day_papers WHERE date = ?", (date,))
            db.execute(
                "DELETE FROM state WHERE name = ?", (f"listing.{date}",)
            )  # a fetched listing counts itself
            for pos, e in enumerate(day.entries):
                # A version's text is stored once; each date keeps only what differs (HF upvotes, stars).
                snapshot = e.paper.model_dump(mode="json")
                version = e.paper.version or 0
                base = db.execute(
                    "SELECT data FROM paper_texts WHERE id = ? AND version = ?", (e.paper.id, version)
                ).fetchone()
                if base is None:
                    db.execute(
                        "INSERT INTO paper_texts VALUES (?, ?, ?)", (e.paper.id, version, pack(snapshot))
                    )
                db.execute(
                    "INSERT INTO day_papers (date, paper_id, position, source, cross_list, announce_type, on_hf,"
                    " version, delta) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        date,
                        e.paper.id,
                        pos,
                        e.source,
                        int(e.cross_list),
                        e.announce_type,
                        int(e.on_hf),
                        version,
                        delta(unpack(base[0]), snapshot) if base else None,
                    ),
                )
            db.execute(
                "INSERT OR REPLACE INTO days VALUES (?, ?, ?, ?, ?, ?)",
                (date, ann, day.hf_status, day.hf_error, int(day.rss_used), utc_now()),
            )

    def load_day(self, date: dt.date, *, only: Collection[str] | None = None) -> DayPapers | None:
        """The stored fetch of a date, or None; with `only`, just those papers of it (the survey's few)."""
        d = date.isoformat()
        day = next(iter(self._q("SELECT * FROM days WHERE date = ?", (d,))), None)
        if day is None:
            return None
        # more than 500: the whole day (SQLite before 3.32 binds at most 999 parameters to one query)
        ids = sorted(only) if only is not None and len(only) <= 500 else None
        where = "" if ids is None else f" AND dp.paper_id IN ({', '.join('?' * len(ids))})"
        entries = [
            Entry(
                paper=Paper.model_validate(unpack(r["text"]) | json.loads(r["delta"] or "{}")),
                source=r["source"],
                cross_list=bool(r["cross_list"]),
                announce_type=r["announce_type"],
                on_hf=bool(r["on_hf"]),
            )
            for r in self._q(
                "SELECT dp.*, t.data AS text FROM day_papers dp JOIN paper_texts t "
                f"ON t.id = dp.paper_id AND t.version = dp.version WHERE dp.date = ?{where} ORDER BY dp.position",
                (d, *(ids or ())),
            )
        ]
        ann = Announcement.model_validate_json(day["announcement"]) if day["announcement"] else None
        return DayPapers(
            date=date,
            announcement=ann,
            entries=entries,
            hf_status=day["hf_status"],
            hf_error=day["hf_error"],
            rss_used=bool(day["rss_used"]),
        )

    def prune(self, before: dt.date, listings: dict[dt.date, str] | None = None) -> int:
        """Drop listings and scores before `before` but the selected papers; keep `listings` (counts, JSON)."""
        b = before.isoformat()
        keep = "SELECT paper_id FROM selections s WHERE s.date = {t}.date"
        with self.tx() as db:
            db.executemany(
                "INSERT OR IGNORE INTO state VALUES (?, ?, ?)",
                [(f"listing.{d.isoformat()}", v, utc_now()) for d, v in (listings or {}).items()],
            )
            dropped = db.execute(
                f"DELETE FROM day_papers WHERE date < ? AND paper_id NOT IN ({keep.format(t='day_papers')})",
                (b,),
            ).rowcount
            db.execute(
                f"DELETE FROM scores WHERE date < ? AND paper_id NOT IN ({keep.format(t='scores')})", (b,)
            )
            db.execute(
                "DELETE FROM paper_texts WHERE NOT EXISTS (SELECT 1 FROM day_papers dp "
                "WHERE dp.paper_id = paper_texts.id AND dp.version = paper_texts.version)"
            )
        self.vacuum()
        return dropped

    def paper_dates(self, paper_id: str) -> list[dt.date]:
        """Every stored date listing this paper, oldest first."""
        return [
            dt.date.fromisoformat(r[0])
            for r in self._q("SELECT date FROM day_papers WHERE paper_id = ? ORDER BY date", (paper_id,))
        ]

    def listed_before(self, date: dt.date, *, analysed: bool = False) -> dict[str, dt.date]:
        """For each paper of `date` an earlier date lists (`analysed`: analysed ok there): the latest such date."""
        other = (
            "tasks e ON e.key = t.paper_id AND e.status = 'ok' AND e.template IN ('analysis', 'deep_dive')"
            if analysed
            else "day_papers e ON e.paper_id = t.paper_id"
        )
        return {
            r[0]: dt.date.fromisoformat(r[1])
            for r in self._q(
                f"SELECT t.paper_id, MAX(e.date) FROM day_papers t JOIN {other} AND e.date < t.date WHERE t.date = ? "
                "GROUP BY t.paper_id",
                (date.isoformat(),),
            )
        }

    def dates(self) -> list[dt.date]:
        """Every date with a stored fetch, oldest first."""
        return [dt.date.fromisoformat(r[0]) for r in self._q("SELECT date FROM days ORDER BY date")]
