"""What the LLM is asked: jobs, packs of abstract analyses (each answer matched to its paper and judged alone),
outcomes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from digest.errors import InvalidOutput
from digest.ids import try_normalise_id
from digest.llm.base import Attachment
from digest.models import TaskStatus, Template


@dataclass
class Job:
    """One LLM request to make (or find in the cache)."""

    key: str  # paper id, or "summary" / "rerank:N"
    template: Template | str  # analysis_pack, rerank... (models.Template)
    prompt: str
    schema: type[BaseModel]
    attachments: list[Attachment] = field(default_factory=list)
    verify_against: str | None = None  # text the answer's figures must come from (the abstract)
    meta: dict[str, Any] = field(default_factory=dict)
    force: bool = False  # ignore the cache
    # Extra validation: raises InvalidOutput (re-ask), may tidy the result in place and return warnings.
    check: Callable[[BaseModel], list[str] | None] | None = None
    attachment_tag: str = ""  # stands for the attachments in the cache key (e.g. "2506.01234v1.pdf")
    load_attachments: Callable[[], list[Attachment] | None] | None = None  # only on a cache miss
    fallback: Job | None = None  # used when load_attachments gives None
    links: frozenset[str] = frozenset()  # links the paper gives (validate.links_in); others are dropped


@dataclass
class Outcome:
    job: Job
    status: TaskStatus
    result: BaseModel | None = None
    cached: bool = False
    error_kind: str | None = None
    error: str | None = None


@dataclass
class Pack:
    """Several abstract analyses asked in one request; each member is validated, re-asked and cached alone."""

    members: list[Job]
    render: Callable[[list[Job]], str]  # the pack's prompt for the members still to ask
    schema: type[BaseModel]
    template: str = "analysis_pack"


@dataclass
class Prior:
    """What an earlier request (a pack) left for a paper's own request."""

    attempts: int
    problem: InvalidOutput | None = None  # the rejection to correct; None: ask plainly
    raw: str | None = None
    figures_asked: bool = False


def pack_items(data: object, keys: set[str]) -> dict[str, dict[str, Any]]:
    """Each asked paper's analysis in a pack answer, by id in any spelling; unknown and repeated ids ignored.

    Besides the asked shape ({"analyses": [{"id": ...}, ...]}) models answer with a bare list, an object
    keyed by id, or the list under another name: each is read rather than re-asked paper by paper."""
    found: dict[str, dict[str, Any]] = {}
    for key, item in _pack_entries(data):
        pid = try_normalise_id(str(item.get("id") or key))
        if pid in keys and pid not in found:
            found[pid] = {k: v for k, v in item.items() if k != "id"}
    return found


def _pack_entries(data: object) -> list[tuple[str, dict[str, Any]]]:
    """(key it was filed under, analysis) of every object in a pack answer."""
    if isinstance(data, dict) and len(data) == 1 and "analyses" not in data:
        ((key, inner),) = data.items()
        if isinstance(inner, dict) and try_normalise_id(key) is None:  # {"response": {"analyses": ...}}
            data = inner
    if isinstance(data, dict):
        lists = [v for v in data.values() if isinstance(v, list)]
        if "analyses" in data:
            data = data["analyses"]
        elif len(data) == 1 and len(lists) == 1:  # {"results": [...]}: the asked list under another name
            data = lists[0]
    if isinstance(data, dict):  # {"2506.01234": {...}, ...}
        return [(str(k), v) for k, v in data.items() if isinstance(v, dict)]
    return [("", v) for v in data if isinstance(v, dict)] if isinstance(data, list) else []
