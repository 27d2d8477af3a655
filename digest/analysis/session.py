"""Run LLM jobs: cache lookup, rate-limited calls, validation with bounded re-asks, tasks in the store."""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from digest.analysis.job import Job, Outcome, Pack, Prior, pack_items
from digest.analysis.patterns import FailureStreak, plain_reason
from digest.analysis.prompts import prompt_sha, render_prompt
from digest.analysis.quota import DailyQuota
from digest.analysis.validate import invalid, parse_json, unverified_figures, validate
from digest.config import Config, estimate_cost
from digest.errors import AuthError, InvalidOutput, LLMError, QuotaExhausted, RateLimited
from digest.language import labels
from digest.llm.base import Attachment, Generation, Provider
from digest.llm.policy import call_with_policy, short_error
from digest.llm.ratelimit import Limiter, LimiterStopped
from digest.models import PaperWarning
from digest.schemas import SUMMARY_TEMPLATE
from digest.store import Store, Task

log = logging.getLogger("digest.analysis.session")
PAPER_TEMPLATES = ("analysis", "deep_dive")
# A paper rejected this many times in a row for the same kind gives up early: the re-ask is not helping,
# and the attempts left are better spent on other papers (or saved when the failure is a pattern).
SAME_KIND_REJECTIONS = 3


