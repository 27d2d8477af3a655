"""Storage faults: a corrupt store, a full disk, a read-only place, a second run waiting, stale temp files."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from digest.cli import main
from tests.e2e_helpers import DAY, KEY, KEY_ENV, llm_server, write_config


def _one_error_line(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.startswith("digest: error:")]
    assert len(lines) == 1, err
    return lines[0]


def test_a_corrupt_store_says_which_file_to_move_aside(tmp_path, arxiv, no_key, capsys):
    cfg = write_config(tmp_path, arxiv_url=arxiv.url)
    db = tmp_path / "output" / "digest.db"
    db.parent.mkdir()
    db.write_bytes(b"this is not an SQLite file, it was overwritten by something else\n" * 200)
    for command in (["status", "--date", DAY], ["run", "--date", DAY]):
        assert main([*command, "--config", str(cfg)]) == 1
        line = _one_error_line(capsys)
        assert str(db) in line and "move" in line and "aside" in line and "re-fetches" in line


@contextlib.contextmanager
def _small_place(root: Path, options: str) -> object:
    """A tiny tmpfs when this machine lets us mount one (root), else None."""
    root.mkdir()
    if (
        os.geteuid() != 0
        or subprocess.run(
            ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(root)], capture_output=True
        ).returncode
        != 0
    ):
        yield None
        return
    try:
        yield root
    finally:
        subprocess.run(["umount", "-l", str(root)], check=False)


def test_a_full_disk_or_read_only_place_says_what_to_do(tmp_path, arxiv, no_key, capsys):
    with _small_place(tmp_path / "small", "size=96k") as small:
        if small is not None:  # a real full disk: the day's papers do not fit in 96 KiB
            cfg = write_config(
                tmp_path,
                arxiv_url=arxiv.url,
                output__dir=str(small / "output"),
                store__path=str(small / "output" / "digest.db"),
            )
            assert main(["run", "--date", DAY, "--config", str(cfg)]) == 1
            line = _one_error_line(capsys)
            assert "free space on" in line and str(small / "output") in line
            with _small_place(tmp_path / "ro", "ro,size=96k") as ro:  # and a read-only file system
                cfg = write_config(
                    tmp_path,
                    arxiv_url=arxiv.url,
                    output__dir=str(ro / "output"),
                    store__path=str(ro / "output" / "digest.db"),
                )
                assert main(["run", "--date", DAY, "--config", str(cfg)]) == 1
                line = _one_error_line(capsys)
                assert "writable" in line and str(ro / "output") in line
        else:  # not root: a read-only directory
            out = tmp_path / "small" / "output"
            out.mkdir()
            out.chmod(0o555)
            try:
                cfg = write_config(
                    tmp_path, arxiv_url=arxiv.url, output__dir=str(out), store__path=str(out / "digest.db")
                )
                assert main(["run", "--date", DAY, "--config", str(cfg)]) == 1
                line = _one_error_line(capsys)
                assert "writable" in line and str(out) in line
            finally:
                out.chmod(0o755)


def test_stale_temp_files_of_a_killed_render_are_removed_on_the_next_write(tmp_path, arxiv, no_key):
    cfg = write_config(tmp_path, arxiv_url=arxiv.url)
    out = tmp_path / "output"
    assert main(["run", "--date", DAY, "--config", str(cfg)]) == 0
    old = time.time() - 3600
    stale = [out / f".{DAY}.md.k1ll3d.tmp", out / ".index.md.abc123.tmp", out / ".feed.xml.zz9.tmp"]
    for path in stale:
        path.write_text("half a digest", encoding="utf-8")
        os.utime(path, (old, old))
    fresh = out / f".{DAY}.md.justnow.tmp"  # a writer that is still busy: left alone
    fresh.write_text("being written", encoding="utf-8")
    assert main(["render", "--date", DAY, "--config", str(cfg)]) == 0
    assert not any(p.exists() for p in stale)
    assert fresh.exists()


@pytest.mark.timeout(90)
def test_a_waiting_run_says_once_that_it_waits_and_for_how_long(tmp_path, arxiv):
    env = {k: v for k, v in os.environ.items() if k != KEY_ENV} | {KEY_ENV: KEY}
    with llm_server(latency=0.5) as llm:
        cfg = write_config(
            tmp_path,
            arxiv_url=arxiv.url,
            llm_url=llm.url,
            llm__max_concurrency=1,
            llm__papers_per_call=1,
            store__lock_timeout_s=1.5,
        )
        first = subprocess.Popen(
            [sys.executable, "-m", "digest", "run", "--date", DAY, "--config", str(cfg)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 30
        while llm.stats.requests < 1 and time.monotonic() < deadline:
            time.sleep(0.02)
        second = subprocess.run(
            [sys.executable, "-m", "digest", "run", "--date", DAY, "--config", str(cfg)],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        first.terminate()
        first.communicate(timeout=30)
    assert second.returncode == 1
    waits = [line for line in second.stderr.splitlines() if "waiting for the store lock" in line]
    assert len(waits) == 1, second.stderr
    assert "held by another digest run" in waits[0] and "1.5 s" in waits[0] and f"pid {first.pid}" in waits[0]


def test_os_and_sqlite_error_numbers_are_not_confused(tmp_path, arxiv, no_key, capsys):
    import errno
    import sqlite3

    from digest.store.lock import storage_error

    # errno 13 (EACCES) is also SQLITE_FULL's number, errno 1 (EPERM) SQLITE_ERROR's: each keeps its own advice
    denied = str(
        storage_error(tmp_path / "output" / "x.md", PermissionError(errno.EACCES, "Permission denied"))
    )
    assert "writable" in denied and "full" not in denied
    cfg = write_config(tmp_path, arxiv_url=arxiv.url)
    db = tmp_path / "output" / "digest.db"
    db.parent.mkdir()
    with sqlite3.connect(db) as other:  # another program's SQLite file where the store should be
        other.execute("CREATE TABLE days (x)")
    assert main(["run", "--date", DAY, "--config", str(cfg)]) == 1
    line = _one_error_line(capsys)
    assert str(db) in line and "writable" not in line and "full" not in line and "not a digest store" in line
