"""run / retry / analyze for one date: fetch, score, plan, analyse, render; every step resumable.

This module only orchestrates: what to ask is decided by digest.day.plan, how the date ends by
digest.day.verdict, and each stage lives in its own package.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable
from dataclasses import replace

import httpx

from digest.analysis.execute import record_spent, run_plan
from digest.analysis.rerank import rerank
from digest.analysis.session import Outcome, Session
from digest.config import Config
from digest.day.load import digest_path, load_day_state
from digest.day.named import resolve_ids
from digest.day.order import Command, Order
from digest.day.plan import plan
from digest.day.report import RunReport, nothing_stored
from digest.day.verdict import Verdict, unstored, verdict, written
from digest.errors import AuthError, ConfigError, DigestError, FetchError
from digest.fetch.arxiv import ArxivClient
from digest.fetch.day import NotYetAnnounced, papers_for_run
from digest.fetch.fulltext import PdfFetcher
from digest.fetch.http import USER_AGENT
from digest.llm.base import Provider
from digest.llm.policy import short_error
from digest.models import DayPapers
from digest.page import publish
from digest.score.rank import score_all
from digest.store import Store, open_store

log = logging.getLogger("digest.commands.pipeline")


class Pipeline:
    """The stages wired to a config; tests inject http, provider and a progress callback."""

    def __init__(
        self,
        cfg: Config,
        *,
        http: httpx.Client | None = None,
        provider: Provider | None = None,
        on_progress: Callable[[Outcome], None] | None = None,
        on_stage: Callable[[str, int | None], None] | None = None,
    ) -> None:
        self.cfg = cfg
        self.http = http or httpx.Client(headers={"User-Agent": USER_AGENT}, follow_redirects=True)
        self._provider = provider
        self.on_progress = on_progress
        self.on_stage = on_stage  # (stage name, how many LLM jobs it runs or None) as each stage starts
        self.session: Session | None = None
        self._stop_requested: str | None = None
        self._fetch_stopped = threading.Event()
        # one politeness gate for all arXiv traffic; its waits (and HF's) end at a stop during the fetch
        self.arxiv = ArxivClient(cfg.sources.arxiv, self.http, sleep=self._pause)

    # -- public commands -------------------------------------------------------------------------

    def run(self, date: dt.date, *, refresh: bool = False, refresh_analyses: bool = False) -> RunReport:
        """Fetch (or reuse), score, select, analyse what is missing, render."""
        return self.execute(date, Order.run(refresh_answers=refresh_analyses), refresh=refresh)

    def retry(self, date: dt.date, paper_ids: list[str] | None = None, *, by_hand: bool = False) -> RunReport:
        """Re-run failed/pending analyses (or exactly the named papers), then re-render. No fetching."""
        return self.execute(date, Order.retry(paper_ids or (), by_hand=by_hand))

    def analyze(self, date: dt.date, paper_ids: list[str]) -> RunReport:
        """Analyse papers listed on a date (any, not only the picks), update the summary, re-render."""
        return self.execute(date, Order.analyze(paper_ids))

    def execute(self, date: dt.date, order: Order, *, refresh: bool = False) -> RunReport:
        """Carry out `order` on `date` under the store lock, recording it in the runs table however it ends."""
        with open_store(self.cfg, lock=True) as store:
            calls_before = store.last_call_id()
            run_id = store.start_run(date, order.command)
            report, code, message = None, 1, "aborted"
            try:
                report = self._execute(store, date, order, refresh=refresh, calls_before=calls_before)
                return report
            except DigestError as exc:
                code, message = exc.exit_code, short_error(str(exc))
                raise
            finally:
                if report is None:
                    store.finish_run(run_id, status="failed", exit_code=code, message=message)
                else:
                    store.finish_run(
                        run_id, status=report.status, exit_code=report.exit_code, message=report.message
                    )

    def verdict(self, date: dt.date) -> Verdict:
        """How `date` stands as stored; the store is never created."""
        with open_store(self.cfg, create=False) as store:
            if store is None:
                return unstored(date, [], None, written=digest_path(self.cfg, date).exists())
            state = load_day_state(self.cfg, store, date)
            if state is None:
                return unstored(date, store.runs(date), store.quota_resets_at())
            return verdict(state)

    def close(self) -> None:
        """Release the HTTP connections."""
        self.http.close()

    def request_stop(self, reason: str = "stop requested (signal)") -> None:
        """Stop after the calls in flight; the rest stays pending."""
        self._stop_requested = reason
        if self.session is not None:
            self.session.stop(reason)
        else:  # still fetching: a backoff for a failing arXiv could hold the stop for minutes
            self._fetch_stopped.set()

    def _pause(self, seconds: float) -> None:
        """Wait between arXiv/HF requests (politeness, backoff); a stop during the fetch ends it instead."""
        if self._fetch_stopped.wait(seconds):
            raise FetchError(
                f"{self._stop_requested} while waiting for arXiv or HuggingFace; nothing new was "
                "stored (the next run fetches again)"
            )

    # -- stages ----------------------------------------------------------------------------------

    def _execute(
        self, store: Store, date: dt.date, order: Order, *, refresh: bool, calls_before: int
    ) -> RunReport:
        found = self._papers(store, date, order, refresh=refresh)
        if isinstance(found, RunReport):
            return found
        day, order = found
        session = self._session(store, date, order)
        if order.command == Command.RUN:
            self._stage("score")
            scored = score_all(day.entries, self.cfg.scoring, categories=self.cfg.sources.arxiv.categories)
            if self.cfg.scoring.llm_rerank and session is not None:
                scored = rerank(session, day, scored, self.cfg, on_stage=self._stage)
            store.save_scores(date, scored)
        state = load_day_state(self.cfg, store, date)
        work = plan(state, self.cfg, order, session.requests_left() if session is not None else None)
        if work.picks != state.picks or work.reasons != state.pick_reasons:
            store.save_selection(date, work.picks, work.reasons)
        if order.command == Command.RUN:
            store.delete_tasks(date, set(work.picks))  # tasks of papers no longer picked go
        if session is not None:
            record_spent(store, state, work)
            pdfs = PdfFetcher(self.cfg, self.http, gate=self.arxiv.gate)
            run_plan(session, day, work, self.cfg, load_pdf=pdfs.fetch, on_stage=self._stage)
        return self._render(store, date, order, calls_before)

    def _papers(
        self, store: Store, date: dt.date, order: Order, *, refresh: bool
    ) -> tuple[DayPapers, Order] | RunReport:
        """The day's papers (fetched by `run` when needed) and the order with its named ids resolved; a
        RunReport when there is nothing to do."""
        if order.command == Command.RUN:
            try:
                fetch = lambda: self._stage("fetch")  # noqa: E731
                return papers_for_run(
                    self.cfg, store, date, refresh=refresh, arxiv=self.arxiv, http=self.http, on_fetch=fetch
                ), order
            except NotYetAnnounced as exc:
                # released later: not settled, a later run (the scheduler's catch-up) fetches it; no
                # announcement at all (a weekend, a holiday): settled, nothing to run again
                return RunReport(date, "nothing" if exc.none else "not_yet", f"{exc}: no digest written")
        day = store.load_day(date)
        if day is None and order.named:
            raise ConfigError(f"nothing stored for {date}; run `digest run --date {date}` first")
        if day is None:
            return nothing_stored(date)
        if order.named:
            order = replace(order, named=tuple(resolve_ids(store, day, list(order.named))))
        return day, order

    def _stage(self, name: str, jobs: int | None = None) -> None:
        if self.on_stage is not None:
            self.on_stage(name, jobs)

    def _session(self, store: Store, date: dt.date, order: Order) -> Session | None:
        """The LLM session of the command; None without a key (`run` writes a metadata-only digest)."""
        self.session = Session.configured(
            self.cfg, store=store, date=date, provider=self._provider, on_progress=self.on_progress
        )
        if self.session is None and order.command != Command.RUN:
            what = (
                "retry analyses" if order.command == Command.RETRY and not order.named else "analyse papers"
            )
            raise AuthError(f"no API key: set the environment variable {self.cfg.llm.api_key_env} to {what}")
        if self.session is None:
            log.warning("%s; LLM analyses skipped, writing a metadata-only digest", self.cfg.key_not_set())
        elif self._stop_requested:
            self.session.stop(self._stop_requested)
        return self.session

    def _render(self, store: Store, date: dt.date, order: Order, calls_before: int) -> RunReport:
        self._stage("render")
        state = load_day_state(self.cfg, store, date)
        if state is None:
            return nothing_stored(date)
        path = publish.write_all(self.cfg, store, state)
        session = self.session
        if session is not None and session.auth_error is not None:
            raise session.auth_error
        return written(
            self.cfg,
            state,
            path,
            calls=store.call_stats_after(calls_before),
            order=order,
            stop=(session.stop_reason or session.held) if session else None,
            unfinished=session.unfinished if session else 0,
        )
