"""Issue 9: outside text made safe at one boundary, ids compared as ids, keys checked and redacted."""

from __future__ import annotations

import datetime as dt
import json
import re
import sqlite3
import xml.etree.ElementTree as ET

import pytest

from digest.cli import main
from digest.models import Entry, Paper
from digest.page.render import render_digest
from tests.e2e_helpers import (
    DAY,
    LocalServer,
    Reply,
    llm_server,
    multi_day_services,
    read_digest,
    status_json,
    write_config,
)
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
        assert llm.stats.requests == 5  # 2 packs + 2 deep dives + 1 summary: no re-ask
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
        assert llm.stats.requests == 5
    assert "2999.99999" in capsys.readouterr().err  # logged
    assert len(_stored_picks(tmp_path)) == 1
    assert "2999.99999" not in read_digest(tmp_path).text
    st = status_json(capsys, cfg)
    assert st["summary"] == "ok"
    assert any("2999.99999" in w["warning"] for w in st["warnings"])


# ---------------------------------------------------------------- 9.2 outside text made safe once

FENCED = "第一段说明了方法的核心。\n```python\nprint('代码')\n```\n之后的说明仍是正文内容。"
TILDED = "   ~~~~ text\n方法细节在这里展开说明。\n~~~"
CONTROL = "潜在影响\x07很大，\x1b[31m值得\x00关注\x9b。"


def _rendered_html(md: str) -> str:
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark").enable("table").render(md)


def _assert_page_intact(md: str) -> None:
    """No fence on the page, and every in-page link lands on an anchor the parser sees as HTML."""
    assert not re.search(r"^\s*(?:[-*+]\s+|\d+[.)]\s+)*(```|~~~)", md, re.M)
    html = _rendered_html(md)
    assert "<pre>" not in html and "<code" not in html.split("</summary>")[0]
    anchors = set(re.findall(r"<a id='([^']+)'></a>", html))
    targets = re.findall(r'href="#([^"]+)"', html)
    assert targets and set(targets) <= anchors
    assert not re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]", md)


def _hostile(req):
    kind = template_of(req.prompt)
    data = json.loads(answer_for(req.prompt))
    hostile = {
        "contributions": FENCED,
        "innovations": TILDED,
        "impact": CONTROL,
        "one_line": "```一句话总结内容",
    }
    if kind == "analysis":
        data.update(hostile)
    elif kind == "analysis_pack":
        for item in data["analyses"]:
            item.update(hostile)
    elif kind == "deep_dive":
        data["inspiration"] = FENCED
        data["summary"]["quick_pipeline"] = ["```步骤一", "~~~ 步骤二", "步骤三\x07"]
    elif kind == "executive_summary":
        data["themes"] = ["```主题", "主题二\x1b[0m\x00"]
        data["directions"] = ["~~~方向\x07"]
    return Reply(text=json.dumps(data, ensure_ascii=False))


@pytest.mark.usefixtures("key")
def test_model_prose_with_fences_and_control_characters_cannot_break_the_page_or_feed(tmp_path, arxiv):
    with llm_server(responder=_hostile) as llm:
        cfg = write_config(tmp_path, arxiv_url=arxiv.url, llm_url=llm.url)
        assert main(["run", "--date", DAY, "--config", str(cfg)]) == 0
    md = read_digest(tmp_path).text
    assert "print('代码')" in md and "值得关注" in md  # the content stays, only the markers go
    _assert_page_intact(md)
    ET.parse(tmp_path / "output" / "feed.xml")


def test_control_characters_in_an_old_stored_title_do_not_break_the_feed_of_later_days(tmp_path, no_key):
    days = ["2025-06-02", "2025-06-03"]
    with LocalServer(multi_day_services(days)) as server:
        cfg = write_config(tmp_path, arxiv_url=server.url)
        assert main(["run", "--date", days[0], "--config", str(cfg)]) == 0
        with sqlite3.connect(tmp_path / "output" / "digest.db") as con:  # a store written before the fix
            bad = "json_set(COALESCE(delta, '{}'), '$.title', 'Bad' || char(7) || char(27) || char(0) || ' title')"
            con.execute(f"UPDATE day_papers SET delta = {bad} WHERE date = ?", (days[0],))
        assert main(["run", "--date", days[1], "--config", str(cfg)]) == 0
        assert main(["render", "--date", days[0], "--config", str(cfg)]) == 0
    feed = (tmp_path / "output" / "feed.xml").read_text(encoding="utf-8")
    ET.fromstring(feed)
    assert "Bad title" in feed
    _assert_page_intact(read_digest(tmp_path, days[0]).text)


