"""A stop (the scheduler's SIGTERM) while arXiv is being waited for ends the fetch at once, not after the backoff."""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest

from digest.commands.pipeline import Pipeline
from digest.config import load_config
from digest.errors import FetchError
from tests.e2e_helpers import DAY, write_config


def test_a_stop_during_arxivs_backoff_ends_the_fetch_within_a_second(tmp_path, arxiv, no_key):
    arxiv.services.api_faults = [503] * 20  # each answered with Retry-After: 5; 4 retries would wait ~47 s
    cfg = load_config(write_config(tmp_path, arxiv_url=arxiv.url, sources__arxiv__max_retries=4))
    pipe = Pipeline(cfg)

    def stop_after_the_first_request() -> None:
        while not arxiv.services.requests("api"):
            time.sleep(0.01)
        time.sleep(0.3)
        pipe.request_stop("stopped by SIGTERM")

    threading.Thread(target=stop_after_the_first_request, daemon=True).start()
    started = time.monotonic()
    try:
        with pytest.raises(FetchError, match="stopped by SIGTERM"):
            pipe.run(dt.date.fromisoformat(DAY))
    finally:
        pipe.close()
    assert time.monotonic() - started < 3
    assert len(arxiv.services.requests("api")) == 1  # no retry after the stop
