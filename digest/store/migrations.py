"""The store's schema as numbered migrations, and how a paper's text is packed into it."""

from __future__ import annotations

import json
import sqlite3
import zlib
from collections.abc import Callable
from typing import Any


def pack(data: dict[str, Any]) -> bytes:
    """A paper's JSON, compressed: abstracts are most of a store and shrink to about half."""
    return zlib.compress(json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8"), 9)


def unpack(blob: bytes) -> dict[str, Any]:
    """The JSON packed by pack()."""
    return json.loads(zlib.decompress(blob))


def delta(base: dict[str, Any], snapshot: dict[str, Any]) -> str | None:
    """The fields of one date's snapshot that differ from the stored text (HF upvotes, stars...), as JSON."""
    changed = {k: v for k, v in snapshot.items() if base.get(k) != v}
    return json.dumps(changed, ensure_ascii=False, separators=(",", ":")) if changed else None


def _texts_once(db: sqlite3.Connection) -> None:
    """7: each version's text once (paper_texts); day_papers keeps only the version and that date's delta."""
    db.execute(
        "CREATE TABLE paper_texts (id TEXT NOT NULL, version INTEGER NOT NULL, data BLOB NOT NULL,"
        " PRIMARY KEY (id, version))"
    )
    for pid, version, data in db.execute("SELECT id, version, data FROM paper_versions").fetchall():
        db.execute("INSERT INTO paper_texts VALUES (?, ?, ?)", (pid, version, pack(json.loads(data))))
    rows = db.execute(
        "SELECT dp.*, COALESCE(dp.data, p.data) AS snapshot FROM day_papers dp "
        "LEFT JOIN papers p ON p.id = dp.paper_id"
    ).fetchall()
    # Rebuilt rather than ALTER ... DROP COLUMN, which SQLite before 3.35 (Debian 11) lacks.
    db.execute("ALTER TABLE day_papers RENAME TO day_papers_v4")
    db.execute("""CREATE TABLE day_papers (
        date TEXT NOT NULL, paper_id TEXT NOT NULL, position INTEGER NOT NULL, source TEXT NOT NULL,
        cross_list INTEGER NOT NULL, announce_type TEXT, on_hf INTEGER NOT NULL, version INTEGER NOT NULL,
        delta TEXT, PRIMARY KEY (date, paper_id))""")
    names = [d[0] for d in db.execute("SELECT * FROM day_papers_v4 LIMIT 0").description]
    for row in rows:
        r = dict(zip([*names, "snapshot"], row, strict=True))
        if r["snapshot"] is None:  # a listing without its paper cannot be shown; drop it
            continue
        snapshot = json.loads(r["snapshot"])
        version = snapshot.get("version") or 0
        base = db.execute(
            "SELECT data FROM paper_texts WHERE id = ? AND version = ?", (r["paper_id"], version)
        ).fetchone()
        if base is None:
            db.execute("INSERT INTO paper_texts VALUES (?, ?, ?)", (r["paper_id"], version, pack(snapshot)))
        db.execute(
            "INSERT INTO day_papers VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                r["date"],
                r["paper_id"],
                r["position"],
                r["source"],
                r["cross_list"],
                r["announce_type"],
                r["on_hf"],
                version,
                delta(unpack(base[0]), snapshot) if base else None,
            ),
        )
    for table in ("day_papers_v4", "papers", "paper_versions"):
        db.execute(f"DROP TABLE {table}")


def _warnings_as_data(db: sqlite3.Connection) -> None:
    """8: cached answers' "unverified_figure: 97.31 dB, 12%" warnings become {"kind", "figures"}."""
    prefix = "unverified_figure: "
    for rowid, meta in db.execute(
        "SELECT rowid, meta FROM cache WHERE meta LIKE ?", (f"%{prefix}%",)
    ).fetchall():
        data = json.loads(meta)
        data["warnings"] = [
            {
                "kind": "unverified_figure",
                "figures": [f.strip() for f in w[len(prefix) :].split(",") if f.strip()],
            }
            if isinstance(w, str) and w.startswith(prefix)
            else w
            for w in data.get("warnings") or []
        ]
        db.execute("UPDATE cache SET meta = ? WHERE rowid = ?", (json.dumps(data, ensure_ascii=False), rowid))


