"""Store size benchmark: the four recorded cs.CV days, metadata only, then a 60-day archive estimate.

Prints the store's size after each day (WAL checkpointed) and the bytes each table takes.

    python bench/store_size.py
"""

from __future__ import annotations

import os
import sqlite3
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from digest.cli import main as digest_main  # noqa: E402
from tests.e2e_helpers import KEY_ENV, LocalServer, multi_day_services, write_config  # noqa: E402

DAYS = ["2025-06-02", "2025-06-03", "2025-06-04", "2025-06-05"]


def store_bytes(path: Path) -> int:
    """The store file's size once its write-ahead log is folded in."""
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path.stat().st_size


def table_bytes(path: Path) -> dict[str, int]:
    """Bytes per table and index (SQLite's dbstat), largest first."""
    with sqlite3.connect(path) as db:
        try:
            rows = db.execute("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name ORDER BY 2 DESC").fetchall()
        except sqlite3.OperationalError:  # SQLite built without dbstat
            return {}
    return dict(rows)


def build(tmp: Path, days: list[str] = DAYS) -> tuple[Path, list[tuple[str, int, int]]]:
    """Run `digest run` for each day without a key; (store path, [(day, papers, bytes)])."""
    os.environ.pop(KEY_ENV, None)
    rows = []
    with LocalServer(multi_day_services(days)) as server:
        cfg = write_config(tmp, arxiv_url=server.url)
        store = tmp / "output" / "digest.db"
        for day in days:
            code = digest_main(["run", "--date", day, "--config", str(cfg)])
            if code != 0:
                raise SystemExit(f"digest run --date {day} exited {code}")
            with sqlite3.connect(store) as db:
                n = db.execute("SELECT COUNT(*) FROM day_papers WHERE date = ?", (day,)).fetchone()[0]
            rows.append((day, n, store_bytes(store)))
    return store, rows


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        store, rows = build(Path(tmp))
        papers = 0
        for day, n, size in rows:
            papers += n
            print(f"{day}: {n:4d} papers, store {size / 1e6:.2f} MB")
        total = rows[-1][2]
        per_paper = total / papers
        print(
            f"4 days, {papers} papers: {total / 1e6:.2f} MB ({per_paper / 1e3:.2f} kB a paper listing, "
            f"{per_paper * 300 / 1e6:.2f} MB a 300-paper day, about {per_paper * 300 * 60 / 1e6:.0f} MB for 60 days)"
        )
        for name, size in table_bytes(store).items():
            print(f"  {name:32s} {size / 1e6:6.2f} MB")


if __name__ == "__main__":
    main()
