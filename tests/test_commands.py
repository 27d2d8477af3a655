"""`run`'s selection rule, `analyze` and `retry --paper` on recorded real days, against local fakes."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import yaml

from digest.cli import main
from digest.config import load_config
from digest.store import Store
from tests.e2e_helpers import LocalServer, llm_server, multi_day_services, read_digest, write_config
from tests.fakes.answers import template_of

REPO = Path(__file__).resolve().parent.parent
DAY = "2025-06-04"
HF_TOP = "2506.03147"  # 31 upvotes, the most that day; no interest of the shipped config matches it


@pytest.fixture(scope="module")
def recorded():
    """A fake arXiv/HF serving the recorded cs.CV days 2025-06-03 and 2025-06-04."""
    with LocalServer(multi_day_services(["2025-06-03", DAY])) as server:
        yield server


def shipped_config(tmp: Path, arxiv_url: str, llm_url: str | None = None, **over: object) -> Path:
    """The shipped config.yaml's scoring and selection, endpoints pointed at the fakes."""
    shipped = yaml.safe_load((REPO / "config.yaml").read_text(encoding="utf-8"))
    return write_config(
        tmp,
        arxiv_url=arxiv_url,
        llm_url=llm_url,
        scoring=shipped["scoring"],
        selection=shipped["selection"],
        **over,
    )


def picks_of(cfg: Path, day: str = DAY) -> dict[str, str]:
    store = Store(load_config(cfg).store.path)
    try:
        return store.selection_reasons(dt.date.fromisoformat(day))
    finally:
        store.close()


def test_the_days_top_hf_paper_is_analysed_by_default(tmp_path, recorded, key):
    with llm_server() as llm:
        cfg = shipped_config(tmp_path, recorded.url, llm.url)
        assert main(["run", "--date", DAY, "--config", str(cfg)]) == 0
        assert llm.stats.requests == 5  # the HF pick takes a slot of selection.analyze, not an extra one
    picks = picks_of(cfg)
    assert len(picks) == 10 and picks[HF_TOP] == "hf_top"
    assert set(picks.values()) <= {"hf_top", "interest", "score"}
    assert f"<a id='{HF_TOP}'></a>" in read_digest(tmp_path, DAY).text


def table_papers(cfg: Path, n: int, day: str = DAY) -> list[str]:
    """n papers of the day that were not picked (they sit in the table), in listing order."""
    store = Store(load_config(cfg).store.path)
    try:
        picked = store.selection_reasons(dt.date.fromisoformat(day))
        return [
            e.paper.id for e in store.load_day(dt.date.fromisoformat(day)).entries if e.paper.id not in picked
        ][:n]
    finally:
        store.close()


def section(text: str, pid: str) -> bool:
    return f"<a id='{pid}'></a>" in text


def test_analyze_a_table_paper_by_abs_url_makes_two_requests(tmp_path, recorded, key, capsys):
    with llm_server() as llm:
        cfg = shipped_config(tmp_path, recorded.url, llm.url)
        assert main(["run", "--date", DAY, "--config", str(cfg)]) == 0
        [pid] = table_papers(cfg, 1)
        assert not section(read_digest(tmp_path, DAY).text, pid)
        llm.reset()
        assert main(["analyze", "--date", DAY, f"https://arxiv.org/abs/{pid}v1", "--config", str(cfg)]) == 0
        assert llm.stats.requests == 2  # its analysis and the summary; nothing else re-asked
        asked = {template_of(r.prompt): r.prompt for r in llm.requests}
        assert set(asked) == {"analysis", "executive_summary"} and pid in asked["executive_summary"]
        llm.reset()
        assert main(["analyze", "--date", DAY, pid, "--config", str(cfg)]) == 0
        assert llm.stats.requests == 0  # asked again: the stored answer stands
        assert main(["run", "--date", DAY, "--config", str(cfg)]) == 0
        assert llm.stats.requests == 0  # a rerun keeps the asked-for paper and asks nothing
    assert picks_of(cfg)[pid] == "asked"
    text = read_digest(tmp_path, DAY).text
    assert section(text, pid)
    # its line in the contents (the summary may recommend it too)
    assert any("按需分析" in ln for ln in text.splitlines() if f"](#{pid})" in ln)


def test_analyze_accepts_every_id_form(tmp_path, recorded, key):
    with llm_server() as llm:
        cfg = shipped_config(tmp_path, recorded.url, llm.url, selection__analyze=1, selection__deep_dive=0)
        assert main(["run", "--date", DAY, "--config", str(cfg)]) == 0
        a, b, c, d, e = table_papers(cfg, 5)
        llm.reset()
        forms = [a, f"{b}v1", f"arXiv:{c}", f"https://arxiv.org/abs/{d}v2", f"https://arxiv.org/pdf/{e}"]
        assert main(["analyze", "--date", DAY, *forms, "--config", str(cfg)]) == 0
        assert llm.stats.requests == 2  # the five papers in one pack, the summary
    assert {p: r for p, r in picks_of(cfg).items() if r == "asked"} == dict.fromkeys([a, b, c, d, e], "asked")


@pytest.mark.parametrize("style", ["one option", "repeated option"])
def test_retry_paper_takes_several_ids_picks_and_table_papers(tmp_path, recorded, key, style):
    with llm_server() as llm:
        cfg = shipped_config(tmp_path, recorded.url, llm.url, selection__analyze=2, selection__deep_dive=0)
        assert main(["run", "--date", DAY, "--config", str(cfg)]) == 0
        pick = next(iter(picks_of(cfg)))
        [table] = table_papers(cfg, 1)
        llm.reset()
        ids = (
            ["--paper", f"{pick}v1", f"arXiv:{table}"]
            if style == "one option"
            else ["--paper", f"{pick}v1", "--paper", f"arXiv:{table}"]
        )
        assert main(["retry", "--date", DAY, *ids, "--config", str(cfg)]) == 0
        assert llm.stats.requests == 2  # the pick re-run and the table paper in one pack, the summary
    assert picks_of(cfg)[table] == "asked"
    assert section(read_digest(tmp_path, DAY).text, table)


def test_an_id_from_another_day_names_that_day(tmp_path, recorded, no_key, capsys):
    cfg = shipped_config(tmp_path, recorded.url)
    assert main(["run", "--date", "2025-06-03", "--config", str(cfg)]) == 0
    assert main(["run", "--date", DAY, "--config", str(cfg)]) == 0
    [other] = table_papers(cfg, 1, "2025-06-03")
    capsys.readouterr()
    for command in (["analyze", "--date", DAY, f"arXiv:{other}"], ["retry", "--date", DAY, "--paper", other]):
        assert main([*command, "--config", str(cfg)]) == 2
        err = capsys.readouterr().err
        assert f"{other} is not listed on {DAY}" in err and "2025-06-03" in err and "Traceback" not in err
    assert main(["analyze", "--date", DAY, "2101.99999", "--config", str(cfg)]) == 2
    assert "2101.99999 is not listed on 2025-06-04" in capsys.readouterr().err
    assert main(["analyze", "--date", DAY, "not-an-id", "--config", str(cfg)]) == 2
    assert "not an arXiv id" in capsys.readouterr().err
    [listed] = table_papers(cfg, 1)
    assert (
        main(["analyze", "--date", DAY, listed, "--config", str(cfg)]) == 2
    )  # listed, but no key to ask with
    assert "DIGEST_TEST_KEY" in capsys.readouterr().err
    assert listed not in picks_of(cfg)
