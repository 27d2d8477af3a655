"""Recorded days the page tests do not use (2025-06-04, -05), read as GitHub renders their Markdown."""

from __future__ import annotations

import html
import re
import unicodedata
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

from digest.cli import main
from tests.e2e_helpers import (
    LocalServer,
    keyed_days,
    llm_server,
    multi_day_services,
    read_digest,
    write_config,
)

DAYS = ["2025-06-04", "2025-06-05"]
ASKED = "2506.00123"  # on HF on 2025-06-04 (listed the day before), scoring above the day's last picks
_MD = MarkdownIt("commonmark").enable("table")
SITE = "https://example.org/cv/"
ATOM = "{http://www.w3.org/2005/Atom}"


@pytest.fixture(scope="module")
def days(tmp_path_factory):
    """Both days run in order, then a paper from the first day's table analysed on demand."""
    tmp = tmp_path_factory.mktemp("reading")
    with keyed_days(tmp, ["2025-06-03", *DAYS], output__site_url=SITE) as (cfg, llm):
        codes = [main(["run", "--date", day, "--config", str(cfg)]) for day in DAYS]
        before = llm.stats.requests
        codes.append(
            main(["analyze", "--date", DAYS[0], f"https://arxiv.org/abs/{ASKED}v1", "--config", str(cfg)])
        )
        asked_requests = llm.stats.requests - before
    yield tmp, codes, asked_requests


def _slug(text: str, seen: dict[str, int]) -> str:
    """GitHub's heading anchor: lowercase, punctuation but - and _ dropped, spaces to -, repeats get -1, -2."""
    slug = "".join(c for c in text.lower() if unicodedata.category(c)[0] in "LMN" or c in "-_ ").replace(
        " ", "-"
    )
    n = seen.get(slug)
    seen[slug] = 0 if n is None else n + 1
    return slug if n is None else f"{slug}-{n + 1}"


def _targets(text: str) -> tuple[set[str], list[str]]:
    """The anchors a reader can land on (headings and <a id>) and every link target of the page."""
    tokens = _MD.parse(text)
    seen: dict[str, int] = {}
    anchors = set(re.findall(r"<a id='([^']+)'></a>", text))
    anchors |= {
        _slug("".join(c.content for c in tokens[i + 1].children if c.type in ("text", "code_inline")), seen)
        for i, t in enumerate(tokens)
        if t.type == "heading_open"
    }
    links = [c.attrs["href"] for t in tokens for c in t.children or [] if c.type == "link_open"]
    return anchors, [str(h) for h in links]


def test_every_link_of_the_pages_leads_somewhere(days):
    tmp, codes, _ = days
    assert codes == [0, 0, 0]
    for day in DAYS:
        anchors, links = _targets(read_digest(tmp, day).text)
        inside = [h[1:] for h in links if h.startswith("#")]
        files = [h.split("#")[0] for h in links if not re.match(r"[a-z]+:|#", h)]
        assert len(inside) > 20 and set(inside) <= anchors, set(inside) - anchors
        assert files and all((Path(tmp) / "output" / f).exists() for f in files), files


def test_the_one_line_summary_is_a_line_of_its_own_as_rendered(days):
    tmp, _, _ = days
    html = _MD.render(read_digest(tmp, DAYS[1]).text)
    contents = html[
        html.index("<a id='contents'></a>") : html.index("<hr />", html.index("<a id='contents'></a>"))
    ]
    items = re.findall(r"<li>(.*?)</li>", contents, re.S)
    assert len(items) == 10
    for item in items:
        # a soft line break renders as a space on GitHub: the summary would run on after the badges
        badges, summary, why = re.split(r"\s*<br>\s*", item.strip())
        assert re.search(r"[\u4e00-\u9fff]", summary) and why.startswith("理由：")
        assert badges.endswith("</a></strong> — 评分 " + badges.rsplit("评分 ", 1)[-1])


