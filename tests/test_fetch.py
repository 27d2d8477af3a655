"""collect_day: the announcement from the export API, RSS additions, HF enrichment and HF-only papers."""

from __future__ import annotations

import datetime as dt
import json

import httpx
import pytest

from digest.config import Config
from digest.errors import FetchError, ParseError
from digest.fetch.arxiv import ArxivClient
from digest.fetch.collect import collect_day
from digest.ids import id_sort_key
from digest.models import DayPapers
from tests.helpers_sources import (
    ANNOUNCEMENT,
    DAY,
    HF_OLD_CV,
    LATE,
    OLDER_CROSS,
    FakeServices,
    LocalServer,
    day_records,
    fixture,
    listing_rss,
    standard_services,
)

HF_IN_LISTING = {
    "2505.24867",
    "2505.24878",
    "2505.24521",
    "2505.23941",
    "2505.24417",
    "2505.23926",
    "2505.24862",
    "2505.24517",
}
NEW_IDS = sorted((r["id"] for r in day_records() if r["categories"][0] == "cs.CV"), key=id_sort_key)
CROSS_IDS = sorted(
    (r["id"] for r in day_records() if r["categories"][0] != "cs.CV" and r["id"] != LATE), key=id_sort_key
)


def _cfg(*, arxiv: dict | None = None, hf: dict | None = None) -> Config:
    return Config.model_validate(
        {
            "sources": {
                "arxiv": {"page_size": 100, **(arxiv or {})},
                "huggingface": {"lag_days": 0, **(hf or {})},
            }
        }
    )


def _local(cfg: Config, url: str) -> Config:
    """`cfg` with every source endpoint on the local server at `url`."""
    arxiv = cfg.sources.arxiv.model_copy(update={"api_url": f"{url}/api/query", "rss_url": f"{url}/rss"})
    hf = cfg.sources.huggingface.model_copy(update={"api_url": f"{url}/api/daily_papers"})
    return cfg.model_copy(
        update={"sources": cfg.sources.model_copy(update={"arxiv": arxiv, "huggingface": hf})}
    )


def _run(
    services: FakeServices,
    cfg: Config | None = None,
    *,
    announcement: object = ANNOUNCEMENT,
    day: dt.date = DAY,
    stored: DayPapers | None = None,
) -> DayPapers:
    """collect_day against `services` on a real local HTTP server (the arxiv package speaks requests)."""
    with LocalServer(services) as server, httpx.Client(trust_env=False) as http:
        local = _local(cfg or _cfg(), server.url)
        arxiv = ArxivClient(local.sources.arxiv, http, sleep=services.clock.sleep, clock=services.clock)
        return collect_day(
            local,
            day,
            announcement,
            arxiv=arxiv,
            http=http,  # type: ignore[arg-type]
            stored=stored,
        )


def _ids(day: DayPapers, **where: object) -> list[str]:
    return [e.paper.id for e in day.entries if all(getattr(e, k) == v for k, v in where.items())]


def test_full_day_order_flags_and_enrichment() -> None:
    services = standard_services()
    day = _run(services)
    assert (day.date, day.announcement, day.hf_status, day.hf_error, day.rss_used) == (
        DAY,
        ANNOUNCEMENT,
        "ok",
        None,
        True,
    )
    # new submissions in id order, then cross-lists (incl. the older one only RSS knew), then HF-only
    assert [e.paper.id for e in day.entries] == NEW_IDS + CROSS_IDS + [HF_OLD_CV]
    assert LATE not in _ids(day)
    assert all(not e.cross_list for e in day.entries[: len(NEW_IDS)])
    assert all(e.cross_list for e in day.entries[len(NEW_IDS) : -1])
    assert {e.announce_type for e in day.entries[: len(NEW_IDS)]} == {"new"}
    older = next(e for e in day.entries if e.paper.id == OLDER_CROSS)
    assert (older.announce_type, older.source, older.paper.primary_category) == ("cross", "arxiv", "cs.CL")
    record = next(r for r in day_records() if r["id"] == OLDER_CROSS)
    assert older.paper.published == record["published"]  # hydrated from the export API, not the feed
    assert "2409.00001" not in _ids(day)  # RSS replacement never enters
    # HF: listed papers enriched, not duplicated
    assert set(_ids(day, on_hf=True, source="arxiv")) == HF_IN_LISTING
    unigeo = next(e.paper for e in day.entries if e.paper.id == "2505.24521")
    assert (unigeo.hf_upvotes, unigeo.ai_keywords != []) == (8, True)
    assert len(_ids(day)) == len(set(_ids(day)))
    hf_only = day.entries[-1]
    assert (hf_only.source, hf_only.on_hf, hf_only.cross_list) == ("huggingface", True, False)
    assert hf_only.paper.categories == ["cs.CV", "cs.AI"] and hf_only.paper.hf_upvotes == 13
    # one polite stream: 2 search pages, RSS, lookup of the RSS addition, HF list, lookup of HF outsiders
    # Monday's digest reads the HF lists of Saturday, Sunday and Monday (lag 0): no digest had them
    assert [r.kind for r in services.log] == ["api", "api", "rss", "api", "hf", "hf", "hf", "api"]
    arxiv_times = [r.at for r in services.log if r.kind != "hf"]
    assert all(b - a >= 3.0 for a, b in zip(arxiv_times, arxiv_times[1:], strict=False))
    assert services.requests("hf")[-1].params == {"date": "2025-06-02"}


