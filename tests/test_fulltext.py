"""PDF downloads for deep dives: through the arXiv gate, one retry that honours Retry-After, else None."""

from __future__ import annotations

import httpx

from digest.config import Config
from digest.fetch.fulltext import PdfFetcher
from digest.fetch.http import Gate
from tests.fakes.llm_server import minimal_pdf
from tests.helpers_sources import FakeClock

PDF = minimal_pdf("Full text.")


def _fetch(answers: list[httpx.Response | Exception]) -> tuple[bytes | None, list[str], FakeClock]:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    clock = FakeClock()
    gate = Gate(3.0, sleep=clock.sleep, clock=clock)
    with httpx.Client(transport=httpx.MockTransport(handler)) as http:
        return PdfFetcher(Config(), http, gate=gate).fetch("2505.23883"), seen, clock


def test_503_with_retry_after_then_the_pdf() -> None:
    data, seen, clock = _fetch(
        [httpx.Response(503, headers={"Retry-After": "4"}), httpx.Response(200, content=PDF)]
    )
    assert data == PDF and seen == ["/pdf/2505.23883"] * 2
    assert clock.sleeps == [4.0]  # the hint, longer than the 3 s backoff; the gate then needs no more


def test_two_failures_fall_back_to_the_abstract() -> None:
    data, seen, _ = _fetch([httpx.ConnectError("refused"), httpx.Response(502)])
    assert data is None and len(seen) == 2


def test_a_refusal_is_not_retried() -> None:
    data, seen, _ = _fetch([httpx.Response(403)])
    assert data is None and len(seen) == 1
