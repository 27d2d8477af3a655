"""The page a researcher reads first (issue 11): order, navigation, honest wording, the feed, one DayState.

Golden pages live in tests/fixtures/golden/; after a deliberate change to the page, rewrite them with
`pytest tests/test_page.py --update-golden` and review the diff.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import sqlite3
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import pytest

from digest.cli import main
from digest.commands.pipeline import Pipeline
from digest.commands.scheduler import Daily
from digest.config import load_config
from tests.e2e_helpers import (
    DAY,
    KEY,
    KEY_ENV,
    LocalServer,
    Reply,
    Services,
    llm_server,
    multi_day_services,
    read_digest,
    status_json,
    write_config,
)
from tests.fakes.answers import answer_for, template_of
from tests.helpers_sources import day_records, fixture, listing_rss

GOLDEN = Path(__file__).parent / "fixtures" / "golden"
DAYS = ["2025-06-02", "2025-06-03"]
SITE = "https://example.org/cv-digest/"
ATOM = "{http://www.w3.org/2005/Atom}"
CJK = re.compile(r"[\u4e00-\u9fff]")


def _sections(text: str) -> list[str]:
    """Each paper section, from its anchor to the next one (or the folded table)."""
    starts = [m.start() for m in re.finditer(r"<a id='(?!contents')[^']+'></a>", text)]
    end = text.find("<details>\n<summary>")
    bounds = starts + [end if end != -1 else len(text)]
    return [text[a:b] for a, b in zip(bounds, bounds[1:], strict=False)]


def _picks(text: str) -> list[str]:
    """The entries of today's picks (the contents), one string per paper."""
    block = text[
        text.index("<a id='contents'></a>") : text.index("\n---\n", text.index("<a id='contents'></a>"))
    ]
    return re.split(r"\n(?=\d+\. \*\*\[)", block)[1:]


@pytest.fixture(scope="module")
def two_days(tmp_path_factory):
    """Two recorded cs.CV days run in order, with output.site_url set."""
    tmp = tmp_path_factory.mktemp("page")
    mp = pytest.MonkeyPatch()
    mp.setenv(KEY_ENV, KEY)
    with LocalServer(multi_day_services(DAYS)) as server, llm_server() as llm:
        cfg = write_config(
            tmp,
            arxiv_url=server.url,
            llm_url=llm.url,
            selection__analyze=5,
            selection__deep_dive=1,
            output__site_url=SITE,
        )
        codes = [main(["run", "--date", day, "--config", str(cfg)]) for day in DAYS]
    mp.undo()
    yield tmp, cfg, codes


@pytest.fixture(scope="module")
def second_page(two_days):
    """The second recorded day's digest text (the day with a previous one)."""
    return read_digest(two_days[0], DAYS[1]).text


def test_analyses_come_before_the_long_table_which_is_folded(two_days, second_page):
    assert two_days[2] == [0, 0]
    text = second_page
    table = text.index("<details>\n<summary>其他论文（")
    rows = [m.start() for m in re.finditer(r"^\| [\d.]+ \| \[", text, re.M)]
    assert len(rows) > 200  # the recorded day's other papers
    assert text.index("<a id='contents'></a>") < min(m.start() for m in re.finditer(r"<a id='2", text))
    assert max(m.start() for m in re.finditer(r"<a id='2", text)) < table < min(rows)
    assert text.index("</details>", table) > max(rows)  # every row is inside the fold


def test_every_pick_has_its_chinese_one_line_summary_and_reasons(second_page):
    picks = _picks(second_page)
    assert len(picks) == 5
    for entry in picks:
        lines = entry.strip().splitlines()
        assert re.match(r"\d+\. \*\*\[.+\]\(#[\w.-]+\)\*\* — 评分 [\d.]+", lines[0]), lines[0]
        assert CJK.search(lines[1]) and (
            "一种高效且易于迁移的视觉新方法" in lines[1] or "先验引导的高效重建" in lines[1]
        ), lines[1]
        assert lines[2].startswith("   <br>理由：")
    assert "深度解读" in picks[0]  # the deep dive is badged


