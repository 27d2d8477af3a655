"""The LLM log: the result cache, the call log (statistics, attempts, pacing) and the daily quota's state."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from typing import Any

from digest.store.base import Tables, Task, redacted, utc_now


class LlmLog(Tables):
    """Tables `cache` and `llm_calls`, and the quota's reset in `state`."""

    def cache_get(self, key: str, template: str, prompt_sha: str, model: str) -> tuple[dict, dict] | None:
        """(result, meta) of a cached successful call, or None."""
        rows = self._q(
            "SELECT result, meta FROM cache WHERE key = ? AND template = ? AND prompt_sha = ? AND model = ?",
            (key, template, prompt_sha, model),
        )
        return (json.loads(rows[0]["result"]), json.loads(rows[0]["meta"])) if rows else None

    def cache_latest(self, key: str, template: str) -> tuple[dict, dict] | None:
        """The newest cached result for a key and template, whatever prompt or model made it."""
        rows = self._q(
            "SELECT result, meta FROM cache WHERE key = ? AND template = ? ORDER BY created_at DESC, "
            "rowid DESC LIMIT 1",
            (key, template),
        )
        return (json.loads(rows[0]["result"]), json.loads(rows[0]["meta"])) if rows else None

    def cache_put(
        self, key: str, template: str, prompt_sha: str, model: str, *, result: dict, meta: dict, task: Task
    ) -> None:
        """Store a validated result and mark its task ok, in one transaction."""
        with self.tx() as db:
            db.execute(
                "INSERT OR REPLACE INTO cache VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    key,
                    template,
                    prompt_sha,
                    model,
                    json.dumps(result, ensure_ascii=False),
                    json.dumps(meta, ensure_ascii=False),
                    utc_now(),
                ),
            )
            db.execute(
                "INSERT OR REPLACE INTO tasks VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (task.date, task.key, task.template, "ok", task.attempts, None, None, None, utc_now()),
            )

    def log_call(
        self,
        *,
        date: dt.date | None,
        key: str | None,
        template: str | None,
        prompt_sha: str | None,
        model: str | None,
        outcome: str,
        http_status: int | None,
        error_kind: str | None,
        latency_s: float | None,
        tokens_in: int,
        tokens_out: int,
        error: str | None,
        tokens_thinking: int = 0,
        papers: list[str] | None = None,
    ) -> int:
        """Append one LLM request to the call log (`papers`: the ids a packed request carried); its row id."""
        with self.tx() as db:
            cur = db.execute(
                "INSERT INTO llm_calls (ts, date, key, template, prompt_sha, model, outcome, http_status, error_kind,"
                " latency_s, tokens_in, tokens_out, tokens_thinking, error, papers)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    utc_now(),
                    date.isoformat() if date else None,
                    key,
                    template,
                    prompt_sha,
                    model,
                    outcome,
                    http_status,
                    error_kind,
                    latency_s,
                    tokens_in,
                    tokens_out,
                    tokens_thinking,
                    redacted(error or "")[:300] or None,
                    json.dumps(papers) if papers else None,
                ),
            )
            return int(cur.lastrowid)

    def mark_call_invalid(self, call_id: int, *, kind: str, error: str | None) -> None:
        """The answer of a logged request failed validation: count it under its kind."""
        with self.tx() as db:
            db.execute(
                "UPDATE llm_calls SET outcome = 'invalid', error_kind = ?, error = ? WHERE id = ?",
                (kind, redacted(error or "")[:300] or None, call_id),
            )

    def requests_since(self, moment: dt.datetime) -> int:
        """LLM requests the server accepted since an aware moment, any date (429s do not use the quota)."""
        return self._q(
            "SELECT COUNT(*) FROM llm_calls WHERE ts >= ? AND outcome NOT IN "
            "('rate_limited', 'quota_exhausted')",
            (moment.astimezone(dt.UTC).isoformat(timespec="seconds"),),
        )[0][0]

    def set_quota_resets_at(self, when: dt.datetime) -> None:
        """Remember when the key's daily quota comes back: no request is sent before then."""
        with self.tx() as db:
            db.execute(
                "INSERT OR REPLACE INTO state VALUES ('llm.quota_resets_at', ?, ?)",
                (when.astimezone(dt.UTC).isoformat(), utc_now()),
            )

    def quota_resets_at(self) -> dt.datetime | None:
        """When the exhausted daily quota resets (aware, UTC), or None when it is not known to be exhausted now."""
        when = dt.datetime.fromisoformat(value) if (value := self.value("llm.quota_resets_at")) else None
        return when if when is not None and when > dt.datetime.now(dt.UTC) else None

    def call_stats(self, date: dt.date) -> dict[str, Any]:
        """Calls, errors by kind and tokens logged for a digest date."""
        return self._stats("date = ?", (date.isoformat(),))

    def call_stats_since(self, moment: dt.datetime) -> dict[str, Any]:
        """The same, over the calls made since an aware moment, whatever their digest date."""
        return self._stats("ts >= ?", (moment.astimezone(dt.UTC).isoformat(timespec="seconds"),))

    def last_call_id(self) -> int:
        """The id of the newest logged LLM request (0 when none): what a command made comes after it."""
        return int(self._q("SELECT COALESCE(MAX(id), 0) FROM llm_calls")[0][0])

    def attempts_by_paper(self, date: dt.date) -> Counter[str]:
        """Requests that carried each paper for a date, over every run (a packed request counts for each of
        its papers); 429s and quota refusals are not the paper's attempts and do not count."""
        used: Counter[str] = Counter()
        for r in self._q(
            "SELECT key, papers FROM llm_calls WHERE date = ? AND outcome NOT IN "
            "('rate_limited', 'quota_exhausted', 'auth')",
            (date.isoformat(),),
        ):
            used.update(json.loads(r["papers"]) if r["papers"] else [r["key"]])
        return used

    def call_stats_after(self, call_id: int) -> dict[str, Any]:
        """call_stats over the requests logged after `call_id` (one command's, under the store lock)."""
        return self._stats("id > ?", (call_id,))

    def recent_call_ages(self, seconds: float) -> list[float]:
        """How many seconds ago each LLM request of the last `seconds` was logged (any date, any process)."""
        now = dt.datetime.now(dt.UTC)
        since = (now - dt.timedelta(seconds=seconds)).isoformat(timespec="seconds")
        return [
            (now - dt.datetime.fromisoformat(r[0])).total_seconds()
            for r in self._q("SELECT ts FROM llm_calls WHERE ts >= ? AND outcome != 'rate_limited'", (since,))
        ]

    def _stats(self, where: str, args: tuple[Any, ...]) -> dict[str, Any]:
        row = self._q(
            "SELECT COUNT(*) n, COALESCE(SUM(tokens_in),0) ti, COALESCE(SUM(tokens_out),0) tout, "
            f"COALESCE(SUM(tokens_thinking),0) tth FROM llm_calls WHERE {where}",
            args,
        )[0]
        kinds = {
            r["error_kind"]: r["n"]
            for r in self._q(
                f"SELECT error_kind, COUNT(*) n FROM llm_calls WHERE {where} AND error_kind IS NOT NULL "
                "GROUP BY error_kind",
                args,
            )
        }
        return {
            "calls": row["n"],
            "tokens_in": row["ti"],
            "tokens_out": row["tout"],
            "tokens_thinking": row["tth"],
            "errors_by_kind": kinds,
        }
