"""Fixtures shared by the end-to-end tests: the fake arXiv/RSS/HF/PDF server and the API key."""

from __future__ import annotations

import pytest

from tests.e2e_helpers import KEY, KEY_ENV, LocalServer, services


def pytest_addoption(parser):
    """`--update-golden`: rewrite the golden pages of tests/test_page.py (review the diff before committing)."""
    parser.addoption(
        "--update-golden",
        action="store_true",
        default=False,
        help="rewrite tests/fixtures/golden/*.md from the current renderer",
    )


@pytest.fixture
def arxiv():
    """A local fake of arXiv (export API, RSS, PDFs) and HuggingFace; `.services` scripts its faults."""
    svc = services()
    with LocalServer(svc) as server:
        server.services = svc
        yield server


@pytest.fixture
def no_key(monkeypatch):
    """No LLM key in the environment."""
    monkeypatch.delenv(KEY_ENV, raising=False)


@pytest.fixture
def key(monkeypatch):
    """The fake LLM server's key in the environment."""
    monkeypatch.setenv(KEY_ENV, KEY)