def test_sections_end_with_a_link_back_and_every_anchor_resolves(second_page):
    text = second_page
    sections = _sections(text)
    assert len(sections) == 5
    for sec in sections:
        assert sec.rstrip().removesuffix("---").rstrip().endswith("[↑ 目录](#contents)")
    anchors = set(re.findall(r"<a id='([^']+)'></a>", text))
    targets = re.findall(r"\]\(#([^)\s]+)\)", text)
    assert targets and set(targets) <= anchors


def test_the_rule_is_stated_and_highest_score_is_claimed_only_when_true(two_days):
    tmp, _, _ = two_days
    for day in DAYS:
        text = read_digest(tmp, day).text
        rules = [line for line in text.splitlines() if line.startswith("选文规则：")]
        assert len(rules) == 1 and text.count("评分最高") == rules[0].count("评分最高")
        pick_scores = [float(x) for x in re.findall(r"\)\*\* — 评分 ([\d.]+)", text)]
        table_scores = [float(x) for x in re.findall(r"^\| ([\d.]+) \| \[", text, re.M)]
        top = min(pick_scores) >= max(table_scores)
        assert ("评分最高的 5 篇" in rules[0]) == top
        if not top:
            assert "先选命中兴趣关键词的论文，再按评分补足，共 5 篇" in rules[0]
        hf_top = [p for p in _picks(text) if "HF 当日最热" in p]
        assert len(hf_top) == 1 and "HuggingFace 当日最热的 1 篇必选" in rules[0]


@pytest.mark.parametrize("llm_off", [False, True])
def test_picks_below_the_top_scores_are_not_called_highest_scoring(llm_off):
    from digest.page.render import render_digest
    from tests.test_render import full_view

    # An interest match scoring 10 was picked while papers scoring up to 90 were not (a metadata-only
    # digest keeps the stored selection too).
    text = render_digest(
        full_view(
            selected=["2506.00007"],
            results={},
            llm_off=llm_off,
            summary=None,
            pick_reasons={"2506.00007": "interest"},
        )
    )
    assert "评分最高" not in text
    rule = next(line for line in text.splitlines() if line.startswith("选文规则："))
    assert rule.startswith("选文规则：先选命中兴趣关键词的论文，再按评分补足，共 1 篇")
    assert text.index(rule) < text.index("<details>") and "| 90 | [Cora" in text


def test_digests_link_to_the_previous_and_next_day(two_days):
    tmp, _, _ = two_days
    first, second = read_digest(tmp, DAYS[0]).text, read_digest(tmp, DAYS[1]).text
    assert f"[← 上一期 {DAYS[0]}]({DAYS[0]}.md)" in second.split("## 执行摘要")[0]  # at the top...
    assert second.rstrip().splitlines()[-3].startswith(f"[← 上一期 {DAYS[0]}]")  # ...and at the bottom
    assert f"[下一期 {DAYS[1]} →]({DAYS[1]}.md)" in first  # the older digest was given its next link
    assert "上一期" not in first and "下一期" not in second


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.hrefs += [v or "" for k, v in attrs if k == "href"]


def test_feed_links_are_absolute_under_site_url_and_content_is_html(two_days):
    tmp, _, _ = two_days
    root = ET.parse(tmp / "output" / "feed.xml").getroot()
    hrefs = [el.get("href") for el in root.iter(f"{ATOM}link")]
    entries = root.findall(f"{ATOM}entry")
    assert len(entries) == 2 and len(hrefs) == 4  # the index, the feed itself, one per digest
    for entry in entries:
        content = entry.find(f"{ATOM}content")
        assert content.get("type") == "html"
        parser = _Links()
        parser.feed(content.text)
        hrefs += parser.hrefs
        assert "<h3>建议精读</h3>" in content.text and "<li><a href=" in content.text
        assert not re.search(r"<li>\d{4}\.\d{5}", content.text)  # picks are titles, not bare ids
    assert len(hrefs) > 4
    for href in hrefs:
        assert href.startswith(SITE) or href.startswith("https://arxiv.org/abs/"), href
    assert f"{SITE}{DAYS[1]}.md" in hrefs


