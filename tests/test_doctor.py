"""`digest doctor`: one line per check against the local fakes; exit 0 on a good setup, 1 otherwise."""

from __future__ import annotations

import shutil

from digest.analysis.prompts import prompts_dir
from digest.cli import main
from tests.e2e_helpers import DAY, KEY, KEY_ENV, llm_server, write_config

CHECKS = ("config", "output", "prompts", "key", "arxiv api", "arxiv rss", "huggingface", "store", "disk")


def _lines(capsys) -> list[str]:
    out = capsys.readouterr()
    assert out.err == "" or "error" not in out.err
    return out.out.splitlines()


def test_a_good_setup_passes_every_check_one_line_each(tmp_path, arxiv, key, capsys):
    with llm_server() as llm:
        cfg = write_config(tmp_path, arxiv_url=arxiv.url, llm_url=llm.url)
        assert main(["run", "--date", DAY, "--config", str(cfg)]) == 0
        requests = llm.stats.requests
        capsys.readouterr()
        assert main(["doctor", "--config", str(cfg)]) == 0
        assert llm.stats.requests == requests + 1  # one minimal request
    lines = _lines(capsys)
    assert [line.split(":")[0].split(None, 1)[1] for line in lines] == list(CHECKS)
    assert all(line.startswith("ok ") for line in lines), lines
    store = next(line for line in lines if line.split(None, 1)[1].startswith("store"))
    assert "quick_check ok" in store
    assert KEY not in "\n".join(lines)


def test_a_bad_key_fails_and_is_never_printed(tmp_path, arxiv, monkeypatch, capsys):
    wrong = "AIzaSyWRONG-0123456789abcdefghijk"
    monkeypatch.setenv(KEY_ENV, wrong)
    with llm_server(api_key=KEY) as llm:
        cfg = write_config(tmp_path, arxiv_url=arxiv.url, llm_url=llm.url)
        assert main(["doctor", "--config", str(cfg)]) == 1
    out = capsys.readouterr()
    key_line = next(line for line in out.out.splitlines() if line.split(None, 1)[1].startswith("key"))
    assert key_line.startswith("FAIL") and "invalid" in key_line
    assert wrong not in out.out + out.err
    assert "not created yet" in out.out  # doctor creates no store
    assert not (tmp_path / "output").exists()


def test_a_spent_quota_and_an_unreachable_arxiv_fail(tmp_path, key, capsys):
    with llm_server(per_day=0) as llm:
        cfg = write_config(tmp_path, arxiv_url="http://127.0.0.1:9", llm_url=llm.url)
        assert main(["doctor", "--config", str(cfg)]) == 1
    lines = _lines(capsys)
    by_name = {line.split(":")[0].split(None, 1)[1]: line for line in lines}
    assert "quota exhausted" in by_name["key"] and by_name["key"].startswith("FAIL")
    assert by_name["arxiv api"].startswith("FAIL") and "unreachable" in by_name["arxiv api"]


def test_no_key_is_a_warning_and_a_broken_store_and_log_path_fail(tmp_path, arxiv, no_key, capsys):
    (tmp_path / "a-file").write_text("x", encoding="utf-8")
    cfg = write_config(
        tmp_path, arxiv_url=arxiv.url, schedule__log_file=str(tmp_path / "a-file" / "digest.log")
    )
    (tmp_path / "output").mkdir()
    (tmp_path / "output" / "digest.db").write_bytes(b"not a database" * 100)
    assert main(["doctor", "--config", str(cfg)]) == 1
    by_name = {line.split(":")[0].split(None, 1)[1]: line for line in _lines(capsys)}
    assert by_name["key"].startswith("warn") and f"{KEY_ENV} is not set" in by_name["key"]
    assert by_name["store"].startswith("FAIL")
    assert by_name["log file"].startswith("FAIL") and "schedule.log_file" in by_name["log file"]


def test_a_prompts_dir_missing_a_template_a_run_needs_fails(tmp_path, arxiv, no_key, capsys):
    """A directory copied before analysis_pack.j2 existed: the run would stop with exit 2, so doctor fails it."""
    mine = tmp_path / "my_prompts"
    shutil.copytree(prompts_dir(None), mine, ignore=shutil.ignore_patterns("en", "analysis_pack.j2"))
    cfg = write_config(tmp_path, arxiv_url=arxiv.url, llm__prompts_dir=str(mine))
    assert main(["doctor", "--config", str(cfg)]) == 1
    by_name = {line.split(":")[0].split(None, 1)[1]: line for line in _lines(capsys)}
    assert by_name["prompts"].startswith("FAIL") and "analysis_pack.j2" in by_name["prompts"]


def test_a_config_that_does_not_load_is_a_failed_check(tmp_path, capsys):
    bad = tmp_path / "config.yaml"
    bad.write_text("llm:\n  modle: gemini-2.5-flash\n", encoding="utf-8")
    assert main(["doctor", "--config", str(bad)]) == 1  # doctor's own contract: exit 0 or 1
    out = capsys.readouterr()
    assert out.out.splitlines() == [
        f"FAIL config: {bad}: llm.modle: unknown key (check spelling; see the shipped "
        "config.yaml for every key)"
    ]
