"""HuggingFace daily papers: parser on recorded payloads, fetch with one retry."""

from __future__ import annotations

import datetime as dt
import json

import httpx
import pytest

from digest.config import HuggingFaceConfig
from digest.errors import FetchError, ParseError
from digest.fetch.hf import HFPaper, fetch_hf, parse_hf
from tests.helpers_sources import FakeClock, fixture


def test_sample_item_all_fields() -> None:
    [paper] = parse_hf(fixture("hf_daily_papers_sample.json"))
    assert paper.id == "2602.23229"
    assert paper.title == "Large Multimodal Models as General In-Context Classifiers"
    assert paper.summary.startswith("Which multimodal model should we use for classification?")
    assert paper.authors == [
        "Marco Garosi",
        "Matteo Farina",
        "Alessandro Conti",
        "Massimiliano Mancini",
        "Elisa Ricci",
    ]
    assert (paper.upvotes, paper.github_stars) == (10, 9)
    assert paper.github_repo == "https://github.com/marco-garosi/CIRCLE"
    assert paper.project_page == "https://circle-lmm.github.io/"
    assert paper.ai_keywords[:2] == ["Vision-Language Models", "Large Multimodal Models"]
    assert paper.ai_summary is not None and paper.ai_summary.startswith("Large Multimodal Models demonstrate")
    assert paper.published_at == dt.datetime(2026, 2, 26, 17, 8, 18, tzinfo=dt.UTC)


def test_recorded_day_with_missing_optional_fields() -> None:
    raw = json.loads(fixture("days/hf_daily_papers_2025-06-02.json"))
    papers = parse_hf(fixture("days/hf_daily_papers_2025-06-02.json"))
    assert len(papers) == 20 and papers[0].id == "2505.24864"
    assert papers[0].title == (
        "ProRL: Prolonged Reinforcement Learning Expands Reasoning Boundaries in Large Language Models"
    )
    assert "\n" not in papers[0].summary
    no_repo = [p for p, r in zip(papers, raw, strict=True) if "githubRepo" not in r["paper"]]
    assert no_repo and all(p.github_repo is None and p.github_stars is None for p in no_repo)
    no_page = [p for p, r in zip(papers, raw, strict=True) if "projectPage" not in r["paper"]]
    assert no_page and all(p.project_page is None for p in no_page)
    no_ai = [p for p, r in zip(papers, raw, strict=True) if "ai_keywords" not in r["paper"]]
    assert len(no_ai) == 1 and no_ai[0].ai_keywords == [] and no_ai[0].ai_summary is None
    assert [p.upvotes for p in papers][:3] == [35, 28, 18]


def test_minimal_item_has_defaults() -> None:
    [paper] = parse_hf('[{"paper": {"id": "2505.00001"}}]')
    assert paper == HFPaper(id="2505.00001")
    assert paper.to_paper().title == "" and paper.to_paper().hf_upvotes is None


def test_top_level_title_and_odd_types_are_tolerated() -> None:
    text = json.dumps(
        [
            {
                "title": "Top title",
                "paper": {
                    "id": "2505.00002v2",
                    "upvotes": "many",
                    "githubStars": True,
                    "authors": [{"name": " A "}, "B", {}],
                    "ai_keywords": ["x", 3, " "],
                    "githubRepo": "",
                    "publishedAt": "not a date",
                },
            }
        ]
    )
    [paper] = parse_hf(text)
    assert (paper.id, paper.title, paper.authors, paper.ai_keywords) == (
        "2505.00002",
        "Top title",
        ["A"],
        ["x"],
    )
    assert (paper.upvotes, paper.github_stars, paper.github_repo, paper.published_at) == (
        None,
        None,
        None,
        None,
    )


def test_extras_feed_a_paper() -> None:
    [paper] = parse_hf(fixture("hf_daily_papers_sample.json"))
    extras = paper.extras()
    assert extras["hf_upvotes"] == 10 and extras["github_repo"].endswith("CIRCLE")
    assert paper.to_paper().categories == []


