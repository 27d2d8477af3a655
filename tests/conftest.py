"""Fixtures shared by the end-to-end tests: the fake arXiv/RSS/HF/PDF server and the API key; the `slow` marker."""

from __future__ import annotations

import signal

import pytest

from tests.e2e_helpers import KEY, KEY_ENV, LocalServer, services

# Tests of real processes or the real clock (kill -9, signals, libfaketime, a pty, a wheel installed into a fresh
# venv, two runs on one store, pacing against a rate window), marked `slow`: `pytest -m "not slow"` is the quick
# inner loop. The default run (`pytest`) runs them all; nothing is skipped. Listed here, by file, so that the
# marker stays in one place; a name that no longer exists in its file is an error, not a silently unmarked test.
SLOW = {
    "test_early_run.py": ["test_a_run_before_the_release_does_not_stop_the_schedulers_catch_up"],
    "test_install.py": ["test_wheel_in_a_fresh_venv_writes_a_digest_with_analyses"],
    "test_layers.py": ["test_read_only_commands_leave_google_genai_unloaded"],
    "test_ops.py": [
        "test_kill_9_at_random_moments_then_run_finishes_without_repeating_stored_work",
        "test_two_runs_on_one_store_second_waits_then_exits_1",
        "test_scheduler_fires_at_schedule_time_and_keeps_running",
    ],
    "test_quota.py": ["test_free_tier_day_of_forty_papers_fits_twenty_requests"],
    "test_scheduler.py": [
        "test_sigterm_to_run_mid_analysis_writes_the_digest_and_exits_3",
        "test_sigterm_to_schedule_mid_analysis_writes_the_digest_and_exits_0",
    ],
    "test_storage.py": ["test_a_waiting_run_says_once_that_it_waits_and_for_how_long"],
    "test_terminal.py": ["test_progress_on_a_terminal_shows_stage_and_n_of_n_and_logs_above_it"],
}


@pytest.hookimpl(tryfirst=True)  # before -m deselects by marker
def pytest_collection_modifyitems(config, items):
    checked: set[str] = set()
    for item in items:
        name = item.path.name
        if name not in SLOW:
            continue
        if name not in checked:
            checked.add(name)
            missing = [t for t in SLOW[name] if not hasattr(item.module, t)]
            if missing:
                raise pytest.UsageError(
                    f"tests/conftest.py SLOW names tests {name} does not define: {missing}"
                )
        if item.originalname in SLOW[name]:
            item.add_marker(pytest.mark.slow)


def pytest_addoption(parser):
    """`--update-golden`: rewrite the golden pages of tests/test_page.py (review the diff before committing)."""
    parser.addoption(
        "--update-golden",
        action="store_true",
        default=False,
        help="rewrite tests/fixtures/golden/*.md from the current renderer",
    )


@pytest.fixture(autouse=True)
def _signal_handlers_restored():
    """An in-process `digest run` or `schedule` sets SIGTERM/SIGINT handlers for its pipeline and leaves them: put
    back the worker's own, so that no later test (nor a Ctrl-C to the session) reaches a finished test's pipeline."""
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    yield
    for sig, handler in saved.items():
        if handler is not None:
            signal.signal(sig, handler)


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
