"""The closing line of a partial run says what is unfinished and a retry that will do something."""

from __future__ import annotations

import json

from digest.cli import main
from tests.e2e_helpers import DAY, Reply, llm_server, write_config
from tests.fakes.answers import answer_for, template_of


def _never_valid(_req) -> Reply:
    return Reply(text="抱歉，我无法完成这个请求。")


def test_once_a_papers_attempts_are_spent_the_line_names_the_retry_that_asks_it(tmp_path, arxiv, key, capsys):
    with llm_server(responder=_never_valid) as llm:
        cfg = write_config(
            tmp_path,
            arxiv_url=arxiv.url,
            llm_url=llm.url,
            selection__analyze=1,
            selection__deep_dive=0,
            selection__always_include_hf_top=0,
            llm__papers_per_call=1,
            llm__max_attempts=2,
            llm__max_attempts_per_day=2,
        )
        assert main(["run", "--date", DAY, "--config", str(cfg)]) == 3
        capsys.readouterr()
        assert main(["retry", "--date", DAY, "--config", str(cfg)]) == 3
        line = capsys.readouterr().err.strip().splitlines()[-1]
    assert "1 failed" in line and f"digest retry --date {DAY} --paper " in line, line
    assert f"run `digest retry --date {DAY}` later" not in line  # that would ask nothing


def test_a_failed_summary_is_named_in_the_line(tmp_path, arxiv, key, capsys):
    def responder(req):
        if template_of(req.prompt) == "executive_summary":
            return Reply(text=json.dumps({"themes": []}))  # never valid
        return Reply(text=answer_for(req.prompt))

    with llm_server(responder=responder) as llm:
        cfg = write_config(tmp_path, arxiv_url=arxiv.url, llm_url=llm.url)
        assert main(["run", "--date", DAY, "--config", str(cfg)]) == 3
    line = capsys.readouterr().err.strip().splitlines()[-1]
    assert "summary failed" in line and "analysed 10, failed 0, pending 0" in line, line
