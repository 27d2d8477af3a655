"""What the reader is told to run must do something: every `digest retry` the closing line or the page
advises sends at least one request, and a paper whose day's attempts are spent is failed, never pending.

The case of issue 18: a model that always refuses, llm.max_attempts 2 and llm.max_attempts_per_day 4. After
`run` (2 attempts) and `retry` (2 more: the day's 4 are spent) the closing line advised a plain
`digest retry --date D`, which then sent nothing (it counted only the last run's attempts).
"""

from __future__ import annotations

import re

from digest.cli import main
from tests.e2e_helpers import DAY, Reply, llm_server, read_digest, status_json, write_config

ADVISED = re.compile(r"digest (?:retry|run|analyze) --date \d{4}-\d{2}-\d{2}(?: --[\w-]+| [\w.:/]+)*")


def _refuses(_req) -> Reply:
    return Reply(text="抱歉，我无法完成这个请求。")


def _config(tmp_path, arxiv, llm, **over):
    return write_config(
        tmp_path,
        arxiv_url=arxiv.url,
        llm_url=llm.url,
        selection__analyze=1,
        selection__deep_dive=0,
        selection__always_include_hf_top=0,
        llm__papers_per_call=1,
        llm__max_attempts=2,
        llm__max_attempts_per_day=4,
        **over,
    )


def _advised(text: str) -> list[str]:
    return [m.group(0).strip() for m in ADVISED.finditer(text)]


def _sends_a_request(command: str, cfg, llm) -> int:
    before = llm.stats.requests
    main([*command.split()[1:], "--config", str(cfg)])
    return llm.stats.requests - before


def test_after_run_and_retry_the_spent_paper_is_failed_and_every_advised_retry_asks(
    tmp_path, arxiv, key, capsys
):
    with llm_server(responder=_refuses) as llm:
        cfg = _config(tmp_path, arxiv, llm)
        args = ["--date", DAY, "--config", str(cfg)]
        assert main(["run", *args]) == 3
        capsys.readouterr()
        assert main(["retry", *args]) == 3
        line = capsys.readouterr().err.strip().splitlines()[-1]
        st = status_json(capsys, cfg)
        assert st["analyses"]["failed"] == 1 and st["analyses"]["pending"] == 0, st["analyses"]
        advised = _advised(line)
        assert advised, line
        assert st["advice"] == advised  # `status` gives the same advice (one verdict)
        for command in advised:
            assert _sends_a_request(command, cfg, llm) >= 1, (
                f"{command!r} (advised by {line!r}) asked nothing"
            )


def test_the_pages_retry_command_for_a_spent_paper_asks_it_again(tmp_path, arxiv, key, capsys):
    with llm_server(responder=_refuses) as llm:
        cfg = _config(tmp_path, arxiv, llm)
        args = ["--date", DAY, "--config", str(cfg)]
        assert main(["run", *args]) == 3
        assert main(["retry", *args]) == 3
        page = read_digest(tmp_path).text
        named = [c for c in _advised(page) if "--paper" in c]
        assert named, "the page names no retry for the failed paper"
        for command in named:
            assert _sends_a_request(command, cfg, llm) >= 1, f"the page's {command!r} asked nothing"
        capsys.readouterr()


def test_a_plain_retry_is_advised_only_while_it_would_ask_something(tmp_path, arxiv, key, capsys):
    # max_attempts_per_day 4 and 2 per command: after `run` the paper has 2 attempts left, so a plain retry
    # is the right advice (and asks); after that retry it is spent, and only the named retry is advised.
    with llm_server(responder=_refuses) as llm:
        cfg = _config(tmp_path, arxiv, llm)
        args = ["--date", DAY, "--config", str(cfg)]
        assert main(["run", *args]) == 3
        line = capsys.readouterr().err.strip().splitlines()[-1]
        assert f"digest retry --date {DAY}`" in line, line
        assert _sends_a_request(f"digest retry --date {DAY}", cfg, llm) >= 1
        line = capsys.readouterr().err.strip().splitlines()[-1]
        assert f"digest retry --date {DAY}`" not in line, line
        assert f"digest retry --date {DAY} --paper" in line, line
