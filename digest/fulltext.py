"""Full texts for deep dives: the PDF from {sources.arxiv.pdf_url}/{id}, size-capped and polite."""

from __future__ import annotations

import logging
import threading
import time

import httpx

from digest.config import Config

log = logging.getLogger("digest.fulltext")


class PdfFetcher:
    """Downloads PDFs one at a time, at most one request per sources.arxiv.min_interval_s."""

    def __init__(self, cfg: Config, http: httpx.Client, *, sleep=time.sleep, clock=time.monotonic) -> None:
        self.base = cfg.sources.arxiv.pdf_url.rstrip("/")
        self.interval = cfg.sources.arxiv.min_interval_s
        self.timeout = cfg.sources.arxiv.timeout_s
        self.max_bytes = int(cfg.llm.pdf_max_mb * 1024 * 1024)
        self.http = http
        self._sleep, self._clock = sleep, clock
        self._lock = threading.Lock()
        self._last = float("-inf")

    def fetch(self, paper_id: str) -> bytes | None:
        """The PDF's bytes, or None (with a logged reason) when it cannot be had within the limits."""
        url = f"{self.base}/{paper_id}"
        with self._lock:
            wait = self._last + self.interval - self._clock()
            if wait > 0:
                self._sleep(wait)
            try:
                return self._download(url)
            except (httpx.HTTPError, ValueError) as exc:
                log.warning("full text of %s unavailable (%s); the deep dive uses the abstract", paper_id, exc)
                return None
            finally:
                self._last = self._clock()

    def _download(self, url: str) -> bytes:
        with self.http.stream("GET", url, timeout=self.timeout, follow_redirects=True) as resp:
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
        return data