def test_rss_of_another_date_is_ignored() -> None:
    services = standard_services()
    services.rss["cs.CV"] = listing_rss(day_records(), pub_date="Fri, 30 May 2025 00:00:00 -0400")
    day = _run(services)
    assert OLDER_CROSS not in _ids(day) and not day.rss_used
    assert all(e.announce_type is None for e in day.entries)
    assert len(day.entries) == 152 + 1


@pytest.mark.parametrize("feed", [None, "<rss><channel>", fixture("arxiv_rss_empty_holiday.xml")])
def test_missing_broken_or_holiday_rss_is_ignored(feed: str | None) -> None:
    services = standard_services()
    if feed is None:
        del services.rss["cs.CV"]
    else:
        services.rss["cs.CV"] = feed
    day = _run(services)
    assert OLDER_CROSS not in _ids(day) and not day.rss_used and len(day.entries) == 153


def test_rss_item_falls_back_to_feed_fields_when_lookup_fails() -> None:
    services = standard_services(id_list_status=503)
    day = _run(services, _cfg(arxiv={"max_retries": 1}))
    older = next(e for e in day.entries if e.paper.id == OLDER_CROSS)
    assert (older.announce_type, older.cross_list, older.paper.primary_category) == ("cross", True, "cs.CL")
    record = next(r for r in day_records() if r["id"] == OLDER_CROSS)
    assert (older.paper.title, older.paper.authors) == (record["title"], record["authors"])
    assert older.paper.published is None  # the feed has no dates
    # the HF-only lookup failed too: recorded, and unknown categories do not meet cs.CV
    assert day.hf_status == "ok" and day.hf_error is not None and "HTTP 503" in day.hf_error
    assert _ids(day, source="huggingface") == []


def test_hf_500_gives_arxiv_only_result() -> None:
    services = standard_services(hf_status=500)
    day = _run(services)
    assert day.hf_status == "unavailable"
    assert day.hf_error is not None and "HTTP 500" in day.hf_error and "\n" not in day.hf_error
    assert [e.paper.id for e in day.entries] == NEW_IDS + CROSS_IDS
    assert not any(e.on_hf or e.paper.hf_upvotes for e in day.entries)
    assert len(services.requests("hf")) == 2  # one retry


def test_hf_changed_shape_is_unavailable() -> None:
    services = standard_services()
    services.hf["2025-06-02"] = json.dumps({"papers": []})
    day = _run(services)
    assert day.hf_status == "unavailable" and "changed shape" in (day.hf_error or "")


def test_hf_empty_and_disabled() -> None:
    services = standard_services()
    services.hf.clear()
    assert _run(services).hf_status == "empty"
    services = standard_services()
    day = _run(services, _cfg(hf={"enabled": False}))
    assert day.hf_status == "disabled" and services.requests("hf") == []
    assert not any(e.on_hf for e in day.entries)


def test_hf_lag_days_picks_the_earlier_list() -> None:
    services = standard_services()
    day = _run(services, _cfg(hf={"lag_days": 1}), day=dt.date(2025, 6, 3))
    assert services.requests("hf")[0].params == {"date": "2025-06-02"}
    assert day.hf_status == "ok"


