"""Picks: a date's scores, its selection, and the LLM tasks (analyses, deep dives, summary) made of it."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3

from digest.models import Reason, Scored
from digest.store.base import Tables, Task, redacted, utc_now


class Picks(Tables):
    """Tables `scores`, `selections` and `tasks`."""

    def save_scores(self, date: dt.date, scored: list[Scored]) -> None:
        """Replace the scores of a date."""
        d = date.isoformat()
        with self.tx() as db:
            db.execute("DELETE FROM scores WHERE date = ?", (d,))
            db.executemany(
                "INSERT INTO scores VALUES (?, ?, ?, ?)",
                [
                    (d, s.id, s.score, json.dumps([r.model_dump() for r in s.reasons], ensure_ascii=False))
                    for s in scored
                ],
            )

    def load_scores(self, date: dt.date) -> dict[str, Scored]:
        """Scores of a date by paper id."""
        # Reasons are written by the scorer from text already made safe on entry; re-validating tens of
        # thousands of them on every render would cost seconds (a 10,000-paper day), so they are not.
        return {
            r["paper_id"]: Scored.model_construct(
                id=r["paper_id"],
                score=r["score"],
                reasons=[Reason.model_construct(**x) for x in json.loads(r["reasons"])],
            )
            for r in self._q("SELECT * FROM scores WHERE date = ?", (date.isoformat(),))
        }

    def save_selection(
        self, date: dt.date, picks: list[tuple[str, str]], reasons: dict[str, str] | None = None
    ) -> None:
        """Replace the selection of a date: (paper id, template) in rank order, with why each was picked."""
        d = date.isoformat()
        why = reasons or {}
        with self.tx() as db:
            db.execute("DELETE FROM selections WHERE date = ?", (d,))
            db.executemany(
                "INSERT INTO selections (date, paper_id, rank, template, reason) VALUES (?, ?, ?, ?, ?)",
                [(d, pid, rank, tpl, why.get(pid)) for rank, (pid, tpl) in enumerate(picks)],
            )

    def load_selection(self, date: dt.date) -> list[tuple[str, str]]:
        """(paper id, template) in rank order."""
        return [
            (r["paper_id"], r["template"])
            for r in self._q("SELECT * FROM selections WHERE date = ? ORDER BY rank", (date.isoformat(),))
        ]

    def selection_reasons(self, date: dt.date) -> dict[str, str | None]:
        """Why each selected paper of a date was picked (models.PickReason), in rank order; None if unknown."""
        return {
            r["paper_id"]: r["reason"]
            for r in self._q(
                "SELECT paper_id, reason FROM selections WHERE date = ? ORDER BY rank", (date.isoformat(),)
            )
        }

    def get_task(self, date: dt.date, key: str, template: str) -> Task | None:
        """The task row, or None."""
        rows = self._q(
            "SELECT * FROM tasks WHERE date = ? AND key = ? AND template = ?",
            (date.isoformat(), key, template),
        )
        return _task(rows[0]) if rows else None

    def tasks(self, date: dt.date) -> list[Task]:
        """All tasks of a date."""
        return [
            _task(r) for r in self._q("SELECT * FROM tasks WHERE date = ? ORDER BY key", (date.isoformat(),))
        ]

    def set_task(self, task: Task) -> None:
        """Insert or update a task."""
        with self.tx() as db:
            db.execute(
                "INSERT OR REPLACE INTO tasks VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    task.date,
                    task.key,
                    task.template,
                    task.status,
                    task.attempts,
                    task.error_kind,
                    redacted(task.last_error),
                    redacted(task.last_raw),
                    utc_now(),
                ),
            )

    def delete_tasks(self, date: dt.date, keep: set[tuple[str, str]]) -> None:
        """Drop the paper tasks of a date that are no longer selected (`keep`: the picks); the summary's
        and the rerank batches' tasks stay."""
        with self.tx() as db:
            for t in self.tasks(date):
                if (t.key, t.template) not in keep and t.template not in ("executive_summary", "rerank"):
                    db.execute(
                        "DELETE FROM tasks WHERE date = ? AND key = ? AND template = ?",
                        (t.date, t.key, t.template),
                    )


def _task(r: sqlite3.Row) -> Task:
    return Task(
        date=r["date"],
        key=r["key"],
        template=r["template"],
        status=r["status"],
        attempts=r["attempts"],
        error_kind=r["error_kind"],
        last_error=r["last_error"],
        last_raw=r["last_raw"],
    )
