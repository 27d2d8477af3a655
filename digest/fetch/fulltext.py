"""Full texts for deep dives: the PDF from {sources.arxiv.pdf_url}/{id}, size-capped and polite."""

from __future__ import annotations

import logging

import httpx

from digest.config import Config
from digest.fetch.http import TRANSIENT_EXCEPTIONS, Gate, Transient, raise_if_transient

log = logging.getLogger("digest.fetch.fulltext")


class PdfFetcher:
    """Downloads PDFs one at a time through the arXiv politeness gate."""

    def __init__(self, cfg: Config, http: httpx.Client, *, gate: Gate | None = None) -> None:
        self.base = cfg.sources.arxiv.pdf_url.rstrip("/")
        self.gate = gate or Gate(cfg.sources.arxiv.min_interval_s)  # share the arXiv client's gate
        self.timeout = cfg.sources.arxiv.timeout_s
        self.max_bytes = int(cfg.llm.pdf_max_mb * 1024 * 1024)
        self.http = http

    def fetch(self, paper_id: str) -> bytes | None:
        """The PDF's bytes, or None (with a logged reason) when it cannot be had within the limits."""
        url = f"{self.base}/{paper_id}"

        def attempt() -> bytes:
            self.gate.wait_turn()
            return self._download(url)

        # One retry of a 429/5xx or network failure: the abstract is a fallback, not worth a long wait.
        with self.gate.lock:
            try:
                return self.gate.retry_policy(2)(attempt)
            except Exception as exc:  # noqa: BLE001 - any unusable PDF means: use the abstract
                log.warning(
                    "full text of %s unavailable (%s); the deep dive uses the abstract", paper_id, exc
                )
                return None

    def _download(self, url: str) -> bytes:
        try:
            return self._read(url)
        except TRANSIENT_EXCEPTIONS as exc:
            raise Transient.of(exc) from exc

    def _read(self, url: str) -> bytes:
        with self.http.stream("GET", url, timeout=self.timeout, follow_redirects=True) as resp:
            raise_if_transient(resp.status_code, resp.headers.get("Retry-After"))
            resp.raise_for_status()
            declared = int(resp.headers.get("content-length") or 0)
            if declared > self.max_bytes:
                raise ValueError(f"PDF is {declared} bytes, over llm.pdf_max_mb")
            chunks: list[bytes] = []
            size = 0
            for chunk in resp.iter_bytes():
                size += len(chunk)
                if size > self.max_bytes:
                    raise ValueError("PDF is over llm.pdf_max_mb")
                chunks.append(chunk)
        data = b"".join(chunks)
        if not data.startswith(b"%PDF"):
            raise ValueError("the response is not a PDF")
        pages = page_count(data)
        if pages == 0:
            raise ValueError("the PDF has no readable pages")
        return data


def page_count(data: bytes) -> int:
    """Pages pypdf can read in the PDF (0 when it cannot be parsed)."""
    import io

    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        return len(PdfReader(io.BytesIO(data)).pages)
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, IndexError, RecursionError, OSError):
        return 0
