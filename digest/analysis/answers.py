"""What the store keeps of a run's jobs: the answer cache (keyed by the prompt's hash and the model) and
the task record of each job of the date."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel

from digest.analysis.job import Job
from digest.analysis.prompts import prompt_sha
from digest.errors import InvalidOutput
from digest.llm.policy import short_error
from digest.models import TaskStatus
from digest.store import Store, Task


def job_sha(job: Job) -> str:
    """The cache key of a job's prompt, schema and attachments."""
    return prompt_sha(job.template, job.prompt, job.schema, extra=job.attachment_tag)


class Answers:
    """Cached answers and task records of one date's jobs, for one model."""

    def __init__(self, store: Store, *, date: dt.date, model: str) -> None:
        self.store = store
        self.date = date
        self.model = model

    def task(self, job: Job, *, status: TaskStatus = TaskStatus.PENDING, attempts: int = 0) -> Task:
        """A new task record for a job of the date."""
        return Task(
            date=self.date.isoformat(), key=job.key, template=job.template, status=status, attempts=attempts
        )

    def has(self, job: Job) -> bool:
        """An answer to exactly this prompt is cached."""
        return self.store.cache_get(job.key, job.template, job_sha(job), self.model) is not None

    def reuse(self, job: Job) -> BaseModel | None:
        """The cached answer to this prompt, recorded as the date's answer (None: not cached)."""
        hit = self.store.cache_get(job.key, job.template, job_sha(job), self.model)
        if hit is None:
            return None
        result = job.schema.model_validate(hit[0])
        self.store.cache_put(
            job.key,
            job.template,
            job_sha(job),
            self.model,
            result=hit[0],
            meta=hit[1],
            task=self.task(job, status=TaskStatus.OK),
        )
        return result

    def keep(self, job: Job, result: BaseModel, task: Task, **meta: Any) -> None:
        """Store a validated answer and its task (ok), with the job's meta and `meta`."""
        self.store.cache_put(
            job.key,
            job.template,
            job_sha(job),
            self.model,
            result=result.model_dump(mode="json"),
            meta=dict(job.meta, **meta),
            task=task,
        )

    def record(self, task: Task) -> None:
        """Record a failed/pending task, unless an earlier answer for it is stored (a forced re-run that
        did not get through must not erase work already done)."""
        old = self.store.get_task(self.date, task.key, task.template)
        if (
            old is not None
            and old.status == TaskStatus.OK
            and self.store.cache_latest(task.key, task.template)
        ):
            return
        self.store.set_task(task)

    def request(
        self,
        *,
        key: str,
        template: str,
        sha: str,
        tasks: list[Task],
        papers: list[str] | None = None,
        on_sent: Callable[[], None] = lambda: None,
    ) -> RequestLog:
        """The call log of one logical request (its retries included) for the tasks it carries."""
        return RequestLog(
            self, key=key, template=template, sha=sha, tasks=tasks, papers=papers, on_sent=on_sent
        )


class RequestLog:
    """Every attempt of one logical request goes into the call log, and counts against llm.max_attempts
    of each paper it carried; `on_sent` is told of each (the run's caps count them)."""

    def __init__(
        self,
        answers: Answers,
        *,
        key: str,
        template: str,
        sha: str,
        tasks: list[Task],
        papers: list[str] | None,
        on_sent: Callable[[], None] = lambda: None,
    ) -> None:
        self.answers = answers
        self.key, self.template, self.sha, self.tasks, self.papers = key, template, sha, tasks, papers
        self.on_sent = on_sent
        self.calls: list[int] = []  # call-log ids, oldest first

    def __call__(self, rec: Any) -> None:
        """One attempt was made (policy.CallRecord)."""
        for task in self.tasks:
            task.attempts += 1
        self.on_sent()
        a = self.answers
        self.calls.append(
            a.store.log_call(
                date=a.date,
                key=self.key,
                template=self.template,
                prompt_sha=self.sha,
                model=a.model,
                outcome=rec.outcome,
                http_status=rec.status,
                error_kind=rec.error_kind,
                latency_s=rec.latency_s,
                tokens_in=rec.tokens_in,
                tokens_out=rec.tokens_out,
                tokens_thinking=rec.tokens_thinking,
                error=rec.error,
                papers=self.papers,
            )
        )

    def rejected(self, exc: InvalidOutput) -> None:
        """The answer of the last attempt failed validation: logged against it, under its kind."""
        if self.calls:
            self.answers.store.mark_call_invalid(
                self.calls[-1], kind=exc.kind, error=short_error(" ".join(str(exc).split()))
            )