def _view(*papers: Paper):
    from digest.day.state import DayState

    return DayState(
        date=dt.date.fromisoformat(DAY),
        entries=[Entry(paper=p) for p in papers],
        selected=[p.id for p in papers],
    )


def test_bidi_and_zero_width_characters_are_stripped_from_titles_and_names():
    p = Paper(
        id="2506.00001",
        title="Safe\u202e txt.exe\u202c Ti\u200btle\u2066x\u2069\ufeff",
        authors=["Ali\u200dce\u200f", "B\x07ob"],
    )
    assert p.title == "Safe txt.exe Titlex"
    assert p.authors == ["Alice", "Bob"]
    md = render_digest(_view(p))
    assert not re.search("[\u202a-\u202e\u2066-\u2069\u200b-\u200f\ufeff]", md)


def test_an_empty_title_is_shown_as_the_paper_id():
    from digest.page.publish import write_archive  # noqa: F401 - the archive shares the renderer's rule

    p = Paper(id="2506.00009", title="\x07\u200b ")
    assert p.title == ""
    md = render_digest(_view(p))
    toc = [line for line in md.splitlines() if "](#2506.00009)" in line]
    assert toc and "[2506.00009](#2506.00009)" in toc[0]
    assert "## [2506.00009](https://arxiv.org/abs/2506.00009)" in md


def test_answers_loaded_from_an_old_cache_are_made_safe():
    from digest.schemas import ExecutiveSummary

    s = ExecutiveSummary.model_validate(
        {
            "themes": ["```json\x07"],
            "highlights": ["亮点\x00一"],
            "directions": ["~~~"],
            "picks": [{"paper_id": "2506.00001\x1b", "reason": "理由", "audience": "读者"}],
        }
    )
    assert s.highlights == ["亮点一"] and s.picks[0].paper_id == "2506.00001"
    assert not any(re.search(r"```|~~~|[\x00-\x1f]", t) for t in s.themes + s.directions)


# ---------------------------------------------------------------- 9.4 keys checked before use, one redactor

PARTS = ("AIzaSyFirstHalfOfTheKey01", "SecondHalfOfTheKey-2345")


def _everything(tmp_path, out) -> bytes:
    """Every byte the user or the store could see: stdout, stderr, the store and the log file."""
    files = (
        [p for p in (tmp_path / "output").rglob("*") if p.is_file()] if (tmp_path / "output").exists() else []
    )
    files += [p for p in tmp_path.glob("*.log")]
    return (out.out + out.err).encode() + b"".join(p.read_bytes() for p in files)


def test_a_key_with_a_newline_inside_exits_2_before_any_request_and_never_shows(
    tmp_path, arxiv, monkeypatch, capsys
):
    from tests.e2e_helpers import KEY, KEY_ENV

    with llm_server() as llm:
        cfg = write_config(
            tmp_path, arxiv_url=arxiv.url, llm_url=llm.url, schedule__log_file=str(tmp_path / "digest.log")
        )
        monkeypatch.setenv(KEY_ENV, KEY)
        assert main(["run", "--date", DAY, "--config", str(cfg)]) == 0  # a store exists from a good run
        arxiv.services.log.clear()
        llm.reset()
        monkeypatch.setenv(KEY_ENV, f"{PARTS[0]}\n{PARTS[1]}\n")
        capsys.readouterr()
        for argv in (
            ["run", "--date", "2025-06-03", "--refresh"],
            ["retry", "--date", DAY],
            ["schedule"],
            ["run", "--date", DAY, "--verbose"],
        ):
            assert main([*argv, "--config", str(cfg)]) == 2, argv
            out = capsys.readouterr()
            err_lines = out.err.strip().splitlines()
            assert KEY_ENV in err_lines[-1] and "whitespace" in err_lines[-1]
            assert "Traceback" not in out.err or "--verbose" in argv
            everything = _everything(tmp_path, out)
            assert not any(p.encode() in everything for p in PARTS), argv
        assert llm.stats.requests == 0 and not arxiv.services.log


