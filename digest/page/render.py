"""Render one day's digest (DayState) to Markdown through digest/templates/digest.md.j2, atomically.

Page order: title, overview and previous/next links; the executive summary; today's picks (the
contents: rank, title, one-line summary, score, badges, reasons, and the rule that picked them); one
section per pick, each ending with a link back to the picks; then every other paper in a folded table.
With nothing selected (a metadata-only digest) the top `metadata_sections` papers by score are the picks.

The parts are built by job: sections.py (a pick's section, the notes for what is missing), picks.py (the
overview, navigation, the picks and their rule), table.py (the summary, the table of the other papers);
common.py holds what they share. This module plans the page and renders it.
"""

from __future__ import annotations

import functools
import re

import jinja2

from digest import text as tx
from digest.day.state import DayState, unique_entries
from digest.language import labels
from digest.models import Entry
from digest.page.common import CONTENTS_ANCHOR, anchor
from digest.page.picks import nav, overview, pick, rule
from digest.page.sections import section, summary_note
from digest.page.table import row, summary


def page_plan(state: DayState) -> tuple[list[Entry], list[str], dict[str, str]]:
    """The day's papers by score, the ids that get a section (in order), and their anchors."""
    entries = unique_entries(state.entries)
    by_id = {e.paper.id: e for e in entries}
    scores = {pid: s.score for pid, s in state.scores.items()}
    ranked = sorted(entries, key=lambda e: (-scores[e.paper.id] if e.paper.id in scores else 1.0, e.paper.id))
    chosen = list(dict.fromkeys(pid for pid in state.selected if pid in by_id))
    # By score, as the rule line says, papers asked for later included (stable: ties keep the selection's order)
    chosen.sort(key=lambda pid: -scores.get(pid, 0.0))
    if not state.selected:
        chosen = [e.paper.id for e in ranked[: state.metadata_sections]]
    used: set[str] = set()
    return ranked, chosen, {pid: anchor(pid, used) for pid in chosen}


def _context(state: DayState) -> dict[str, object]:
    ranked, chosen, anchors = page_plan(state)
    by_id = {e.paper.id: e for e in ranked}  # ranked holds every unique entry
    sections = [section(state, by_id[pid], anchors[pid], bool(state.selected)) for pid in chosen]
    L = labels(state.language)
    others = [row(state, e, L) for e in ranked if e.paper.id not in anchors]
    return {
        "date": state.date.isoformat(),
        "overview": overview(state, sections),
        "nav": nav(state, L),
        "summary": summary(state, by_id, anchors),
        "summary_note": summary_note(state, L),
        "rule": rule(state, chosen, ranked, L),
        "picks": [pick(state, s) for s in sections],
        "sections": sections,
        "others": others,
        "L": L,
        "contents": CONTENTS_ANCHOR,
        "sources": "arXiv" + (L["sources_hf"] if state.hf_status == "ok" else ""),
        "model": None if state.llm_off else state.llm_model,
    }


# ---------------------------------------------------------------- public API


@functools.cache  # one per language: the template is compiled once, not on every digest written
def _environment(language: str = "zh") -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader(
            "digest.page", "templates"
        ),  # package data, read through importlib.resources
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(
        link=tx.md_escape,
        cell=tx.md_escape,
        text=tx.md_text,
        prose=tx.md_block,
        line=tx.md_line,
        url=lambda u: tx.safe_url(u) or "",
        label=tx.url_label,
    )
    colon = labels(language)["colon"]
    env.filters["field"] = lambda value, label: _labelled(value, label, colon=colon)
    env.filters["fill"] = lambda template, *args: str(template).format(*args)
    env.filters["steps"] = lambda items: [re.sub(r"^\s*(\d+[.)、:：]|[-*•])\s*", "", str(i)) for i in items]
    return env


def _labelled(value: object, label: str, *, colon: str = "：") -> str:
    """`**label：** text` inline for a one-paragraph answer; label on its own line above longer ones."""
    body = tx.md_block(value)
    sep = "\n\n" if "\n" in body or re.match(r"[-*+] |\d+[.)] ", body) else " "
    return f"**{label}{colon}**{sep}{body}"


def render_digest(state: DayState) -> str:
    """Render the day's digest as Markdown."""
    text = _environment(state.language).get_template("digest.md.j2").render(**_context(state))
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.strip() + "\n"