def test_status_warns_about_relative_feed_links_only_without_site_url(two_days, capsys, tmp_path):
    tmp, cfg, _ = two_days
    st = status_json(capsys, cfg, DAYS[1])
    assert not [w for w in st["warnings"] if w["kind"] == "feed_links_relative"]
    bare = write_config(tmp_path, arxiv_url="http://127.0.0.1:9")
    st = status_json(capsys, bare, DAYS[1])
    assert [w["warning"] for w in st["warnings"] if w["kind"] == "feed_links_relative"][0].startswith(
        "output.site_url is not set: feed.xml links are relative"
    )


def test_feed_is_well_formed_whatever_the_text(tmp_path):
    from digest.page.publish import build_feed

    summary = {
        "themes": ["<b>&amp; \x0b \ufffe"],
        "highlights": ["]]>"],
        "directions": ["\x1b[31m"],
        "picks": [
            {
                "paper_id": "2506.00001",
                "title": 'A "quoted" <title> & co',
                "anchor": "2506.00001",
                "reason": "<script>",
                "audience": "&",
            }
        ],
    }
    feed = build_feed(
        [(dt.date(2025, 6, 2), {"papers": 1, "top": [], "summary": summary}, "2025-06-02T01:00:00+00:00")],
        site_url=SITE,
    )
    root = ET.fromstring(feed)
    content = root.find(f"{ATOM}entry/{ATOM}content").text
    assert "&lt;script&gt;" in content and "<script>" not in content
    assert (
        f'<a href="{SITE}2025-06-02.md#2506.00001">A &quot;quoted&quot; &lt;title&gt; &amp; co</a>' in content
    )


# ---------------------------------------------------------------- failed, pending and the summary


def _refusing_analyses(req):
    if template_of(req.prompt) in ("analysis", "analysis_pack"):
        return Reply(text="请提供论文的具体内容，我才能分析。")
    return Reply(text=answer_for(req.prompt))


def test_a_paper_that_failed_every_attempt_says_so_and_how_to_rerun_it(tmp_path, arxiv, key, capsys):
    with llm_server(responder=_refusing_analyses) as llm:
        cfg = write_config(
            tmp_path,
            arxiv_url=arxiv.url,
            llm_url=llm.url,
            selection__analyze=3,
            selection__deep_dive=1,
            llm__max_attempts=2,
        )
        assert main(["run", "--date", DAY, "--config", str(cfg)]) == 3
    text = read_digest(tmp_path).text
    assert "自动重试" not in text
    overview = text.splitlines()[2]
    assert "AI 解读 1/3 篇（含深度解读 1 篇），失败 2 篇" in overview and "待补" not in overview
    st = status_json(capsys, cfg)
    assert st["analyses"] == {"ok": 1, "failed": 2, "pending": 0} and not st["complete"]
    for failure in st["failures"]:
        pid = failure["paper"]
        command = f"digest retry --date {DAY} --paper {pid}"
        assert failure["retry"] == command and failure["attempts"] == 2
        section = next(s for s in _sections(text) if s.startswith(f"<a id='{pid}'></a>"))
        # a refusal is not JSON: the validation kind of the last answer, in words
        assert f"> ❌ 分析失败：模型多次未按要求给出 JSON（已尝试 2 次）。重新分析：`{command}`" in section


def test_summary_pending_agrees_in_page_status_exit_code_and_scheduler(tmp_path, arxiv, key, capsys):
    with llm_server() as llm:
        cfg = write_config(
            tmp_path, arxiv_url=arxiv.url, llm_url=llm.url, selection__analyze=2, selection__deep_dive=0
        )
        assert main(["run", "--date", DAY, "--config", str(cfg)]) == 0
    with sqlite3.connect(tmp_path / "output" / "digest.db") as db:  # as if the run stopped before the summary
        db.execute("DELETE FROM tasks WHERE template = 'executive_summary'")
    assert main(["render", "--date", DAY, "--config", str(cfg)]) == 3
    text = read_digest(tmp_path).text
    assert "## 执行摘要 (Executive Summary)\n\n> ⏳ 执行摘要尚未生成" in text
    st = status_json(capsys, cfg)
    assert st["summary"] == "pending" and st["analyses"]["pending"] == 0 and not st["complete"]
    daily = Daily(load_config(cfg), Pipeline)
    assert daily._unfinished(dt.date.fromisoformat(DAY))