def test_empty_list() -> None:
    assert parse_hf("[]") == []


@pytest.mark.parametrize("text", ['{"error": "Invalid date"}', '"papers"', "null"])
def test_not_a_list_is_parse_error(text: str) -> None:
    with pytest.raises(ParseError, match="^HuggingFace daily_papers changed shape: expected a JSON list"):
        parse_hf(text)


@pytest.mark.parametrize("key", ["papers", "data"])
def test_the_recorded_list_wrapped_in_an_object_is_read(key: str) -> None:
    text = fixture("days/hf_daily_papers_2025-06-04.json")
    wrapped = json.dumps({key: json.loads(text), "total": 28, "next": None})
    assert parse_hf(wrapped) == parse_hf(text) and len(parse_hf(wrapped)) == 28


def test_not_json_is_parse_error() -> None:
    with pytest.raises(ParseError, match="changed shape: not JSON"):
        parse_hf("<html>502 Bad Gateway</html>")


def test_items_without_paper_id_are_parse_error_when_none_is_usable() -> None:
    with pytest.raises(ParseError, match="none of 2 items has paper.id"):
        parse_hf('[{"paper": {"title": "x"}}, {"id": "2505.00001"}]')


def test_single_malformed_item_is_skipped() -> None:
    papers = parse_hf(
        '[{"paper": {"title": "x"}}, {"paper": {"id": "2505.00001"}}, {"paper": {"id": "2505.00001"}}]'
    )
    assert [p.id for p in papers] == ["2505.00001"]  # and duplicates are dropped


# --- fetch ------------------------------------------------------------------------------------


def _fetch(
    responses: list[object], cfg: HuggingFaceConfig | None = None
) -> tuple[str | Exception, list[httpx.Request], FakeClock]:
    seen: list[httpx.Request] = []
    queue = list(responses)

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        answer = queue.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer  # type: ignore[return-value]

    clock = FakeClock()
    http = httpx.Client(transport=httpx.MockTransport(handler))
    try:
        result: str | Exception = fetch_hf(
            cfg or HuggingFaceConfig(), http, dt.date(2025, 6, 2), sleep=clock.sleep
        )
    except FetchError as exc:
        result = exc
    return result, seen, clock


def test_fetch_sends_date_and_returns_raw_text() -> None:
    result, seen, clock = _fetch([httpx.Response(200, text="[]")])
    assert result == "[]"
    assert str(seen[0].url) == "https://huggingface.co/api/daily_papers?date=2025-06-02"
    assert clock.sleeps == []


def test_fetch_retries_once_on_5xx() -> None:
    result, seen, clock = _fetch([httpx.Response(503), httpx.Response(200, text="[]")])
    assert result == "[]" and len(seen) == 2 and clock.sleeps == [2.0]


def test_fetch_gives_up_after_second_failure() -> None:
    result, seen, _ = _fetch([httpx.Response(500), httpx.ConnectError("refused")])
    assert isinstance(result, FetchError) and len(seen) == 2
    assert "ConnectError" in str(result) and "https://huggingface.co/api/daily_papers" in str(result)
    assert "\n" not in str(result)


def test_fetch_does_not_retry_4xx() -> None:
    result, seen, _ = _fetch([httpx.Response(404)])
    assert isinstance(result, FetchError) and "HTTP 404" in str(result) and len(seen) == 1


def test_fetch_timeouts_are_retried() -> None:
    result, seen, _ = _fetch([httpx.ReadTimeout("slow"), httpx.Response(200, text="[]")])
    assert result == "[]" and len(seen) == 2


def test_fetch_429_waits_as_long_as_retry_after_says() -> None:
    result, seen, clock = _fetch(
        [httpx.Response(429, headers={"Retry-After": "7"}), httpx.Response(200, text="[]")]
    )
    assert result == "[]" and len(seen) == 2 and clock.sleeps == [7.0]
