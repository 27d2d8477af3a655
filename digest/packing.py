"""Packs: several abstract analyses in one request, each answer matched to its paper and judged alone."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from digest.errors import InvalidOutput
from digest.ids import try_normalise_id

if TYPE_CHECKING:
    from digest.analyze import Job


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
    """Each asked paper's analysis in a pack answer, by id in any spelling; unknown and repeated ids ignored."""
    items = data.get("analyses") if isinstance(data, dict) else data
    found: dict[str, dict[str, Any]] = {}
    for item in items if isinstance(items, list) else []:
        pid = try_normalise_id(str(item.get("id", ""))) if isinstance(item, dict) else None
        if pid in keys and pid not in found:
            found[pid] = {k: v for k, v in item.items() if k != "id"}
    return found
