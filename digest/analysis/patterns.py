"""When failures are a pattern, not bad luck: the same kind for several papers in a row, said in plain words."""

from __future__ import annotations

import threading

from digest.language import LANGUAGES

SAME_FAILURES = 3  # papers in a row failing the same way stop the run's LLM work


class FailureStreak:
    """Final failures since the last success, by kind. Kinds are counted apart because concurrent
    workers interleave: deep dives failing one way must not hide abstracts failing another way."""

    def __init__(self, limit: int = SAME_FAILURES) -> None:
        self.limit = limit
        self._papers: dict[str, set[str]] = {}
        self._lock = threading.Lock()

    def success(self) -> None:
        """A paper got its answer: earlier failures were not a pattern."""
        with self._lock:
            self._papers.clear()

    def failure(self, paper: str, kind: str) -> bool:
        """Record a paper's final failure; True when `limit` different papers failed for `kind` with no
        success in between."""
        with self._lock:
            papers = self._papers.setdefault(kind, set())
            papers.add(paper)
            return len(papers) >= self.limit


def plain_reason(kind: str, *, language: str, evidence: str | None, papers: int = SAME_FAILURES) -> str:
    """Why LLM work stopped, in words a reader acts on."""
    said = f": {evidence}" if evidence else ""
    text = {
        "language": f"the model answers in {_wrong_language(language)} while "
        f"`language: {language}` (use a model that writes {language}, or change `language`)",
        "refusal": f"the model refuses{said}",
        "filler": f"the model opens its answers with filler instead of the analysis{said}",
        "not_json": f"the model does not answer with valid JSON{said}",
        "truncated": "the model's answers are cut off (MAX_TOKENS); raise llm.max_output_tokens or lower "
        "llm.papers_per_call",
        "schema": f"the model's answers miss the expected JSON fields{said}",
        "shape": f"the model's short fields (field, links, ids) are malformed{said}",
    }.get(kind, f"every answer fails with {kind}{said}")
    return f"{text}; {papers} papers in a row failed the same way, so LLM work stopped for this run"


def _wrong_language(code: str) -> str:
    row = LANGUAGES.get(code)
    return row.wrong_language if row is not None else "another language"
