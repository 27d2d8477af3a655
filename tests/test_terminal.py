"""What the terminal shows: the closing line, the no-key notice, and rich's progress under a real pty."""

from __future__ import annotations

import fcntl
import os
import re
import select
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

from digest.cli import main
from tests.e2e_helpers import DAY, KEY, KEY_ENV, llm_server, write_config

REPO = Path(__file__).resolve().parent.parent
CLOSING = re.compile(
    r"(?P<papers>\d+) papers · analysed (?P<ok>\d+), failed (?P<failed>\d+), pending (?P<pending>\d+)"
    r" · (?P<requests>\d+) LLM requests · est\. (?P<cost>\d+\.\d{4}) USD · (?P<secs>\d+\.\d) s$"
)


def closing(text: str) -> dict[str, str]:
    """The fields of the last line of a command's output."""
    match = CLOSING.search(text.strip().splitlines()[-1])
    assert match, text
    return match.groupdict()


def test_closing_line_gives_counts_requests_cost_and_time(tmp_path, arxiv, key, capsys):
    with llm_server() as llm:
        cfg = write_config(tmp_path, arxiv_url=arxiv.url, llm_url=llm.url)
        assert main(["run", "--date", DAY, "--config", str(cfg)]) == 0
        first = closing(capsys.readouterr().out)
        assert main(["run", "--date", DAY, "--config", str(cfg)]) == 0
        again = closing(capsys.readouterr().out)
        assert main(["render", "--date", DAY, "--config", str(cfg)]) == 0
        render = closing(capsys.readouterr().out)
    assert int(first["papers"]) > 50 and first["papers"] == again["papers"] == render["papers"]
    assert (first["ok"], first["failed"], first["pending"]) == ("10", "0", "0")
    assert first["requests"] == "5" and float(first["cost"]) > 0
    assert again["requests"] == render["requests"] == "0" and float(again["cost"]) == 0
    assert render["ok"] == "10"


def test_partial_run_closing_line_on_stderr_counts_pending(tmp_path, arxiv, key, capsys):
    with llm_server(per_day=2, api_key=KEY) as llm:
        cfg = write_config(tmp_path, arxiv_url=arxiv.url, llm_url=llm.url, llm__max_concurrency=1)
        assert main(["run", "--date", DAY, "--config", str(cfg)]) == 3
    got = closing(capsys.readouterr().err)  # two packs answered, the first deep dive refused
    assert (got["ok"], got["failed"], got["pending"], got["requests"]) == ("8", "0", "2", "3")


def test_without_a_key_stderr_names_the_variable(tmp_path, arxiv, monkeypatch, capsys):
    monkeypatch.delenv("GEMINI_API_KEY", raising=False)
    cfg = write_config(tmp_path, arxiv_url=arxiv.url, llm__api_key_env="GEMINI_API_KEY")
    assert main(["run", "--date", DAY, "--config", str(cfg)]) == 0
    captured = capsys.readouterr()
    notice = [ln for ln in captured.err.splitlines() if "GEMINI_API_KEY" in ln]
    assert len(notice) == 1 and "analyses skipped" in notice[0]
    assert closing(captured.out)["requests"] == "0"


def run_in_pty(
    argv: list[str], env: dict[str, str], *, cols: int = 220, timeout: float = 120
) -> tuple[int, str]:
    """Run `python -m digest` with a pseudo-terminal as stdin/stdout/stderr; everything it drew, and its code."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, cols, 0, 0))
    proc = subprocess.Popen(
        [sys.executable, "-m", "digest", *argv],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=env,
        cwd=REPO,
        close_fds=True,
    )
    os.close(slave)
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.5)
            if not ready:
                if proc.poll() is not None:
                    break
                continue
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not data:
                break
            chunks.append(data)
    finally:
        os.close(master)
    return proc.wait(timeout=30), b"".join(chunks).decode("utf-8", "replace")


def screen_lines(raw: str) -> list[str]:
    """The text segments a terminal shows, control sequences removed."""
    plain = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07", "", raw)
    return [ln for ln in re.split(r"[\r\n]+", plain) if ln.strip()]


def test_progress_on_a_terminal_shows_stage_and_n_of_n_and_logs_above_it(tmp_path, arxiv):
    arxiv.services.hf_status = 500  # a warning while the fetch stage is on screen
    with llm_server(latency=0.05) as llm:
        cfg = write_config(tmp_path, arxiv_url=arxiv.url, llm_url=llm.url)
        env = dict(os.environ, TERM="xterm-256color", COLUMNS="220", LINES="50", **{KEY_ENV: KEY})
        env.pop("NO_COLOR", None)
        code, raw = run_in_pty(["run", "--date", DAY, "--config", str(cfg)], env)
    lines = screen_lines(raw)
    assert code == 0, raw[-2000:]
    assert any(re.search(r"\bfetch\b", ln) for ln in lines)
    bar = [ln for ln in lines if re.search(r"\banalyse\b.*\b\d+/11\b", ln)]
    assert bar and re.search(r"\d:\d\d:\d\d", bar[-1])  # elapsed (and ETA) beside n/N
    warning = [ln for ln in lines if "HuggingFace daily papers unavailable" in ln]
    assert warning and all("━" not in ln and "fetch" not in ln.split("unavailable")[0] for ln in warning)
    assert CLOSING.search(lines[-1])
