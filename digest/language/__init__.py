"""A language is one table: the words of the generated files and separators (digest/language/labels.py), the
validation words (digest/language/lexicon.py), the prompt directory and the script its prose is written in.

Everything that differs between `language: zh` and `language: en` is read from LANGUAGES; a new
language is a row here, its entries in labels.py and lexicon.py, and its prompts/ subdirectory.
"""

from __future__ import annotations

from dataclasses import dataclass

from digest.language.labels import FAILURES, LABELS, REASONS, WHERE
from digest.language.lexicon import LEXICON
from digest.models import Reason


@dataclass(frozen=True)
class Language:
    """One digest language."""

    code: str
    labels: dict[str, str]  # headings, labels, punctuation and separators
    reasons: dict[str, tuple[str, str]]  # score reasons by kind: (long, short) wording
    where: dict[str, str]  # where an interest matched (title, abstract)
    failures: dict[str, str]  # why an analysis failed, by error kind
    validation: dict[str, object]  # meta-talk patterns, short-field shapes, the rules a re-ask quotes
    prompts: str  # subdirectory of prompts/ holding its templates ("": the top)
    cjk: bool  # prose is written in CJK characters (the language check counts them)
    wrong_language: str  # what an answer not in this language is written in, for the stop message


def _row(code: str, *, prompts: str, cjk: bool, wrong_language: str) -> Language:
    return Language(
        code=code,
        labels=LABELS[code],
        reasons=REASONS[code],
        where=WHERE[code],
        failures=FAILURES[code],
        validation=LEXICON[code],
        prompts=prompts,
        cjk=cjk,
        wrong_language=wrong_language,
    )


LANGUAGES: dict[str, Language] = {
    "zh": _row("zh", prompts="", cjk=True, wrong_language="English (not Chinese)"),
    "en": _row("en", prompts="en", cjk=False, wrong_language="Chinese"),
}


def labels(code: str) -> dict[str, str]:
    """The label table of a language (zh | en)."""
    return LANGUAGES[code].labels


def reason_text(reason: Reason, code: str, *, short: bool = False) -> str:
    """A score reason in words with its points: `兴趣: diffusion (标题) +8` (short: `diffusion+8`)."""
    lang = LANGUAGES[code]
    wording = lang.reasons.get(reason.kind)
    if wording is None or (reason.text and not reason.detail):
        return reason.text  # stored before reasons were data, or a kind this version does not know
    fields = dict(reason.detail)
    if "where" in fields:
        fields["where"] = lang.where.get(fields["where"], fields["where"])
    try:
        text = wording[1 if short else 0].format(**fields)
    except KeyError:
        return reason.text
    if reason.kind == "rerank" and fields.get("why") and not short:
        text += f": {fields['why']}"
    return f"{text}{'' if short else ' '}{reason.points:+g}"


def failure_text(kind: str | None, code: str) -> str:
    """An error kind in the reader's words."""
    words = LANGUAGES[code].failures
    return words.get(kind or "error", words["error"])
