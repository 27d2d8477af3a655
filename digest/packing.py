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


@dataclass
class Job:
    """One LLM request to make (or find in the cache)."""

    key: str  # paper id, or "summary" / "rerank:N"
    template: str
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
    status: str  # ok | failed | pending
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
    """Each asked paper's analysis in a pack answer (list, or object keyed by id); unknown/repeated ids ignored."""
    items = data.get("analyses", data) if isinstance(data, dict) else data
    if isinstance(items, dict):  # an object keyed by id instead of a list: the key is the id
        items = [{**item, "id": item.get("id") or key} for key, item in items.items() if isinstance(item, dict)]
    found: dict[str, dict[str, Any]] = {}
    for item in items if isinstance(items, list) else []:
        pid = try_normalise_id(str(item.get("id", ""))) if isinstance(item, dict) else None
        if pid in keys and pid not in found:
            found[pid] = {k: v for k, v in item.items() if k != "id"}
    return found
