"""llm.max_attempts_per_day: a paper the model never answers stops being asked once its budget is spent."""

from __future__ import annotations

import sqlite3

from digest.cli import main
from tests.e2e_helpers import DAY, Reply, llm_server, status_json, write_config


def _never_valid(_req) -> Reply:
    return Reply(text="抱歉，我无法完成这个请求。")  # never JSON, whatever is asked


def test_a_paper_whose_budget_is_spent_gets_no_more_calls_until_named(tmp_path, arxiv, key, capsys):
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
            llm__max_attempts_per_day=3,
        )
        args = ["--date", DAY, "--config", str(cfg)]
        assert main(["run", *args]) == 3
        first = llm.stats.requests
        assert 1 <= first <= 2
        assert main(["retry", *args]) == 3  # the budget (3) is not spent yet: asked again
        spent = llm.stats.requests
        assert spent > first
        assert main(["retry", *args]) == 3
        assert main(["retry", *args]) == 3
        assert main(["run", *args]) == 3
        assert llm.stats.requests <= 3 + 1  # past the budget by at most the re-ask in flight when it ran out
        used = llm.stats.requests
        assert main(["retry", *args]) == 3
        assert llm.stats.requests == used  # 0 calls once spent
        st = status_json(capsys, cfg)
        assert st["analyses"]["failed"] == 1 and st["analyses"]["pending"] == 0
        with sqlite3.connect(tmp_path / "output" / "digest.db") as con:
            pid, status, attempts = con.execute(
                "SELECT key, status, attempts FROM tasks WHERE template = 'analysis'"
            ).fetchone()
        assert status == "failed" and attempts >= 3
        assert main(["retry", "--paper", pid, *args]) == 3  # named: one more try is forced
        assert llm.stats.requests > used


def test_a_paper_left_pending_whose_budget_is_spent_says_so_not_an_unexpected_error(
    tmp_path, arxiv, key, capsys
):
    from tests.e2e_helpers import read_digest

    with llm_server(responder=_never_valid) as llm:
        cfg = write_config(
            tmp_path,
            arxiv_url=arxiv.url,
            llm_url=llm.url,
            selection__deep_dive=0,
            llm__max_concurrency=1,
            llm__max_attempts_per_day=2,
        )
        args = ["--date", DAY, "--config", str(cfg)]
        assert (
            main(["run", *args]) == 3
        )  # the pattern stop leaves papers pending, their packs' attempts spent
        assert main(["retry", *args]) == 3
        st = status_json(capsys, cfg)
    spent = [f for f in st["failures"] if f["kind"] == "budget"]
    assert spent and all("max_attempts_per_day" in f["reason"] for f in spent)
    page = read_digest(tmp_path).text
    assert "意外错误" not in page and "llm.max_attempts_per_day" in page


def test_a_summary_whose_budget_is_spent_is_written_by_the_command_its_page_gives(
    tmp_path, arxiv, key, capsys
):
    from tests.fakes.answers import answer_for, template_of

    summary_ok = []  # empty: the model never writes the summary; then it does

    def responder(req) -> Reply:
        if template_of(req.prompt) == "executive_summary" and not summary_ok:
            return Reply(text="好的，以下是摘要。")  # never JSON
        return Reply(text=answer_for(req.prompt))

    with llm_server(responder=responder) as llm:
        cfg = write_config(
            tmp_path, arxiv_url=arxiv.url, llm_url=llm.url, llm__max_attempts=2, llm__max_attempts_per_day=2
        )
        args = ["--date", DAY, "--config", str(cfg)]
        assert main(["run", *args]) == 3  # the summary's 2 attempts for the day are spent
        page = (tmp_path / "output" / f"{DAY}.md").read_text(encoding="utf-8")
        command = f"digest retry --date {DAY}"
        assert f"`{command}`" in page  # what the failed summary tells the reader to run
        summary_ok.append(True)
        asked = sum(template_of(r.prompt) == "executive_summary" for r in llm.requests)
        assert main([*command.split()[1:], "--config", str(cfg)]) == 0
        assert sum(template_of(r.prompt) == "executive_summary" for r in llm.requests) == asked + 1
    assert status_json(capsys, cfg)["summary"] == "ok"