def test_an_asked_paper_takes_its_place_by_score_as_the_rule_says(days):
    tmp, codes, asked_requests = days
    assert codes[2] == 0 and asked_requests <= 2
    text = read_digest(tmp, DAYS[0]).text
    rule = next(line for line in text.splitlines() if line.startswith("选文规则："))
    assert "另有 1 篇为按需分析" in rule and rule.endswith("按评分排序。")
    picks = re.findall(r"^\d+\. \*\*\[.+\]\(#([\d.]+)\)\*\* — 评分 ([\d.]+)", text, re.M)
    scores = [float(s) for _, s in picks]
    assert ASKED in [pid for pid, _ in picks] and min(scores) < float(dict(picks)[ASKED]) and len(picks) == 11
    assert scores == sorted(scores, reverse=True)
    sections = re.findall(r"^<a id='([\d.]+)'></a>", text, re.M)
    assert sections == [pid for pid, _ in picks]  # the sections follow the contents


def test_a_day_written_after_a_newer_one_is_linked_from_both_sides(tmp_path, no_key):
    with LocalServer(multi_day_services(["2025-06-03", *DAYS])) as server:
        cfg = write_config(tmp_path, arxiv_url=server.url)
        # a backfill: the newer day first, then the one before it, then one between two written days
        for day in ("2025-06-05", "2025-06-03", "2025-06-04"):
            assert main(["run", "--date", day, "--config", str(cfg)]) == 0
    pages = {day: read_digest(tmp_path, day).text for day in ("2025-06-03", *DAYS)}
    assert "[← 上一期 2025-06-04](2025-06-04.md)" in pages["2025-06-05"]
    assert "[← 上一期 2025-06-03](2025-06-03.md)" in pages["2025-06-04"]
    assert "[下一期 2025-06-05 →](2025-06-05.md)" in pages["2025-06-04"]
    assert "[下一期 2025-06-04 →](2025-06-04.md)" in pages["2025-06-03"]
    nav = {
        day: [ln for ln in page.splitlines() if "上一期" in ln or "下一期" in ln]
        for day, page in pages.items()
    }
    # (a paper listed on 06-03 and again on 06-05 links its 已见于 mark there: only the nav lines count here)
    assert "2025-06-05.md" not in str(nav["2025-06-03"]) and "2025-06-03.md" not in str(nav["2025-06-05"])


def test_a_feed_entry_lists_every_pick_with_its_link_and_one_line_summary(days):
    tmp, _, _ = days
    root = ET.parse(tmp / "output" / "feed.xml").getroot()
    for entry in root.findall(f"{ATOM}entry"):
        day = entry.find(f"{ATOM}title").text.rsplit(" ", 1)[-1]
        page = read_digest(tmp, day).text
        picks = re.findall(r"^\d+\. \*\*\[(.+)\]\(#([\d.]+)\)\*\*.*\n   <br>(.+)$", page, re.M)
        content = html.unescape(entry.find(f"{ATOM}content").text)
        assert len(picks) >= 10
        for title, anchor, one_line in picks:
            assert f'<a href="{SITE}{day}.md#{anchor}">{title}</a>：{one_line}' in content, title


def test_the_rule_says_papers_analysed_in_an_earlier_digest_are_not_picked_again(tmp_path, key):
    with LocalServer(multi_day_services(["2025-06-02", "2025-06-03"])) as server, llm_server() as llm:
        cfg = write_config(tmp_path, arxiv_url=server.url, llm_url=llm.url)
        assert [main(["run", "--date", d, "--config", str(cfg)]) for d in ("2025-06-02", "2025-06-03")] == [
            0,
            0,
        ]
    before = set(re.findall(r"^<a id='([\d.]+)'></a>", read_digest(tmp_path, "2025-06-02").text, re.M))
    text = read_digest(tmp_path, "2025-06-03").text
    rows = re.findall(r"^\| ([\d.]+) \| \[.*\]\(https://arxiv\.org/abs/([\d.]+)\)", text, re.M)
    done = [float(score) for score, pid in rows if pid in before]
    picks = [float(x) for x in re.findall(r"\)\*\* — 评分 ([\d.]+)", text)]
    # Cora (53 points, analysed on 06-02) tops the table: not a pick, and the rule line says why
    assert done and max(done) > max(picks)
    rule = next(line for line in text.splitlines() if line.startswith("选文规则："))
    assert f"往期已解读的 {len(done)} 篇不再重复选取" in rule
    others = [float(score) for score, pid in rows if pid not in before]
    assert ("评分最高的 10 篇" in rule) == (min(picks) >= max(others))
