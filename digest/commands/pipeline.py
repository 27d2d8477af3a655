"""run / retry / analyze for one date: fetch, score, select, analyse, render; every step resumable."""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager

import httpx

from digest.analysis.build import (
    SUMMARY_TEMPLATE,
    analysis_pack,
    deep_dive_job,
    rerank_job,
    summary_job,
    summary_key,
)
from digest.analysis.prompts import prompts_dir
from digest.analysis.quota import plan_day
from digest.analysis.session import Outcome, Session
from digest.config import Config
from digest.day.load import load_day_state, stored_answer
from digest.day.named import resolve_ids, with_asked
from digest.day.report import RunReport, nothing_stored, written
from digest.errors import AuthError, ConfigError, DigestError, FetchError
from digest.fetch.arxiv import ArxivClient
from digest.fetch.calendar import announcement_for
from digest.fetch.collect import SearchLagging, add_hf, collect_day
from digest.fetch.fulltext import PdfFetcher
from digest.fetch.http import USER_AGENT
from digest.ids import id_sort_key
from digest.llm import build_provider
from digest.llm.base import Provider
from digest.llm.policy import short_error
from digest.models import DayPapers, Scored
from digest.page import publish
from digest.score.rank import apply_rerank, rerank_batches, score_all, select, stable_picks
from digest.store import Store, Task
from digest.store.lock import store_lock

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
        self._calls_before = 0  # the call log's last id when this command took the store
        self.session: Session | None = None
        self._stop_requested: str | None = None
        self._fetch_stopped = threading.Event()
        # one politeness gate for all arXiv traffic; its waits (and HF's) end at a stop during the fetch
        self.arxiv = ArxivClient(cfg.sources.arxiv, self.http, sleep=self._pause)

    # -- public commands -------------------------------------------------------------------------

    def run(self, date: dt.date, *, refresh: bool = False, refresh_analyses: bool = False) -> RunReport:
        """Fetch (or reuse), score, select, analyse what is missing, render."""
        return self._recorded(
            date,
            "run",
            lambda store: self._run(store, date, refresh=refresh, refresh_analyses=refresh_analyses),
        )

    def retry(self, date: dt.date, paper_ids: list[str] | None = None, *, by_hand: bool = False) -> RunReport:
        """Re-run failed/pending analyses (or exactly the named papers), then re-render. No fetching.

        `by_hand` (the CLI, not the scheduler): a summary whose daily attempts are spent is asked again,
        as its page says `digest retry --date D` does; the scheduler's hourly retry leaves it.
        """
        return self._recorded(
            date, "retry", lambda store: self._retry(store, date, paper_ids, by_hand=by_hand)
        )

    def analyze(self, date: dt.date, paper_ids: list[str]) -> RunReport:
        """Analyse papers listed on a date (any, not only the picks), update the summary, re-render."""
        return self._recorded(
            date, "analyze", lambda store: self._named(store, date, paper_ids, rerun_picks=False)
        )

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

    @contextmanager
    def _locked_store(self) -> Iterator[Store]:
        with store_lock(self.cfg.store.path, timeout_s=self.cfg.store.lock_timeout_s):
            store = Store(self.cfg.store.path)
            self._calls_before = store.last_call_id()
            try:
                yield store
            finally:
                store.close()

    def _recorded(self, date: dt.date, command: str, body: Callable[[Store], RunReport]) -> RunReport:
        """Run a command under the store lock, recording it in the runs table however it ends."""
        with self._locked_store() as store:
            run_id = store.start_run(date, command)
            report = None
            code, message = 1, "aborted"
            try:
                report = body(store)
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

    def _run(self, store: Store, date: dt.date, *, refresh: bool, refresh_analyses: bool) -> RunReport:
        stored = store.load_day(date)
        day = None if refresh else stored
        if day is not None and day.hf_status == "unavailable" and self.cfg.sources.huggingface.enabled:
            day = self._refetch_for_hf(store, date, day)
        if day is None:
            try:
                day = self._fetch(date, stored=stored)  # a lagging search raises: the stored day stays
            except NotYetAnnounced as exc:
                # released later: not settled, a later run (the scheduler's catch-up) fetches it; no
                # announcement at all (a weekend, a holiday): settled, nothing to run again
                return RunReport(date, "nothing" if exc.none else "not_yet", f"{exc}: no digest written")
            store.save_day(day)
        if day.announcement is None and not day.entries:
            return RunReport(date, "nothing", f"{_no_announcement(date, self.cfg)}: no digest written")
        session = self._session(store, date)
        if session is None:
            log.warning("%s; LLM analyses skipped, writing a metadata-only digest", self.cfg.key_not_set())
        scored = self._score(day, session)
        store.save_scores(date, scored)
        # Scores move between runs (HF's upvotes come later): what is answered keeps its slot and template.
        held = self._held(store, day, answered=not refresh_analyses)
        fresh = select(day.entries, scored, self.cfg.selection, done=store.listed_before(date, analysed=True))
        picks, reasons = stable_picks(fresh, held, scored, self.cfg.selection)
        if (
            session is not None
        ):  # within the key's daily quota (llm.rpd): deep dives not yet made may become analyses
            made = {pid for pid, _, why in held if why != "asked"}
            planned = dict(
                plan_day(
                    [p for p in picks if p[0] not in made],
                    budget=session.requests_left(),
                    per_call=self.cfg.llm.papers_per_call,
                )[0]
            )
            picks = [(pid, planned.get(pid, tpl)) for pid, tpl in picks]
        store.save_selection(date, picks, reasons)
        store.delete_tasks(
            date,
            {(pid, tpl) for pid, tpl in picks}
            | {(summary_key(date.isoformat()), SUMMARY_TEMPLATE)}
            | {(t.key, t.template) for t in store.tasks(date) if t.template == "rerank"},
        )
        if session is not None:
            self._analyse(session, day, picks, force=refresh_analyses)
        return self._render(store, date)

    def _retry(self, store: Store, date: dt.date, paper_ids: list[str] | None, *, by_hand: bool) -> RunReport:
        if paper_ids:
            return self._named(store, date, paper_ids, rerun_picks=True)
        day = store.load_day(date)
        if day is None:
            return nothing_stored(date)
        session = self._session(store, date)
        if session is None:
            raise AuthError(
                f"no API key: set the environment variable {self.cfg.llm.api_key_env} to retry analyses"
            )
        self._analyse(session, day, store.load_selection(date), force=False, summary_by_hand=by_hand)
        return self._render(store, date)

    def _named(self, store: Store, date: dt.date, paper_ids: list[str], *, rerun_picks: bool) -> RunReport:
        """Analyse the named papers of a date: a paper not yet picked is added as asked for (cached answers
        reused); with rerun_picks (retry --paper) the picks among them are asked again."""
        day = store.load_day(date)
        if day is None:
            raise ConfigError(f"nothing stored for {date}; run `digest run --date {date}` first")
        ids = resolve_ids(store, day, paper_ids)
        before = store.load_selection(date)
        session = self._session(store, date)
        if session is None:
            raise AuthError(
                f"no API key: set the environment variable {self.cfg.llm.api_key_env} to analyse papers"
            )
        picks, reasons = with_asked(before, store.selection_reasons(date), ids)
        store.save_selection(date, picks, reasons)
        forced = {pid for pid, _ in before} & set(ids) if rerun_picks else set()
        self._analyse(
            session,
            day,
            [(pid, tpl) for pid, tpl in picks if pid in ids],
            force=False,
            forced=forced,
            all_picks=picks,
            summary_by_hand=True,
        )
        return self._render(store, date)

    def _refetch_for_hf(self, store: Store, date: dt.date, stored: DayPapers) -> DayPapers:
        """HuggingFace was down when the day was fetched: add its list to the stored day, never dropping papers."""
        try:
            day = self._fetch(date, stored=stored)
        except SearchLagging as exc:
            log.warning("%s; keeping the stored arXiv papers and adding HuggingFace's list", exc)
            day = add_hf(self.cfg, stored, arxiv=self.arxiv, http=self.http)
        except (DigestError, NotYetAnnounced) as exc:
            log.warning("could not fetch %s again for HuggingFace (%s); keeping the stored papers", date, exc)
            return stored
        if day.hf_status == "unavailable":
            return stored
        store.save_day(day)
        return day

    def _stage(self, name: str, jobs: int | None = None) -> None:
        if self.on_stage is not None:
            self.on_stage(name, jobs)

    def _fetch(self, date: dt.date, *, stored: DayPapers | None = None) -> DayPapers:
        self._stage("fetch")
        ann = announcement_for(date, self.cfg)
        if (
            ann is None
        ):  # no digest on such a date: nothing is asked (its HF list goes into the next digest's)
            raise NotYetAnnounced(_no_announcement(date, self.cfg), none=True)
        if ann.released > dt.datetime.now(dt.UTC):
            raise NotYetAnnounced(
                f"the arXiv announcement for {date} is released at {ann.released:%Y-%m-%d %H:%M %Z} "
                f"({ann.released.astimezone(self.cfg.tz):%Y-%m-%d %H:%M} {self.cfg.timezone}); run after that"
            )
        day = collect_day(self.cfg, date, ann, arxiv=self.arxiv, http=self.http, stored=stored)
        if day.hf_status == "unavailable":
            log.warning(
                "HuggingFace daily papers unavailable (%s); the digest has arXiv papers only", day.hf_error
            )
        elif day.hf_error:
            log.warning("HuggingFace: %s", day.hf_error)
        return day

    def _session(self, store: Store, date: dt.date) -> Session | None:
        key = self.cfg.api_key()
        provider = self._provider
        if provider is None:
            if not self.cfg.llm_configured():
                return None
            self.cfg.check_api_key()  # never send a key that cannot be a header (the CLI checks it first)
            provider = build_provider(self.cfg.llm, key or None)
        self.session = Session(
            self.cfg,
            provider=provider,
            store=store,
            date=date,
            prompts=prompts_dir(self.cfg.llm.prompts_dir, language=self.cfg.language),
            on_progress=self.on_progress,
        )
        if self._stop_requested:
            self.session.stop(self._stop_requested)
        return self.session

    def _score(self, day: DayPapers, session: Session | None) -> list[Scored]:
        self._stage("score")
        cats = self.cfg.sources.arxiv.categories
        scored = score_all(day.entries, self.cfg.scoring, categories=cats)
        if not (self.cfg.scoring.llm_rerank and session is not None):
            return scored
        by_id = {e.paper.id: e.paper for e in day.entries}
        batches = rerank_batches([s.id for s in scored], self.cfg.scoring.rerank_top)
        jobs = [
            rerank_job(i, [by_id[pid] for pid in batch], self.cfg, session.prompts)
            for i, batch in enumerate(batches)
        ]
        self._stage("score", len(jobs))
        merged = {s.id: s for s in scored}
        for out in session.run(jobs):
            if out.status != "ok":
                log.warning(
                    "rerank batch %s %s: %s; keeping the cheap score", out.job.key, out.status, out.error
                )
                continue
            judged: set[str] = set()
            for item in out.result.items:
                if item.id in merged and item.id not in judged:  # unknown ids and repeats are ignored
                    judged.add(item.id)
                    merged[item.id] = apply_rerank(
                        merged[item.id], item.relevance, item.reason, self.cfg.scoring
                    )
        return sorted(merged.values(), key=lambda s: (-s.score, s.id))

    @staticmethod
    def _held(store: Store, day: DayPapers, *, answered: bool) -> list[tuple[str, str, str | None]]:
        """Earlier picks that keep their slot: the ones asked for (`digest analyze`) and, unless `answered`
        is off, every one with an answer for the date (an answer is never redone in the other template)."""
        listed = {e.paper.id for e in day.entries}
        why = store.selection_reasons(day.date)
        return [
            (pid, tpl, why.get(pid))
            for pid, tpl in store.load_selection(day.date)
            if pid in listed
            and (why.get(pid) == "asked" or answered and stored_answer(store, day.date, pid, tpl) is not None)
        ]

    def _analyse(
        self,
        session: Session,
        day: DayPapers,
        picks: list[tuple[str, str]],
        *,
        force: bool,
        forced: Collection[str] = (),
        all_picks: list[tuple[str, str]] | None = None,
        summary_by_hand: bool = False,
    ) -> None:
        all_picks = all_picks or picks
        picks = self._within_budget(
            session.store, session.date, picks, exempt={pid for pid, _ in picks} if force else set(forced)
        )
        by_id = {e.paper.id: e for e in day.entries}
        prompts = session.prompts
        pdfs = PdfFetcher(self.cfg, self.http, gate=self.arxiv.gate)
        deep = [
            deep_dive_job(by_id[pid], self.cfg, prompts, pdfs.fetch)
            for pid, tpl in picks
            if tpl == "deep_dive"
        ]
        abstracts = [by_id[pid] for pid, tpl in picks if tpl != "deep_dive"]
        _, size = plan_day(picks, budget=session.requests_left(), per_call=self.cfg.llm.papers_per_call)
        packs = [
            analysis_pack(abstracts[i : i + size], self.cfg, prompts) for i in range(0, len(abstracts), size)
        ]
        for job in [*deep, *(j for p in packs for j in p.members)]:
            job.force = force or job.key in forced
            if job.fallback is not None:
                job.fallback.force = job.force
        self._stage("analyse", len(deep) + len(abstracts) + 1)  # + the summary
        # Packs first: they carry most papers per request; a pack of one is a plain analysis.
        session.run([*(p if len(p.members) > 1 else p.members[0] for p in packs), *deep])
        # The summary covers every analysed paper; its prompt changes (and it is redone) when they change,
        # not when scores reorder them: it lists them in id order.
        done = []
        for pid, tpl in sorted(all_picks, key=lambda p: id_sort_key(p[0])):
            answer = stored_answer(session.store, session.date, pid, tpl)
            if answer is not None:
                done.append((by_id[pid].paper, answer[0]))
        if not done:
            return
        job = summary_job(session.date.isoformat(), done, self.cfg, prompts)
        if force or summary_by_hand or not self._summary_spent(session.store, session.date):
            session.run([job])
        else:  # a command a person runs (retry, analyze) or --refresh-analyses tries again; the scheduler does not
            log.info(
                "the executive summary of %s failed its %d attempts for the day; not asked again",
                session.date,
                self.cfg.attempts_per_day(),
            )

    def _summary_spent(self, store: Store, date: dt.date) -> bool:
        """The summary failed and its llm.max_attempts_per_day are spent (its successes do not count)."""
        key = summary_key(date.isoformat())
        task = store.get_task(date, key, SUMMARY_TEMPLATE)
        return (
            task is not None
            and task.status == "failed"
            and store.attempts_by_paper(date)[key] >= self.cfg.attempts_per_day()
        )

    def _within_budget(
        self, store: Store, date: dt.date, picks: list[tuple[str, str]], *, exempt: Collection[str]
    ) -> list[tuple[str, str]]:
        """The picks still worth asking: a paper without an answer whose llm.max_attempts_per_day is spent
        stays failed (only a named retry or --refresh-analyses asks it again)."""
        budget, used = self.cfg.attempts_per_day(), store.attempts_by_paper(date)
        keep = []
        for pid, tpl in picks:
            if pid in exempt or used[pid] < budget or stored_answer(store, date, pid, tpl) is not None:
                keep.append((pid, tpl))
                continue
            log.info("%s %s: its %d attempts for %s are spent; not asked again", tpl, pid, used[pid], date)
            task = store.get_task(date, pid, tpl)
            if task is None or task.status != "failed":
                task = Task(
                    date=date.isoformat(),
                    key=pid,
                    template=tpl,
                    status="failed",
                    error_kind="budget",
                    last_error=f"llm.max_attempts_per_day ({budget}) spent; "
                    f"`digest retry --date {date} --paper {pid}` tries again",
                )
            task.attempts = used[pid]  # the status shows the whole day's attempts, not the last run's
            store.set_task(task)
        return keep

    def _render(self, store: Store, date: dt.date) -> RunReport:
        self._stage("render")
        state = load_day_state(self.cfg, store, date)
        if state is None:
            return nothing_stored(date)
        path = publish.write_all(self.cfg, store, state)
        stop = (self.session.stop_reason or self.session.held) if self.session else None
        if self.session is not None and self.session.auth_error is not None:
            raise self.session.auth_error
        return written(
            self.cfg,
            state,
            path,
            calls=store.call_stats_after(self._calls_before),
            stop=stop,
            unfinished=self.session.unfinished if self.session else 0,
        )


class NotYetAnnounced(Exception):
    """Nothing to fetch for the date (its announcement is still in the future, or `none` is): nothing stored."""

    def __init__(self, message: str, *, none: bool = False) -> None:
        super().__init__(message)
        self.none = none


def _no_announcement(date: dt.date, cfg: Config) -> str:
    hf = "; its HuggingFace list goes into the next digest" if cfg.sources.huggingface.enabled else ""
    return f"no arXiv announcement covers {date} ({date.strftime('%A')}){hf}"