class Stopped(Exception):
    """LLM work was stopped for this run (quota gone, bad key, budget cap, signal)."""


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
        self.calls = 0  # requests sent (every retry counts)
        self.reserved = 0  # requests about to be sent, counted against llm.max_calls_per_run
        self.stop_reason: str | None = None
        self.stop_kind: str | None = (
            None  # the failure kind of a pattern stop, kept on each task it leaves pending
        )
        self.unfinished = 0  # analyses/summary asked for in this run that did not get an answer
        self.auth_error: AuthError | None = None
        self._streak = FailureStreak()
        self._lock = threading.RLock()
        self.quota = DailyQuota(rpd=cfg.llm.rpd, tz=cfg.llm.quota_reset_tz, store=store)
        self.held: str | None = None  # papers held back so the summary keeps its request
        if self.quota.resets_at is not None:
            self.stop(self.quota.reason(cfg.tz))

    # -- stop switch and caps --------------------------------------------------------------------

    def stop(self, reason: str) -> None:
        """Stop all LLM work: jobs not yet started stay pending."""
        with self._lock:
            if self.stop_reason is None:
                self.stop_reason = reason
        self.limiter.stop()

    def requests_left(self) -> int | None:
        """Requests left today under llm.rpd (None: unknown)."""
        with self._lock:
            return self.quota.left(max(self.reserved, self.calls))

    def _check_caps(self, *, summary: bool = False) -> None:
        """Reserve one request under the caps, or raise Stopped."""
        llm = self.cfg.llm
        with self._lock:
            if self.stop_reason:
                raise Stopped(self.stop_reason)
            if llm.max_calls_per_run is not None and self.reserved >= llm.max_calls_per_run:
                # No new request; the ones already reserved still go (on_call stops the limiter after them).
                self.stop_reason = (
                    self.stop_reason or f"llm.max_calls_per_run ({llm.max_calls_per_run}) reached"
                )
                raise Stopped(self.stop_reason)
            if self._rpd_spent(summary=summary):
                self.held = f"llm.rpd ({llm.rpd}) requests per day: today's are used up"
                raise Stopped(self.held)
            self.reserved += 1  # reserved before sending: concurrent workers cannot overrun the cap
        if llm.max_cost_usd_per_day is not None:
            # per calendar day in `timezone`, whatever digest dates the calls were made for
            midnight = dt.datetime.combine(dt.datetime.now(self.cfg.tz).date(), dt.time(), tzinfo=self.cfg.tz)
            spent = estimate_cost(self.store.call_stats_since(midnight), self.cfg)
            if spent >= llm.max_cost_usd_per_day:
                self.stop(
                    f"llm.max_cost_usd_per_day ({llm.max_cost_usd_per_day:g} USD) reached: {spent:.4f} USD"
                )
                raise Stopped(self.stop_reason)

    def _may_retry(self, *, summary: bool = False) -> bool:
        """Reserve one more request for a retry (429, 5xx) unless it would eat the summary's under llm.rpd."""
        with self._lock:
            if self._rpd_spent(summary=summary):
                return False
            self.reserved += 1
            return True

    def _rpd_spent(self, *, summary: bool) -> bool:
        """Under llm.rpd, no request is left for this job."""
        left = self.requests_left()
        return left is not None and left <= (0 if summary else 1)  # the summary keeps the last request

    def _logger(
        self,
        *,
        key: str,
        template: str,
        sha: str,
        tasks: list[Task],
        calls: list[int],
        papers: list[str] | None = None,
    ) -> Callable[[Any], None]:
        def on_call(rec: Any) -> None:
            for task in tasks:
                task.attempts += 1  # every request counts against llm.max_attempts of each paper it carried
            with self._lock:
                self.calls += 1
                cap = self.cfg.llm.max_calls_per_run
                if cap is not None and self.calls >= cap:
                    self.stop(f"llm.max_calls_per_run ({cap}) reached")
                if self.quota.left(self.calls) == 0:  # llm.rpd used up: nothing more until the reset
                    self.quota.exhausted()
                    self.stop(self.quota.reason(self.cfg.tz))
            calls.append(
                self.store.log_call(
                    date=self.date,
                    key=key,
                    template=template,
                    prompt_sha=sha,
                    model=self.model,
                    outcome=rec.outcome,
                    http_status=rec.status,
                    error_kind=rec.error_kind,
                    latency_s=rec.latency_s,
                    tokens_in=rec.tokens_in,
                    tokens_out=rec.tokens_out,
                    tokens_thinking=rec.tokens_thinking,
                    error=rec.error,
                    papers=papers,
                )
            )

        return on_call

    def _rejected(self, calls: list[int], exc: InvalidOutput) -> None:
        """Log a validation failure against the request that got the answer, under its kind."""
        if calls:
            self.store.mark_call_invalid(calls[-1], kind=exc.kind, error=_short(str(exc)))

    # -- jobs ------------------------------------------------------------------------------------

    def run(self, items: Iterable[Job | Pack]) -> list[Outcome]:
        """Run jobs and packs concurrently (bounded by the limiter); a stop leaves the rest pending. Under llm.rpd
        every pack's request goes before any paper is asked alone (a paper's second request must not take the
        place of a pack's first, which answers several)."""
        items = list(items)
        with ThreadPoolExecutor(max_workers=self.cfg.llm.max_concurrency, thread_name_prefix="llm") as pool:
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
            tasks = {
                j.key: Task(date=self.date.isoformat(), key=j.key, template=j.template, status="pending")
                for j in todo
            }
            try:
                priors, unusable = self._ask_pack(item, todo, tasks, outcomes)
                if unusable is not None:  # no answer to judge paper by paper (not JSON, cut off): once more
                    priors, _ = self._ask_pack(item, todo, tasks, outcomes, problem=unusable)
            except (Stopped, _Failed) as exc:
                for job in todo:
                    outcomes[job.key] = self._unfinished(job, tasks[job.key], exc)
        rest = [(job, priors.get(job.key)) for job in todo if job.key not in outcomes]
        if self.quota.rpd is None:
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
        self._check_caps()
        calls: list[int] = []
        on_call = self._logger(
            key=todo[0].key,
            template=pack.template,
            sha=sha,
            tasks=list(tasks.values()),
            calls=calls,
            papers=[j.key for j in todo],
        )
        gen = self._call(
            prompt,
            schema=pack.schema,
            attachments=None,
            max_attempts=self.cfg.llm.max_attempts,
            on_call=on_call,
        )
        try:
            data = parse_json(gen, language=self.cfg.language)
        except InvalidOutput as exc:
            self._rejected(calls, exc)
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
            self.store.cache_put(
                job.key,
                job.template,
                self._sha(job),
                self.model,
                result=result.model_dump(mode="json"),
                meta=dict(job.meta, warnings=warnings, attempts=task.attempts, packed=len(todo)),
                task=task,
            )
            outcomes[job.key] = self._done(Outcome(job, "ok", result))
        if first_error is not None:
            self._rejected(calls, first_error)
        return priors, None

    def _cached(self, job: Job) -> Outcome | None:
        hit = self.store.cache_get(job.key, job.template, self._sha(job), self.model)
        if hit is None:
            return None
        task = Task(date=self.date.isoformat(), key=job.key, template=job.template, status="ok")
        result = job.schema.model_validate(hit[0])
        self.store.cache_put(
            job.key, job.template, self._sha(job), self.model, result=hit[0], meta=hit[1], task=task
        )
        return self._done(Outcome(job, "ok", result, cached=True))

    @staticmethod
    def _sha(job: Job) -> str:
        return prompt_sha(job.template, job.prompt, job.schema, extra=job.attachment_tag)

    def run_one(self, job: Job, *, prior: Prior | None = None) -> Outcome:
        """Answer one job from the cache or the model; never raises for the model's failures.

        `prior`: a pack request already carried this paper (its attempt counts, its rejection is re-asked)."""
        sha = self._sha(job)
        task = Task(
            date=self.date.isoformat(),
            key=job.key,
            template=job.template,
            status="pending",
            attempts=prior.attempts if prior else 0,
        )
        if not job.force and prior is None:
            hit = self._cached(job)
            if hit is not None:
                return hit
            fb = job.fallback
            if (
                fb is not None
                and self.store.cache_get(fb.key, fb.template, self._sha(fb), self.model) is not None
            ):
                return self.run_one(fb)  # an earlier run fell back to the abstract: keep that answer
        try:
            if job.load_attachments is not None and not self.stop_reason:
                attachments = job.load_attachments()
                if attachments is None and job.fallback is not None:
                    return self.run_one(job.fallback)
                job.attachments = attachments or []
            result, warnings, attempts = self._ask(job, sha, task, prior or Prior(0))
        except (Stopped, _Failed) as exc:
            return self._unfinished(job, task, exc)
        except Exception as exc:  # noqa: BLE001 - one paper's surprise must not cost the whole digest
            log.warning("%s %s failed unexpectedly: %s", job.template, job.key, short_error(str(exc)))
            log.debug("traceback", exc_info=True)
            return self._unfinished(
                job, task, _Failed("error", short_error(f"{type(exc).__name__}: {exc}"), None)
            )
        task.attempts = attempts
        meta = dict(job.meta, warnings=warnings, attempts=attempts)
        self.store.cache_put(
            job.key,
            job.template,
            sha,
            self.model,
            result=result.model_dump(mode="json"),
            meta=meta,
            task=task,
        )
        return self._done(Outcome(job, "ok", result))

    def _unfinished(self, job: Job, task: Task, exc: Stopped | _Failed) -> Outcome:
        """Record a job that got no answer: pending after a stop, else failed with its kind."""
        if isinstance(exc, Stopped):
            task.error_kind = self.stop_kind  # why it waits, for the page (None: quota, cap, signal)
            self._keep_or_set(task)  # pending, attempts so far kept
            return self._done(
                Outcome(job, "pending", error_kind="stopped", error=self.stop_reason or self.held)
            )
        task.status, task.error_kind, task.last_error, task.last_raw = "failed", exc.kind, exc.msg, exc.raw
        self._keep_or_set(task)
        return self._done(Outcome(job, "failed", error_kind=exc.kind, error=exc.msg))

    def _keep_or_set(self, task: Task) -> None:
        """Record a failed/pending task, unless an earlier answer for it is stored (a forced re-run that
        did not get through must not erase work already done)."""
        old = self.store.get_task(self.date, task.key, task.template)
        if old is not None and old.status == "ok" and self.store.cache_latest(task.key, task.template):
            return
        self.store.set_task(task)

    def _done(self, outcome: Outcome) -> Outcome:
        job = outcome.job
        if outcome.status != "ok" and job.template != "rerank":
            with self._lock:
                self.unfinished += 1
        if job.template in PAPER_TEMPLATES:
            if outcome.status == "ok" and not outcome.cached:
                self._streak.success()
            elif outcome.status == "failed" and self._streak.failure(job.key, outcome.error_kind or "error"):
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

    def _call(
        self,
        prompt: str,
        *,
        schema: type[BaseModel],
        attachments: list[Attachment] | None,
        max_attempts: int,
        on_call: Callable[[Any], None],
        summary: bool = False,
    ) -> Generation:
        """One logical request under the retry policy; the provider's errors become Stopped or _Failed."""
        try:
            return call_with_policy(
                self.provider,
                prompt,
                schema=schema,
                attachments=attachments,
                limiter=self.limiter,
                max_attempts=max_attempts,
                on_call=on_call,
                may_retry=lambda: self._may_retry(summary=summary),
            )
        except QuotaExhausted as exc:
            log.info("quota exhausted: %s", short_error(str(exc)))
            self.quota.exhausted()
            self.stop(self.quota.reason(self.cfg.tz))
            raise Stopped(self.stop_reason) from exc
        except AuthError as exc:
            self.auth_error = exc
            self.stop(f"invalid API key: {short_error(str(exc))}")
            raise Stopped(self.stop_reason) from exc
        except RateLimited as exc:
            # Still refused after every attempt, or told to wait longer than we would: the quota is
            # effectively gone for now. Keep the rest pending instead of failing paper after paper.
            wait = f" (server asks to wait {exc.retry_after:.0f} s)" if exc.retry_after else ""
            self.stop(f"rate limited{wait}: {short_error(str(exc))}")
            raise Stopped(self.stop_reason) from exc
        except LimiterStopped as exc:
            # Another worker stopped the limiter (quota, bad key, cap, signal): this one stays pending.
            raise Stopped(self.stop_reason or str(exc)) from exc
        except LLMError as exc:
            if self.stop_reason:
                raise Stopped(self.stop_reason) from exc
            raise _Failed(exc.kind, _short(str(exc)), None) from exc

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
            self._check_caps(summary=summary)
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
            calls: list[int] = []
            on_call = self._logger(key=job.key, template=job.template, sha=sha, tasks=[task], calls=calls)
            gen = self._call(
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
                self._rejected(calls, exc)
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
            raise _Failed("invalid_output", "no valid answer", last_raw)
        raise _Failed(problem.kind, _short(str(problem)), last_raw)


class _Failed(Exception):
    def __init__(self, kind: str, msg: str, raw: str | None) -> None:
        super().__init__(msg)
        self.kind, self.msg, self.raw = kind, msg, raw


def _short(text: str) -> str:
    return short_error(" ".join(text.split()))
