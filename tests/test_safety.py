"""Issue 9: outside text made safe at one boundary, ids compared as ids, keys checked and redacted."""

from __future__ import annotations

import json
import sqlite3

import pytest

from digest.cli import main
from tests.e2e_helpers import DAY, Reply, llm_server, read_digest, status_json, write_config
from tests.fakes.answers import answer_for, executive_summary, template_of


def _summary_with_picks(spell):
    """A responder whose executive summary writes each listed id through `spell`."""

    def responder(req):
        if template_of(req.prompt) == "executive_summary":
            ids = [line[1:].split("]")[0] for line in req.prompt.splitlines() if line.startswith("[")]
            data = executive_summary(ids)
            data["picks"] = [dict(p, paper_id=spell(i, p["paper_id"])) for i, p in enumerate(data["picks"])]
            return Reply(text=json.dumps(data, ensure_ascii=False))
        return Reply(text=answer_for(req.prompt))

    return responder


def _stored_picks(tmp_path) -> list[str]:
    with sqlite3.connect(tmp_path / "output" / "digest.db") as con:
        (result,) = con.execute("SELECT result FROM cache WHERE template = 'executive_summary'").fetchone()
    return [p["paper_id"] for p in json.loads(result)["picks"]]


@pytest.mark.usefixtures("key")
def test_summary_picks_in_other_spellings_are_kept_without_extra_calls(tmp_path, arxiv, capsys):
    spellings = lambda i, pid: f"arXiv:{pid}" if i == 0 else f"{pid}v2"  # noqa: E731
    with llm_server(responder=_summary_with_picks(spellings)) as llm:
        cfg = write_config(tmp_path, arxiv_url=arxiv.url, llm_url=llm.url)
        assert main(["run", "--date", DAY, "--config", str(cfg)]) == 0
        assert llm.stats.requests == 11  # 10 papers + 1 summary: no re-ask
    picks = _stored_picks(tmp_path)
    assert len(picks) == 2 and all(":" not in p and "v" not in p for p in picks)
    text = read_digest(tmp_path).text
    assert "建议精读" in text
    assert status_json(capsys, cfg)["summary"] == "ok"


@pytest.mark.usefixtures("key")
def test_a_pick_naming_no_listed_paper_is_dropped_not_reasked(tmp_path, arxiv, capsys):
    unknown = lambda i, pid: "2999.99999" if i == 1 else pid  # noqa: E731
    with llm_server(responder=_summary_with_picks(unknown)) as llm:
        cfg = write_config(tmp_path, arxiv_url=arxiv.url, llm_url=llm.url)
        assert main(["run", "--date", DAY, "--config", str(cfg)]) == 0
        assert llm.stats.requests == 11
    assert "2999.99999" in capsys.readouterr().err  # logged
    assert len(_stored_picks(tmp_path)) == 1
    assert "2999.99999" not in read_digest(tmp_path).text
    st = status_json(capsys, cfg)
    assert st["summary"] == "ok"
    assert any("2999.99999" in w["warning"] for w in st["warnings"])