@pytest.mark.parametrize(
    "value, problem",
    [
        ("AIzaSyKey\twith-a-tab-inside", "whitespace"),
        ("AIzaSyKéyWithAccent0123", "non-ASCII"),
        ("AIzaSyKey\x07WithBell0123", "non-printable"),
    ],
)
def test_a_malformed_key_exits_2_naming_the_variable_not_the_value(
    tmp_path, arxiv, monkeypatch, capsys, value, problem
):
    from tests.e2e_helpers import KEY_ENV

    monkeypatch.setenv(KEY_ENV, value)
    with llm_server() as llm:
        cfg = write_config(tmp_path, arxiv_url=arxiv.url, llm_url=llm.url)
        assert main(["run", "--date", DAY, "--config", str(cfg)]) == 2
        assert llm.stats.requests == 0 and not arxiv.services.log
    err = capsys.readouterr().err
    assert KEY_ENV in err and problem in err and "UnicodeEncodeError" not in err
    assert value not in err and value.split()[0] not in err
    assert main(["status", "--date", DAY, "--config", str(cfg)]) == 0  # read-only commands do not need it


@pytest.mark.usefixtures("key")
def test_an_answer_echoing_the_key_is_rejected_and_never_reaches_the_page_or_store(tmp_path, arxiv, capsys):
    from tests.e2e_helpers import KEY

    echoed = []

    def responder(req):
        data = json.loads(answer_for(req.prompt))
        if template_of(req.prompt) == "analysis_pack" and not echoed:
            echoed.append(req.index)
            data["analyses"][0]["contributions"] = (
                f"本文方法的关键在于密钥 {KEY} 的使用方式，并在多个基准上验证。"
            )
        return Reply(text=json.dumps(data, ensure_ascii=False))

    with llm_server(responder=responder) as llm:
        cfg = write_config(tmp_path, arxiv_url=arxiv.url, llm_url=llm.url)
        assert main(["run", "--date", DAY, "--config", str(cfg)]) == 0
        assert (
            echoed and llm.stats.requests == 6
        )  # 2 packs, 2 deep dives, 1 summary; the echoing paper re-asked
    assert KEY.encode() not in _everything(tmp_path, capsys.readouterr())


def test_logged_text_passes_the_redactor(tmp_path, monkeypatch, capsys):
    import logging

    from tests.e2e_helpers import KEY, KEY_ENV

    monkeypatch.setenv(KEY_ENV, KEY)
    cfg = write_config(tmp_path, arxiv_url="http://127.0.0.1:9")
    assert main(["status", "--date", DAY, "--config", str(cfg)]) == 0
    logging.getLogger("digest.anything").warning("the server said: bad key %s", KEY)
    try:
        raise RuntimeError(f"boom {KEY}")
    except RuntimeError:
        logging.getLogger("httpx").exception("failed")
    err = capsys.readouterr().err
    assert "the server said: bad key" in err and "boom" in err and KEY not in err


def test_doctor_fails_a_malformed_key_without_sending_it(tmp_path, arxiv, monkeypatch, capsys):
    from tests.e2e_helpers import KEY_ENV

    monkeypatch.setenv(KEY_ENV, f"{PARTS[0]}\n{PARTS[1]}")
    with llm_server() as llm:
        cfg = write_config(tmp_path, arxiv_url=arxiv.url, llm_url=llm.url)
        assert main(["doctor", "--config", str(cfg)]) == 1
        assert llm.stats.requests == 0
    out = capsys.readouterr()
    key_line = next(line for line in out.out.splitlines() if line.split(None, 1)[1].startswith("key"))
    assert key_line.startswith("FAIL") and KEY_ENV in key_line and "whitespace" in key_line
    assert not any(p in out.out + out.err for p in PARTS)