# ---------------------------------------------------------------- golden pages


def _small_day() -> Services:
    """The first 12 papers of the recorded 2025-06-02 listing and their entries in that day's HF list."""
    records = day_records()[:12]
    keep = {r["id"] for r in records}
    hf = [p for p in json.loads(fixture("days/hf_daily_papers_2025-06-02.json")) if p["paper"]["id"] in keep]
    svc = Services(records=records, rss={"cs.CV": listing_rss(records)}, latency=0.0)
    svc.hf = {DAY: json.dumps(hf)}
    return svc


@pytest.mark.parametrize("language", ["zh", "en"])
def test_golden_page(tmp_path, monkeypatch, request, language):
    from tests.test_language_en import en_responder

    monkeypatch.setenv(KEY_ENV, KEY)
    responder = en_responder if language == "en" else (lambda req: Reply(text=answer_for(req.prompt)))
    with LocalServer(_small_day()) as server, llm_server(responder=responder) as llm:
        cfg = write_config(
            tmp_path,
            arxiv_url=server.url,
            llm_url=llm.url,
            language=language,
            selection__analyze=3,
            selection__deep_dive=1,
        )
        assert main(["run", "--date", DAY, "--config", str(cfg)]) == 0
        text = read_digest(tmp_path).text.replace(server.url, "http://fake-arxiv")  # the port changes per run
    golden = GOLDEN / f"{DAY}.{language}.md"
    if request.config.getoption("--update-golden"):
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(text, encoding="utf-8")
    assert golden.exists(), "no golden page yet: run pytest tests/test_page.py --update-golden and review it"
    assert text == golden.read_text(encoding="utf-8")


def test_pending_says_when_the_quota_resets_when_the_store_knows_it():
    from digest.page.render import render_digest
    from tests.test_render import full_view

    resets = dt.datetime(2025, 6, 2, 7, 0, tzinfo=dt.UTC)
    text = render_digest(
        full_view(quota_resets_at=resets, timezone="Asia/Shanghai", summary=None, summary_status="pending")
    )
    pending = _sections(text)[4]
    assert "> ⏳ 分析尚未完成（LLM 每日配额已用完，2025-06-02 15:00 CST 恢复）" in pending
    assert "> ⏳ 执行摘要尚未生成（LLM 每日配额已用完，2025-06-02 15:00 CST 恢复）" in text
    plain = render_digest(full_view())
    assert "> ⏳ 分析尚未完成（上次运行在分析它之前停止：配额、预算或中断）" in _sections(plain)[4]


def test_figure_warnings_cached_as_text_become_data_in_a_migration(tmp_path):
    from digest.day.load import stored_answer
    from digest.store import Store, Task
    from tests.fakes.answers import analysis

    path = tmp_path / "digest.db"
    store = Store(path)
    task = Task(date=DAY, key="2506.00001", template="analysis", status="ok")
    store.cache_put(
        "2506.00001",
        "analysis",
        "sha",
        "m",
        result=analysis(),
        meta={"warnings": ["unverified_figure: 97.31 dB, 12%"], "attempts": 2},
        task=task,
    )
    store.close()
    with sqlite3.connect(path) as db:  # as a store written before warnings were data left it
        db.execute("DELETE FROM schema_version WHERE version >= 8")  # 8 made warnings data
    store = Store(path)
    try:
        _, meta = stored_answer(store, dt.date.fromisoformat(DAY), "2506.00001", "analysis")
    finally:
        store.close()
    assert meta["warnings"] == [{"kind": "unverified_figure", "figures": ["97.31 dB", "12%"]}]
    assert meta["attempts"] == 2


def test_a_file_that_fails_its_check_never_replaces_the_old_one(tmp_path):
    from digest.store.files import atomic_write

    feed = tmp_path / "feed.xml"
    atomic_write(feed, "<feed/>\n", check=lambda tmp: ET.parse(tmp))
    with pytest.raises(ET.ParseError):
        atomic_write(feed, "<feed><entry></feed>\n", check=lambda tmp: ET.parse(tmp))
    assert feed.read_text(encoding="utf-8") == "<feed/>\n"
    assert [p.name for p in tmp_path.iterdir()] == ["feed.xml"]  # no temp file left behind