# Numbered, append-only: never edit a shipped migration, add a new one.
MIGRATIONS: list[str | Callable[[sqlite3.Connection], None]] = [
    """
    CREATE TABLE papers (
        id TEXT PRIMARY KEY, version INTEGER, data TEXT NOT NULL, updated_at TEXT NOT NULL);
    CREATE TABLE days (
        date TEXT PRIMARY KEY, announcement TEXT, hf_status TEXT, hf_error TEXT,
        rss_used INTEGER NOT NULL DEFAULT 0, fetched_at TEXT NOT NULL);
    CREATE TABLE day_papers (
        date TEXT NOT NULL, paper_id TEXT NOT NULL, position INTEGER NOT NULL, source TEXT NOT NULL,
        cross_list INTEGER NOT NULL, announce_type TEXT, on_hf INTEGER NOT NULL,
        PRIMARY KEY (date, paper_id));
    CREATE TABLE scores (
        date TEXT NOT NULL, paper_id TEXT NOT NULL, score REAL NOT NULL, reasons TEXT NOT NULL,
        PRIMARY KEY (date, paper_id));
    CREATE TABLE selections (
        date TEXT NOT NULL, paper_id TEXT NOT NULL, rank INTEGER NOT NULL, template TEXT NOT NULL,
        PRIMARY KEY (date, paper_id));
    CREATE TABLE tasks (
        date TEXT NOT NULL, key TEXT NOT NULL, template TEXT NOT NULL, status TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0, error_kind TEXT, last_error TEXT, last_raw TEXT,
        updated_at TEXT NOT NULL, PRIMARY KEY (date, key, template));
    CREATE TABLE cache (
        key TEXT NOT NULL, template TEXT NOT NULL, prompt_sha TEXT NOT NULL, model TEXT NOT NULL,
        result TEXT NOT NULL, meta TEXT NOT NULL, created_at TEXT NOT NULL,
        PRIMARY KEY (key, template, prompt_sha, model));
    CREATE TABLE llm_calls (
        id INTEGER PRIMARY KEY AUTOINCREMENT, ts TEXT NOT NULL, date TEXT, key TEXT, template TEXT,
        prompt_sha TEXT, model TEXT, outcome TEXT NOT NULL, http_status INTEGER, error_kind TEXT,
        latency_s REAL, tokens_in INTEGER NOT NULL DEFAULT 0, tokens_out INTEGER NOT NULL DEFAULT 0,
        error TEXT);
    CREATE INDEX llm_calls_date ON llm_calls(date);
    CREATE TABLE runs (
        id INTEGER PRIMARY KEY AUTOINCREMENT, date TEXT NOT NULL, command TEXT NOT NULL,
        started_at TEXT NOT NULL, finished_at TEXT, status TEXT, exit_code INTEGER, message TEXT);
    """,
    # 2: thinking tokens (Gemini 2.5 bills them as output but reports them apart from candidates)
    """
    ALTER TABLE llm_calls ADD COLUMN tokens_thinking INTEGER NOT NULL DEFAULT 0;
    """,
    # 3: every version of a paper, and each date's own snapshot (HF upvotes change from day to day)
    """
    CREATE TABLE paper_versions (
        id TEXT NOT NULL, version INTEGER NOT NULL, data TEXT NOT NULL, updated_at TEXT NOT NULL,
        PRIMARY KEY (id, version));
    ALTER TABLE day_papers ADD COLUMN data TEXT;
    """,
    # 4: why each paper was picked for analysis (models.PickReason; NULL for selections made before)
    """
    ALTER TABLE selections ADD COLUMN reason TEXT;
    """,
    # 5: a small row per written digest (paper count, top papers, summary), so that index.md and feed.xml
    # read one table instead of loading every archived day
    """
    CREATE TABLE digests (date TEXT PRIMARY KEY, data TEXT NOT NULL, written_at TEXT NOT NULL);
    """,
    # 6: the papers a (packed) request carried, and small named values such as the daily quota's reset
    """
    ALTER TABLE llm_calls ADD COLUMN papers TEXT;
    CREATE TABLE state (name TEXT PRIMARY KEY, value TEXT NOT NULL, updated_at TEXT NOT NULL);
    """,
    # 7: each paper's text once (was three times: papers, paper_versions, day_papers.data)
    _texts_once,
    # 8: figure warnings as data ({"kind", "figures"}), worded when the page is rendered
    _warnings_as_data,
    # 9: which earlier dates listed a paper (a paper seen before is marked on the page)
    "CREATE INDEX IF NOT EXISTS day_papers_paper ON day_papers(paper_id, date)",
]
