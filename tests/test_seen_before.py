"""A paper a digest lists again (yesterday's paper on today's HuggingFace list) says where the reader saw it."""

from __future__ import annotations

import re

from digest.cli import main
from tests.e2e_helpers import LocalServer, multi_day_services, read_digest, status_json, write_config

DAYS = ["2025-06-02", "2025-06-03"]
ON_HF_MONDAY = "2505.24867"  # in Monday's listing and on HuggingFace's Monday list


def test_yesterdays_paper_on_todays_hf_list_is_marked_with_the_digest_that_listed_it(
    tmp_path, no_key, capsys
):
    svc = multi_day_services(DAYS)
    with LocalServer(svc) as server:
        # lag 1: Tuesday's digest reads Monday's HF list, whose papers were mostly in Monday's digest
        cfg = write_config(tmp_path, arxiv_url=server.url, sources__huggingface__lag_days=1)
        for day in DAYS:
            assert main(["run", "--date", day, "--config", str(cfg)]) == 0
    monday, tuesday = (read_digest(tmp_path, d).text for d in DAYS)
    assert ON_HF_MONDAY in monday and "已见于" not in monday
    pick = next(ln for ln in tuesday.splitlines() if f"(#{ON_HF_MONDAY})" in ln)  # HF's top: a pick today
    assert "已见于 [06-02](2025-06-02.md)" in pick
    source = next(ln for ln in tuesday.split(f"<a id='{ON_HF_MONDAY}'></a>")[1].splitlines() if "来源" in ln)
    assert "已见于 [06-02](2025-06-02.md)" in source
    monday_ids = set(re.findall(r"arxiv\.org/abs/(\d{4}\.\d{5})", monday))
    marked = set()
    for line in tuesday.splitlines():
        if line.startswith("| ") and "已见于 06-02" in line:
            marked.update(re.findall(r"arxiv\.org/abs/(\d{4}\.\d{5})", line))
        elif line.startswith("- **来源：**") and "已见于" in line:
            marked.add("section")
    assert marked and marked - {"section"} <= monday_ids  # only papers Monday listed are marked
    unmarked = [
        ln
        for ln in tuesday.splitlines()
        if ln.startswith("| ") and "已见于" not in ln and any(i in ln for i in monday_ids)
    ]
    assert unmarked == []  # and every one of them that is in today's table
    st = status_json(capsys, cfg, DAYS[1])
    assert st["papers"]["seen_before"] >= len(marked - {"section"}) + 1


def test_a_paper_analysed_on_an_earlier_date_does_not_take_a_slot_again(tmp_path, key, capsys):
    from tests.e2e_helpers import llm_server

    svc = multi_day_services(DAYS)
    with LocalServer(svc) as server, llm_server() as llm:
        cfg = write_config(
            tmp_path,
            arxiv_url=server.url,
            llm_url=llm.url,
            sources__huggingface__lag_days=1,
            selection__analyze=3,
            selection__deep_dive=0,
        )
        assert main(["run", "--date", DAYS[0], "--config", str(cfg)]) == 0
        assert main(["analyze", "--date", DAYS[0], ON_HF_MONDAY, "--config", str(cfg)]) == 0
        monday = status_json(capsys, cfg, DAYS[0])
        assert main(["run", "--date", DAYS[1], "--config", str(cfg)]) == 0
        tuesday = status_json(capsys, cfg, DAYS[1])
    assert monday["analyses"]["ok"] == 4 and tuesday["analyses"]["ok"] == 3  # three new papers on Tuesday
    page = read_digest(tmp_path, DAYS[1]).text
    assert f"<a id='{ON_HF_MONDAY}'></a>" not in page  # Monday's analysis is not repeated on Tuesday...
    row = next(ln for ln in page.splitlines() if ln.startswith("| ") and f"abs/{ON_HF_MONDAY})" in ln)
    assert f"已见于 [06-02](2025-06-02.md#{ON_HF_MONDAY})" in row  # ...its row links to that analysis
    assert "HF 当日最热" in page  # the next HF paper not yet analysed takes the HF slot


def test_the_mark_of_a_paper_analysed_two_digests_ago_links_to_the_analysis_not_the_last_listing(
    tmp_path, no_key
):
    import datetime as dt

    from digest.config import load_config
    from digest.day.load import load_day_state
    from digest.models import DayPapers, Entry, Paper
    from digest.page.render import render_digest
    from digest.store import Store, Task

    cfg = load_config(write_config(tmp_path, arxiv_url="http://127.0.0.1:9"))
    paper = Paper(
        id="2506.01921",
        version=1,
        title="A title",
        abstract="An abstract.",
        authors=["A. Author"],
        categories=["cs.CV"],
        primary_category="cs.CV",
    )
    monday, tuesday, wednesday = (dt.date(2025, 6, d) for d in (2, 3, 4))
    store = Store(cfg.store.path)
    try:
        for day in (monday, tuesday, wednesday):  # listed three days running, analysed on Monday only
            store.save_day(DayPapers(date=day, announcement=None, entries=[Entry(paper=paper)]))
        store.set_task(Task(date=monday.isoformat(), key=paper.id, template="analysis", status="ok"))
        state = load_day_state(cfg, store, wednesday)
    finally:
        store.close()
    page = render_digest(state)
    assert f"已见于 [06-02](2025-06-02.md#{paper.id})" in page  # where the analysis is, not Tuesday's row
