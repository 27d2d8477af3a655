"""Records: what each written digest shows in the index and feed, and the runs of each command."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from digest.secrets import redact
from digest.store.base import Tables, utc_now


class Records(Tables):
    """Tables `digests` and `runs`."""

    # -- written digests -------------------------------------------------------------------------

    def save_digest_record(self, date: dt.date, data: dict[str, Any]) -> None:
        """Record what the archive index and the feed show of a digest just written."""
        with self.tx() as db:
            db.execute(
                "INSERT OR REPLACE INTO digests VALUES (?, ?, ?)",
                (date.isoformat(), json.dumps(data, ensure_ascii=False), utc_now()),
            )

    def digest_records(self) -> dict[dt.date, tuple[dict[str, Any], str]]:
        """(data, written_at) of every recorded digest, by date."""
        return {
            dt.date.fromisoformat(r["date"]): (json.loads(r["data"]), r["written_at"])
            for r in self._q("SELECT * FROM digests")
        }

    # -- runs ------------------------------------------------------------------------------------

    def start_run(self, date: dt.date, command: str) -> int:
        """Record the start of a command; returns the run id."""
        with self.tx() as db:
            cur = db.execute(
                "INSERT INTO runs (date, command, started_at) VALUES (?, ?, ?)",
                (date.isoformat(), command, utc_now()),
            )
            return int(cur.lastrowid)

    def finish_run(self, run_id: int, *, status: str, exit_code: int, message: str = "") -> None:
        """Record how a command ended."""
        with self.tx() as db:
            db.execute(
                "UPDATE runs SET finished_at = ?, status = ?, exit_code = ?, message = ? WHERE id = ?",
                (utc_now(), status, exit_code, redact(message)[:500], run_id),
            )

    def runs(self, date: dt.date) -> list[dict[str, Any]]:
        """Runs of a date, oldest first."""
        return [
            dict(r) for r in self._q("SELECT * FROM runs WHERE date = ? ORDER BY id", (date.isoformat(),))
        ]
