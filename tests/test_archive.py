"""Survey table, archive index and Atom feed over several days (issue: beyond the day)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from digest.cli import main
from tests.e2e_helpers import keyed_days

DAYS = ["2025-06-02", "2025-06-03", "2025-06-04"]
ATOM = "{http://www.w3.org/2005/Atom}"


@pytest.fixture(scope="module")
def three_days(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("archive")
    with keyed_days(tmp, DAYS, selection__analyze=4, selection__deep_dive=1) as (cfg, llm):
        for day in DAYS:
            assert main(["run", "--date", day, "--config", str(cfg)]) == 0
        calls = llm.stats.requests
        before = calls
        assert main(["survey", "--config", str(cfg)]) == 0
        assert llm.stats.requests == before  # the survey makes no LLM call
    yield tmp, cfg, calls


def test_survey_has_one_row_per_analysed_paper_with_working_links(three_days):
    tmp, cfg, calls = three_days
    text = (tmp / "output" / "survey.md").read_text(encoding="utf-8")
    rows = [line for line in text.splitlines() if line.startswith("| ") and "arXiv:" in line]
    assert len(rows) == 12  # 4 analysed papers x 3 days
    ids = [re.search(r"arXiv:(\S+?)\]", r).group(1) for r in rows]
    assert len(set(ids)) == 12
    dates = [re.search(r"\[(\d{4}-\d{2}-\d{2})\]\((\S+?)\.md#(\S+?)\)", r) for r in rows]
    assert [d.group(1) for d in dates] == sorted(d.group(1) for d in dates)  # by date
    for d in dates:
        digest = (tmp / "output" / f"{d.group(2)}.md").read_text(encoding="utf-8")
        assert f"<a id='{d.group(3)}'></a>" in digest  # the date link lands on the paper's section
    assert "数据集笔记" in text and "ImageNet" in text  # deep dives' datasets


def test_survey_filters(three_days, capsys):
    tmp, cfg, _ = three_days
    assert main(["survey", "--config", str(cfg), "--since", "2025-06-03", "--until", "2025-06-03"]) == 0
    text = (tmp / "output" / "survey.md").read_text(encoding="utf-8")
    assert text.count("](2025-06-03.md#") == 4 and "2025-06-02.md#" not in text
    assert main(["survey", "--config", str(cfg), "--field", "图像复原"]) == 0  # deep dives' field
    text = (tmp / "output" / "survey.md").read_text(encoding="utf-8")
    assert len([ln for ln in text.splitlines() if "arXiv:" in ln and ln.startswith("| ")]) == 3
    assert main(["survey", "--config", str(cfg), "--min-score", "101"]) == 0
    assert "arXiv:" not in (tmp / "output" / "survey.md").read_text(encoding="utf-8")


def test_index_lists_every_date_newest_first(three_days):
    tmp, _, _ = three_days
    text = (tmp / "output" / "index.md").read_text(encoding="utf-8")
    found = re.findall(r"^\| \[(\d{4}-\d{2}-\d{2})\]", text, re.M)
    assert found == sorted(DAYS, reverse=True)
    for day, target in re.findall(r"\]\((\d{4}-\d{2}-\d{2})\.md#(\S+?)\)", text):
        digest = (tmp / "output" / f"{day}.md").read_text(encoding="utf-8")
        assert f"<a id='{target}'></a>" in digest


def test_feed_is_atom_with_one_entry_per_digest(three_days):
    tmp, _, _ = three_days
    root = ET.parse(tmp / "output" / "feed.xml").getroot()
    assert root.tag == f"{ATOM}feed"
    for tag in ("id", "title", "updated"):
        assert root.find(f"{ATOM}{tag}") is not None and root.find(f"{ATOM}{tag}").text
    entries = root.findall(f"{ATOM}entry")
    assert len(entries) == 3
    ids = set()
    for e in entries:
        for tag in ("id", "title", "updated"):
            assert e.find(f"{ATOM}{tag}").text
        assert re.match(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$", e.find(f"{ATOM}updated").text)
        assert "主要主题与趋势" in e.find(f"{ATOM}content").text
        ids.add(e.find(f"{ATOM}id").text)
    assert len(ids) == 3
    contents = [e.find(f"{ATOM}content").text for e in entries]
    assert len(set(contents)) == 3  # each entry carries its own date's summary


def test_each_digest_has_its_own_summary_with_resolving_picks(three_days):
    tmp, cfg, _ = three_days
    assert main(["render", "--date", DAYS[0], "--config", str(cfg)]) == 0  # re-render an older date
    for day in DAYS:
        text = (tmp / "output" / f"{day}.md").read_text(encoding="utf-8")
        summary = text.split("## 执行摘要", 1)[1].split("## 今日精选", 1)[0]
        picks = re.findall(r"\]\(#([^)]+)\)", summary)
        assert len(picks) == 2
        for pid in picks:
            assert f"<a id='{pid}'></a>" in text
