"""SQLite store: papers, per-date membership, scores, analysis tasks, the LLM cache and call log, runs."""

from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
import threading
from collections import Counter
from collections.abc import Collection, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from digest.config import Config
from digest.errors import StoreError
from digest.models import Announcement, DayPapers, Entry, Paper, Reason, Scored
from digest.secrets import redact
from digest.store.lock import guarded, store_lock
from digest.store.migrations import MIGRATIONS, delta, pack, unpack


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


@dataclass
class Task:
    """One LLM job of a date: a paper's analysis/deep dive, the summary or a rerank batch."""

    date: str
    key: str
    template: str
    status: str  # ok | failed | pending
    attempts: int = 0
    error_kind: str | None = None
    last_error: str | None = None
    last_raw: str | None = None


class Store:
    """Thread-safe access to the SQLite file; every write is one transaction."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._lock = threading.RLock()
        with guarded(self.path):
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, check_same_thread=False, timeout=30, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.row_factory = sqlite3.Row
            self._migrate()

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._db.close()

    @contextmanager
    def tx(self) -> Iterator[sqlite3.Connection]:
        """One write transaction."""
        with self._lock, guarded(self.path):
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _q(self, sql: str, args: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        with self._lock, guarded(self.path):
            return self._db.execute(sql, args).fetchall()

    def _migrate(self) -> None:
        with self.tx() as db:
            db.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            current = db.execute("SELECT MAX(version) FROM schema_version").fetchone()[0] or 0
            if current > len(MIGRATIONS):
                raise StoreError(
                    f"{self.path}: store schema v{current} is newer than this digest; upgrade digest"
                )
            for number, migration in enumerate(MIGRATIONS[current:], start=current + 1):
                if callable(migration):
                    migration(db)
                else:
                    for statement in filter(str.strip, migration.split(";")):
                        db.execute(statement)
                db.execute("INSERT INTO schema_version (version) VALUES (?)", (number,))
        if 0 < current < len(MIGRATIONS):
            self.vacuum()  # an existing store was rewritten: give the freed pages back to the disk

    def vacuum(self) -> None:
        """Rewrite the file without its free pages (after a migration or a prune)."""
        with self._lock:
            self._db.execute("VACUUM")
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    # -- papers and days -------------------------------------------------------------------------

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
                (date, ann, day.hf_status, day.hf_error, int(day.rss_used), _now()),
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
                [(f"listing.{d.isoformat()}", v, _now()) for d, v in (listings or {}).items()],
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

    # -- scores and selection --------------------------------------------------------------------

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

    # -- tasks, cache, call log ------------------------------------------------------------------

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
                    _redacted(task.last_error),
                    _redacted(task.last_raw),
                    _now(),
                ),
            )

    def delete_tasks(self, date: dt.date, keep: set[tuple[str, str]]) -> None:
        """Drop tasks of a date that are no longer selected."""
        with self.tx() as db:
            for t in self.tasks(date):
                if (t.key, t.template) not in keep:
                    db.execute(
                        "DELETE FROM tasks WHERE date = ? AND key = ? AND template = ?",
                        (t.date, t.key, t.template),
                    )

    def cache_get(self, key: str, template: str, prompt_sha: str, model: str) -> tuple[dict, dict] | None:
        """(result, meta) of a cached successful call, or None."""
        rows = self._q(
            "SELECT result, meta FROM cache WHERE key = ? AND template = ? AND prompt_sha = ? AND model = ?",
            (key, template, prompt_sha, model),
        )
        return (json.loads(rows[0]["result"]), json.loads(rows[0]["meta"])) if rows else None

    def cache_latest(self, key: str, template: str) -> tuple[dict, dict] | None:
        """The newest cached result for a key and template, whatever prompt or model made it."""
        rows = self._q(
            "SELECT result, meta FROM cache WHERE key = ? AND template = ? ORDER BY created_at DESC, "
            "rowid DESC LIMIT 1",
            (key, template),
        )
        return (json.loads(rows[0]["result"]), json.loads(rows[0]["meta"])) if rows else None

    def cache_put(
        self, key: str, template: str, prompt_sha: str, model: str, *, result: dict, meta: dict, task: Task
    ) -> None:
        """Store a validated result and mark its task ok, in one transaction."""
        with self.tx() as db:
            db.execute(
                "INSERT OR REPLACE INTO cache VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    key,
                    template,
                    prompt_sha,
                    model,
                    json.dumps(result, ensure_ascii=False),
                    json.dumps(meta, ensure_ascii=False),
                    _now(),
                ),
            )
            db.execute(
                "INSERT OR REPLACE INTO tasks VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (task.date, task.key, task.template, "ok", task.attempts, None, None, None, _now()),
            )

    def log_call(
        self,
        *,
        date: dt.date | None,
        key: str | None,
        template: str | None,
        prompt_sha: str | None,
        model: str | None,
        outcome: str,
        http_status: int | None,
        error_kind: str | None,
        latency_s: float | None,
        tokens_in: int,
        tokens_out: int,
        error: str | None,
        tokens_thinking: int = 0,
        papers: list[str] | None = None,
    ) -> int:
        """Append one LLM request to the call log (`papers`: the ids a packed request carried); its row id."""
        with self.tx() as db:
            cur = db.execute(
                "INSERT INTO llm_calls (ts, date, key, template, prompt_sha, model, outcome, http_status, error_kind,"
                " latency_s, tokens_in, tokens_out, tokens_thinking, error, papers)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    _now(),
                    date.isoformat() if date else None,
                    key,
                    template,
                    prompt_sha,
                    model,
                    outcome,
                    http_status,
                    error_kind,
                    latency_s,
                    tokens_in,
                    tokens_out,
                    tokens_thinking,
                    _redacted(error or "")[:300] or None,
                    json.dumps(papers) if papers else None,
                ),
            )
            return int(cur.lastrowid)

    def mark_call_invalid(self, call_id: int, *, kind: str, error: str | None) -> None:
        """The answer of a logged request failed validation: count it under its kind."""
        with self.tx() as db:
            db.execute(
                "UPDATE llm_calls SET outcome = 'invalid', error_kind = ?, error = ? WHERE id = ?",
                (kind, _redacted(error or "")[:300] or None, call_id),
            )

    def requests_since(self, moment: dt.datetime) -> int:
        """LLM requests the server accepted since an aware moment, any date (429s do not use the quota)."""
        return self._q(
            "SELECT COUNT(*) FROM llm_calls WHERE ts >= ? AND outcome NOT IN "
            "('rate_limited', 'quota_exhausted')",
            (moment.astimezone(dt.UTC).isoformat(timespec="seconds"),),
        )[0][0]

    def set_quota_resets_at(self, when: dt.datetime) -> None:
        """Remember when the key's daily quota comes back: no request is sent before then."""
        with self.tx() as db:
            db.execute(
                "INSERT OR REPLACE INTO state VALUES ('llm.quota_resets_at', ?, ?)",
                (when.astimezone(dt.UTC).isoformat(), _now()),
            )

    def value(self, name: str) -> str | None:
        """A small named value of table `state` (the quota's reset, a pruned day's counts), or None."""
        rows = self._q("SELECT value FROM state WHERE name = ?", (name,))
        return rows[0][0] if rows else None

    def quota_resets_at(self) -> dt.datetime | None:
        """When the exhausted daily quota resets (aware, UTC), or None when it is not known to be exhausted now."""
        when = dt.datetime.fromisoformat(value) if (value := self.value("llm.quota_resets_at")) else None
        return when if when is not None and when > dt.datetime.now(dt.UTC) else None

    def call_stats(self, date: dt.date) -> dict[str, Any]:
        """Calls, errors by kind and tokens logged for a digest date."""
        return self._stats("date = ?", (date.isoformat(),))

    def call_stats_since(self, moment: dt.datetime) -> dict[str, Any]:
        """The same, over the calls made since an aware moment, whatever their digest date."""
        return self._stats("ts >= ?", (moment.astimezone(dt.UTC).isoformat(timespec="seconds"),))

    def last_call_id(self) -> int:
        """The id of the newest logged LLM request (0 when none): what a command made comes after it."""
        return int(self._q("SELECT COALESCE(MAX(id), 0) FROM llm_calls")[0][0])

    def attempts_by_paper(self, date: dt.date) -> Counter[str]:
        """Requests that carried each paper for a date, over every run (a packed request counts for each of
        its papers); 429s and quota refusals are not the paper's attempts and do not count."""
        used: Counter[str] = Counter()
        for r in self._q(
            "SELECT key, papers FROM llm_calls WHERE date = ? AND outcome NOT IN "
            "('rate_limited', 'quota_exhausted', 'auth')",
            (date.isoformat(),),
        ):
            used.update(json.loads(r["papers"]) if r["papers"] else [r["key"]])
        return used

    def call_stats_after(self, call_id: int) -> dict[str, Any]:
        """call_stats over the requests logged after `call_id` (one command's, under the store lock)."""
        return self._stats("id > ?", (call_id,))

    def recent_call_ages(self, seconds: float) -> list[float]:
        """How many seconds ago each LLM request of the last `seconds` was logged (any date, any process)."""
        now = dt.datetime.now(dt.UTC)
        since = (now - dt.timedelta(seconds=seconds)).isoformat(timespec="seconds")
        return [
            (now - dt.datetime.fromisoformat(r[0])).total_seconds()
            for r in self._q("SELECT ts FROM llm_calls WHERE ts >= ? AND outcome != 'rate_limited'", (since,))
        ]

    def _stats(self, where: str, args: tuple[Any, ...]) -> dict[str, Any]:
        row = self._q(
            "SELECT COUNT(*) n, COALESCE(SUM(tokens_in),0) ti, COALESCE(SUM(tokens_out),0) tout, "
            f"COALESCE(SUM(tokens_thinking),0) tth FROM llm_calls WHERE {where}",
            args,
        )[0]
        kinds = {
            r["error_kind"]: r["n"]
            for r in self._q(
                f"SELECT error_kind, COUNT(*) n FROM llm_calls WHERE {where} AND error_kind IS NOT NULL "
                "GROUP BY error_kind",
                args,
            )
        }
        return {
            "calls": row["n"],
            "tokens_in": row["ti"],
            "tokens_out": row["tout"],
            "tokens_thinking": row["tth"],
            "errors_by_kind": kinds,
        }

    # -- written digests -------------------------------------------------------------------------

    def save_digest_record(self, date: dt.date, data: dict[str, Any]) -> None:
        """Record what the archive index and the feed show of a digest just written."""
        with self.tx() as db:
            db.execute(
                "INSERT OR REPLACE INTO digests VALUES (?, ?, ?)",
                (date.isoformat(), json.dumps(data, ensure_ascii=False), _now()),
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
                (date.isoformat(), command, _now()),
            )
            return int(cur.lastrowid)

    def finish_run(self, run_id: int, *, status: str, exit_code: int, message: str = "") -> None:
        """Record how a command ended."""
        with self.tx() as db:
            db.execute(
                "UPDATE runs SET finished_at = ?, status = ?, exit_code = ?, message = ? WHERE id = ?",
                (_now(), status, exit_code, redact(message)[:500], run_id),
            )

    def runs(self, date: dt.date) -> list[dict[str, Any]]:
        """Runs of a date, oldest first."""
        return [
            dict(r) for r in self._q("SELECT * FROM runs WHERE date = ? ORDER BY id", (date.isoformat(),))
        ]


def _redacted(text: str | None) -> str | None:
    """Every text the store keeps passes the redactor: error bodies and answers can echo the key."""
    return redact(text) if text else text


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


@contextmanager
def open_store(cfg: Config, *, lock: bool = False, create: bool = True) -> Iterator[Store | None]:
    """The store at cfg.store.path for the block, closed after it; `lock`: under the store lock throughout.

    With `create=False` and no store file, yields None and creates nothing (no store, no lock file):
    a read-only caller never leaves a store behind. Otherwise yields a Store (never None).
    """
    path = Path(cfg.store.path)
    if not create and not path.exists():
        yield None
        return
    with store_lock(path, timeout_s=cfg.store.lock_timeout_s) if lock else nullcontext():
        if not create and not path.exists():  # moved aside while this process waited for the lock
            yield None
            return
        store = Store(path)
        try:
            yield store
        finally:
            store.close()
