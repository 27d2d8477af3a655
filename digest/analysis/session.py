"""Run LLM jobs: cache lookup, rate-limited calls under the run's caps, validation with bounded re-asks.

The caps and the stop switch live in digest.analysis.caps, the cache and task records in
digest.analysis.answers; this module asks the model and judges the answers."""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from pydantic import BaseModel

from digest.analysis.answers import Answers, job_sha
from digest.analysis.caps import Caps, Failed, Stopped, short_line
from digest.analysis.job import Job, Outcome, Pack, Prior, pack_items
from digest.analysis.patterns import FailureStreak, plain_reason
from digest.analysis.prompts import prompt_sha, prompts_dir, render_prompt
from digest.analysis.validate import invalid, parse_json, unverified_figures, validate
from digest.config import Config
from digest.errors import AuthError, InvalidOutput
from digest.language import labels
from digest.llm import build_provider
from digest.llm.base import Generation, Provider
from digest.llm.policy import short_error
from digest.llm.ratelimit import Limiter
from digest.models import PaperWarning, TaskStatus, Template
from digest.schemas import SUMMARY_TEMPLATE
from digest.store import Store, Task

__all__ = ["Job", "Outcome", "Session", "Stopped"]
log = logging.getLogger("digest.analysis.session")
PAPER_TEMPLATES = ("analysis", "deep_dive")
# A paper rejected this many times in a row for the same kind gives up early: the re-ask is not helping,
# and the attempts left are better spent on other papers (or saved when the failure is a pattern).
SAME_KIND_REJECTIONS = 3