def test_hf_only_admitted_by_category() -> None:
    raw = json.loads(fixture("days/hf_daily_papers_2025-06-02.json"))
    upvotes = {r["paper"]["id"]: r["paper"]["upvotes"] for r in raw}
    outsiders = [i for i in upvotes if i not in HF_IN_LISTING]

    any_cat = _run(standard_services(), _cfg(hf={"categories": []}))
    hf_only = _ids(any_cat, source="huggingface")
    assert sorted(hf_only) == sorted(outsiders)
    assert [upvotes[i] for i in hf_only] == sorted((upvotes[i] for i in hf_only), reverse=True)
    prorl = next(e for e in any_cat.entries if e.paper.id == "2505.24864")
    assert prorl.cross_list and prorl.paper.primary_category == "cs.CL" and prorl.paper.hf_upvotes == 35

    cl_only = _run(standard_services(), _cfg(hf={"categories": ["cs.CL"]}))
    assert HF_OLD_CV not in _ids(cl_only, source="huggingface")
    assert "2505.24864" in _ids(cl_only, source="huggingface")

    cv = _run(standard_services())  # default: the arXiv categories
    assert _ids(cv, source="huggingface") == [HF_OLD_CV]


def test_without_cross_lists() -> None:
    day = _run(standard_services(), _cfg(arxiv={"include_cross_lists": False}))
    assert _ids(day, source="arxiv") == NEW_IDS
    # The setting is the arXiv source's: HF papers follow sources.huggingface.categories, so two
    # dropped cross-lists that HF lists (and which have cs.CV) come back as HF-only entries.
    assert set(_ids(day, source="huggingface")) == {HF_OLD_CV, "2505.24878", "2505.23941"}
    assert set(_ids(day, cross_list=True)) == {"2505.24878", "2505.23941"}


def test_two_categories_dedupe_and_cross_list_by_both() -> None:
    services = standard_services()
    day = _run(services, _cfg(arxiv={"categories": ["cs.CV", "eess.IV"]}))
    ids = _ids(day)
    assert len(ids) == len(set(ids))
    eess = [e for e in day.entries if e.paper.primary_category == "eess.IV"]
    assert eess and not any(e.cross_list for e in eess)
    queries = [r.params["search_query"] for r in services.requests("api") if r.params.get("search_query")]
    assert {q.split(" ")[0] for q in queries} == {"cat:cs.CV", "cat:eess.IV"}


def test_no_announcement_means_hf_only() -> None:
    services = standard_services()
    day = _run(services, announcement=None)
    assert day.announcement is None and not day.rss_used
    assert _ids(day) == _ids(day, source="huggingface")
    assert HF_OLD_CV in _ids(day) and "2505.24521" in _ids(day)  # cs.CV papers from the HF list
    assert "2505.24864" not in _ids(day)  # ProRL is cs.CL
    assert all(not r.params.get("search_query") for r in services.requests("api"))
    assert services.requests("rss") == []


def test_arxiv_failure_propagates() -> None:
    services = standard_services(api_faults=[503] * 10)
    with pytest.raises(FetchError, match="HTTP 503"):
        _run(services, _cfg(arxiv={"max_retries": 2}))
    assert services.requests("hf") == []

    def broken(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, text="<feed><entry>")

    services = standard_services()
    services.handle = broken  # type: ignore[method-assign]
    with pytest.raises(ParseError, match="malformed Atom"):
        _run(services)


def test_search_lagging_against_feed_and_stored_copy_but_not_on_an_empty_listing() -> None:
    from digest.fetch.collect import SearchLagging

    services = standard_services(indexed=60)  # 60 of 152: far fewer than the feed's 153
    with pytest.raises(SearchLagging, match="returned 60 papers .* but arXiv's RSS feed lists 153"):
        _run(services)
    assert services.requests("hf") == []  # nothing more is asked once the day is known to be incomplete

    services = standard_services(indexed=0)
    services.rss["cs.CV"] = fixture("arxiv_rss_empty_holiday.xml").replace(
        "Wed, 31 Dec 2025", "Mon, 02 Jun 2025"
    )  # the feed says: no announcement on this listing date
    day = _run(services)
    assert _ids(day, source="arxiv") == [] and day.rss_used


def test_a_fetch_with_a_stored_copy_only_adds() -> None:
    full = _run(standard_services())
    services = standard_services(indexed=120)  # over half of the 153 stored: indexed, yet 32 short
    del services.rss["cs.CV"]
    day = _run(services, stored=full)
    assert [e.paper.id for e in day.entries] == [e.paper.id for e in full.entries]
    assert day.hf_status == "ok"
