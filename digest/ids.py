"""arXiv paper ids: one parser for every spelling a person, a feed or a model uses."""

from __future__ import annotations

import re

# New-style 2510.14968 (4-5 digit number since 2015) or old-style math/0601001, math.GT/0309136, solv-int/9901001.
_ID = re.compile(
    r"(?P<id>(?<![\d.])\d{4}\.\d{4,5}|(?<![A-Za-z.-])[A-Za-z][A-Za-z.-]*/\d{7})(?:v(?P<v>\d+))?"
    r"(?:\.pdf)?/?(?:[?#].*)?$"
)
# What is around an id when a model echoes the prompt's "[2510.14968]" or quotes it: not part of it.
_WRAPPING = "[]()<>{}\"'`“”‘’【】「」 \t\n"
_PREFIX = re.compile(r"^(?:arxiv\s*:\s*|https?://(?:www\.|export\.)?arxiv\.org/(?:abs|pdf|html)/)", re.I)


def parse_id(text: object) -> tuple[str, int | None]:
    """'arXiv:2510.14968v1', 'https://arxiv.org/pdf/2510.14968v1.pdf', 'cs/0601001' -> (id, version).

    Raises ValueError when the text holds no arXiv id.
    """
    raw = str(text or "").strip()
    match = _ID.search(_PREFIX.sub("", raw.strip(_WRAPPING)))
    if match is None:
        raise ValueError(f"not an arXiv id: {raw[:80]!r}")
    version = match.group("v")
    return match.group("id"), int(version) if version else None


def normalise_id(text: object) -> str:
    """The canonical id (no prefix, no version) of any spelling; ValueError if there is none."""
    return parse_id(text)[0]


def try_normalise_id(text: object) -> str | None:
    """normalise_id, or None for text that holds no arXiv id."""
    try:
        return normalise_id(text)
    except ValueError:
        return None


def id_sort_key(paper_id: str) -> tuple[int, str, int]:
    """Sort key putting ids in announcement order (old-style ids first)."""
    if "/" in paper_id:
        return (0, paper_id, 0)
    yymm, _, number = paper_id.partition(".")
    return (1, yymm, int(number) if number.isdigit() else 0)