class Session:
    """The LLM side of one run: provider, shared limiter, caps, the stop switch and the call log."""

    def __init__(
        self,
        cfg: Config,
        *,
        provider: Provider,
        store: Store,
        date: dt.date,
        prompts: Path,
        limiter: Limiter | None = None,
        on_progress: Callable[[Outcome], None] | None = None,
    ) -> None:
        self.cfg = cfg
        self.provider = provider
        self.store = store
        self.date = date
        self.prompts = prompts
        self.model = cfg.llm.model
        if limiter is None:
            limiter = Limiter(cfg.llm.rpm, cfg.llm.max_concurrency)
            limiter.seed(store.recent_call_ages(limiter.window_s))  # calls a previous process just made
        self.limiter = limiter
        self.on_progress = on_progress
        self.caps = Caps(cfg, store=store, limiter=limiter)
        self.answers = Answers(store, date=date, model=self.model)
        self.stop_kind: str | None = (
            None  # the failure kind of a pattern stop, kept on each task it leaves pending
        )
        self.unfinished = 0  # analyses/summary asked for in this run that did not get an answer
        self._streak = FailureStreak()
        self._lock = threading.Lock()

    @classmethod
    def configured(
        cls,
        cfg: Config,
        *,
        store: Store,
        date: dt.date,
        provider: Provider | None = None,
        on_progress: Callable[[Outcome], None] | None = None,
    ) -> Session | None:
        """A session on the configured provider (or `provider`); None when no LLM is configured (no key)."""
        if provider is None:
            if not cfg.llm_configured():
                return None
            cfg.check_api_key()  # never send a key that cannot be a header (the CLI checks it first)
            provider = build_provider(cfg.llm, cfg.api_key() or None)
        prompts = prompts_dir(cfg.llm.prompts_dir, language=cfg.language)
        return cls(cfg, provider=provider, store=store, date=date, prompts=prompts, on_progress=on_progress)

    # -- the caps, as the pipeline and the tests see them --------------------------------------------

    @property
    def stop_reason(self) -> str | None:
        """Why LLM work stopped for this run (None: it did not)."""
        return self.caps.stop_reason

    @property
    def held(self) -> str | None:
        """Why papers were held back so that the summary keeps its request (llm.rpd)."""
        return self.caps.held

    @property
    def auth_error(self) -> AuthError | None:
        """The provider refused the key: the command ends with it (exit 2) once the page is written."""
        return self.caps.auth_error

    def stop(self, reason: str) -> None:
        """Stop all LLM work: jobs not yet started stay pending."""
        self.caps.stop(reason)

    def requests_left(self) -> int | None:
        """Requests left today under llm.rpd (None: unknown)."""
        return self.caps.requests_left()

    # -- jobs ------------------------------------------------------------------------------------

    def run(self, items: Iterable[Job | Pack]) -> list[Outcome]:
        """Run jobs and packs concurrently (bounded by the limiter); a stop leaves the rest pending. Under llm.rpd
        every pack's request goes before any paper is asked alone (a paper's second request must not take the
        place of a pack's first, which answers several), and when today's requests cannot cover every item
        they go one after the other in the plan's order (its biggest pack first), not in a race."""
        items = list(items)
        left = self.requests_left()
        with ThreadPoolExecutor(max_workers=self.cfg.llm.max_concurrency, thread_name_prefix="llm") as pool:
            if left is not None and left <= len(items):
                firsts = [self._first_pass(item) for item in items]
            else:
                firsts = list(pool.map(self._first_pass, items))
            left = [jp for _, rest in firsts for jp in rest]
            alone = pool.map(lambda jp: self.run_one(jp[0], prior=jp[1]), left)
            done = dict(zip([j.key for j, _ in left], alone, strict=True))
        done.update({k: o for outcomes, _ in firsts for k, o in outcomes.items()})
        return [
            done[k]
            for it in items
            for k in ([m.key for m in it.members] if isinstance(it, Pack) else [it.key])
        ]

    def _first_pass(self, item: Job | Pack) -> tuple[dict[str, Outcome], list[tuple[Job, Prior | None]]]:
        """A job's outcome; or one request for a pack's members missing from the cache: their outcomes and the
        members left to ask alone (at once when no daily quota is shared, else after every pack)."""
        if not isinstance(item, Pack):
            return {item.key: self.run_one(item)}, []
        outcomes = {
            job.key: hit for job in item.members if not job.force and (hit := self._cached(job)) is not None
        }
        todo = [job for job in item.members if job.key not in outcomes]
        priors: dict[str, Prior] = {}
        if len(todo) > 1:
            tasks = {j.key: self.answers.task(j) for j in todo}
            try:
                priors, unusable = self._ask_pack(item, todo, tasks, outcomes)
                if unusable is not None:  # no answer to judge paper by paper (not JSON, cut off): once more
                    priors, _ = self._ask_pack(item, todo, tasks, outcomes, problem=unusable)
            except (Stopped, Failed) as exc:
                for job in todo:
                    outcomes[job.key] = self._unfinished(job, tasks[job.key], exc)
        rest = [(job, priors.get(job.key)) for job in todo if job.key not in outcomes]
        if self.caps.quota.rpd is None:
            return {**outcomes, **{job.key: self.run_one(job, prior=prior) for job, prior in rest}}, []
        return outcomes, rest

    def _ask_pack(
        self,
        pack: Pack,
        todo: list[Job],
        tasks: dict[str, Task],
        outcomes: dict[str, Outcome],
        problem: InvalidOutput | None = None,
    ) -> tuple[dict[str, Prior], InvalidOutput | None]:
        """One request for several papers; the answered ones are stored, the rest get what to re-ask (and
        the whole answer's problem when none could be read)."""
        prompt = pack.render(todo)
        if problem is not None:
            prompt = render_prompt(
                "reask",
                directory=self.prompts,
                prompt=prompt,
                field=problem.field,
                rule=problem.rule,
                evidence=problem.evidence,
            )
        sha = prompt_sha(pack.template, prompt, pack.schema)
        self.caps.reserve()
        on_call = self.answers.request(
            key=todo[0].key,
            template=pack.template,
            sha=sha,
            tasks=list(tasks.values()),
            papers=[j.key for j in todo],
            on_sent=self.caps.sent,
        )
        gen = self.caps.send(
            self.provider,
            prompt,
            schema=pack.schema,
            attachments=None,
            max_attempts=self.cfg.llm.max_attempts,
            on_call=on_call,
        )
        try:
            data = parse_json(gen, language=self.cfg.language)
        except InvalidOutput as exc:
            on_call.rejected(exc)
            return {k: Prior(t.attempts, exc, gen.text) for k, t in tasks.items()}, exc
        by_id = pack_items(data, set(tasks))
        priors: dict[str, Prior] = {}
        first_error: InvalidOutput | None = None
        for job in todo:
            task = tasks[job.key]
            if job.key not in by_id:
                priors[job.key] = Prior(task.attempts)  # left out: asked alone, with nothing to correct
                continue
            one = Generation(
                text=json.dumps(by_id[job.key], ensure_ascii=False), finish_reason=gen.finish_reason
            )
            try:
                result, warnings = self._validate(job, one)
            except InvalidOutput as exc:
                first_error = first_error or exc
                priors[job.key] = Prior(task.attempts, exc, one.text)
                continue
            figures = unverified_figures(result, job.verify_against) if job.verify_against is not None else []
            if figures:
                priors[job.key] = Prior(
                    task.attempts, self._figures_problem(figures), one.text, figures_asked=True
                )
                continue
            self.answers.keep(job, result, task, warnings=warnings, attempts=task.attempts, packed=len(todo))
            outcomes[job.key] = self._done(Outcome(job, TaskStatus.OK, result))
        if first_error is not None:
            on_call.rejected(first_error)
        return priors, None

    def _cached(self, job: Job) -> Outcome | None:
        result = self.answers.reuse(job)
        return None if result is None else self._done(Outcome(job, TaskStatus.OK, result, cached=True))

    def run_one(self, job: Job, *, prior: Prior | None = None) -> Outcome:
        """Answer one job from the cache or the model; never raises for the model's failures.

        `prior`: a pack request already carried this paper (its attempt counts, its rejection is re-asked)."""
        sha = job_sha(job)
        task = self.answers.task(job, attempts=prior.attempts if prior else 0)
        if not job.force and prior is None:
            hit = self._cached(job)
            if hit is not None:
                return hit
            fb = job.fallback
            if fb is not None and self.answers.has(fb):
                return self.run_one(fb)  # an earlier run fell back to the abstract: keep that answer
        try:
            if job.load_attachments is not None and not self.stop_reason:
                attachments = job.load_attachments()
                if attachments is None and job.fallback is not None:
                    return self.run_one(job.fallback)
                job.attachments = attachments or []
            result, warnings, attempts = self._ask(job, sha, task, prior or Prior(0))
        except (Stopped, Failed) as exc:
            return self._unfinished(job, task, exc)
        except Exception as exc:  # noqa: BLE001 - one paper's surprise must not cost the whole digest
            log.warning("%s %s failed unexpectedly: %s", job.template, job.key, short_error(str(exc)))
            log.debug("traceback", exc_info=True)
            return self._unfinished(
                job, task, Failed("error", short_error(f"{type(exc).__name__}: {exc}"), None)
            )
        task.attempts = attempts
        self.answers.keep(job, result, task, warnings=warnings, attempts=attempts)
        return self._done(Outcome(job, TaskStatus.OK, result))

    def _unfinished(self, job: Job, task: Task, exc: Stopped | Failed) -> Outcome:
        """Record a job that got no answer: pending after a stop, else failed with its kind."""
        if isinstance(exc, Stopped):
            task.error_kind = self.stop_kind  # why it waits, for the page (None: quota, cap, signal)
            self.answers.record(task)  # pending, attempts so far kept
            return self._done(
                Outcome(job, TaskStatus.PENDING, error_kind="stopped", error=self.stop_reason or self.held)
            )
        task.status, task.error_kind, task.last_error, task.last_raw = (
            TaskStatus.FAILED,
            exc.kind,
            exc.msg,
            exc.raw,
        )
        self.answers.record(task)
        return self._done(Outcome(job, TaskStatus.FAILED, error_kind=exc.kind, error=exc.msg))

    def _done(self, outcome: Outcome) -> Outcome:
        job = outcome.job
        if outcome.status != TaskStatus.OK and job.template != Template.RERANK:
            with self._lock:
                self.unfinished += 1
        if job.template in PAPER_TEMPLATES:
            if outcome.status == TaskStatus.OK and not outcome.cached:
                self._streak.success()
            elif outcome.status == TaskStatus.FAILED and self._streak.failure(
                job.key, outcome.error_kind or "error"
            ):
                if self.stop_reason is None:
                    self.stop_kind = outcome.error_kind or "error"
                self.stop(
                    plain_reason(
                        outcome.error_kind or "error", language=self.cfg.language, evidence=outcome.error
                    )
                )
        if self.on_progress:
            self.on_progress(outcome)
        return outcome

    def _validate(self, job: Job, gen: Generation) -> tuple[BaseModel, list[str]]:
        """The validated answer and the warnings its check gave (InvalidOutput when rejected)."""
        result = validate(gen, job.schema, language=self.cfg.language, links=job.links)
        return result, list(job.check(result) or []) if job.check is not None else []

    def _figures_problem(self, figures: list[str]) -> InvalidOutput:
        """The re-ask about figures that are not in the abstract."""
        language = self.cfg.language
        return invalid("figure", language=language, evidence=labels(language)["list_sep"].join(figures))

    def _ask(self, job: Job, sha: str, task: Task, prior: Prior) -> tuple[BaseModel, list[str], int]:
        max_attempts = self.cfg.llm.max_attempts
        problem, last_raw = (
            prior.problem,
            prior.raw,
        )  # what the previous answer got wrong, quoted by the re-ask
        figures_reasked = prior.figures_asked
        same = 1 if problem is not None else 0  # the same kind rejected this many times in a row
        while task.attempts < max_attempts and same < SAME_KIND_REJECTIONS:
            summary = job.template == SUMMARY_TEMPLATE
            self.caps.reserve(summary=summary)
            prompt = (
                job.prompt
                if problem is None
                else render_prompt(
                    "reask",
                    directory=self.prompts,
                    prompt=job.prompt,
                    field=problem.field,
                    rule=problem.rule,
                    evidence=problem.evidence,
                )
            )
            on_call = self.answers.request(
                key=job.key, template=job.template, sha=sha, tasks=[task], on_sent=self.caps.sent
            )
            gen = self.caps.send(
                self.provider,
                prompt,
                schema=job.schema,
                attachments=job.attachments or None,
                max_attempts=max_attempts - task.attempts,
                on_call=on_call,
                summary=summary,
            )
            try:
                result, warnings = self._validate(job, gen)
            except InvalidOutput as exc:
                on_call.rejected(exc)
                same = same + 1 if problem is not None and exc.kind == problem.kind else 1
                problem, last_raw = exc, gen.text
                log.info("%s %s: re-asking (%s)", job.template, job.key, exc)
                continue
            if job.verify_against is not None:
                figures = unverified_figures(result, job.verify_against)
                if figures and not figures_reasked and task.attempts < max_attempts:
                    figures_reasked = True
                    problem, same = self._figures_problem(figures), 0
                    log.info("%s %s: re-asking about figures %s", job.template, job.key, figures)
                    continue
                if figures:
                    warnings.append(PaperWarning(figures=figures).model_dump())
            return result, warnings, task.attempts
        if problem is None:
            raise Failed("invalid_output", "no valid answer", last_raw)
        raise Failed(problem.kind, short_line(str(problem)), last_raw)
