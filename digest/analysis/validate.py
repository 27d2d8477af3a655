"""Turn a model's raw answer into a validated pydantic model, or say exactly why it was rejected."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from functools import lru_cache
from typing import Any

from pydantic import BaseModel, ValidationError

from digest.errors import InvalidOutput
from digest.ids import try_normalise_id
from digest.language import LANGUAGES, Language
from digest.llm.base import Generation
from digest.schemas import Rule, rule_of
from digest.secrets import contains_secret, redact

# How each string is treated comes from its field's type (digest.schemas.Rule), never from the field's name.
_PROSE = {Rule.PROSE, Rule.OPTIONAL_PROSE}
_SHORT = {Rule.FIELD, Rule.NAME}  # a name, not prose: a shape, no language check
_NAME_MAX = 80
_SNIPPET = 60
# Markdown markers, list numbers and quotes before a line's first word.
_LINE_LEAD = re.compile(r"^(?:\s|[>#*_`\-+•·“”\"'「『【]|\d{1,2}[.)、])*")
_SENTENCE_END = re.compile(r"(?<=[。！？；!?;])\s*|(?<=\.)\s+")
# URLs in a paper's texts: any http(s) URL, and the scheme-less code hosts and project pages abstracts use.
_URL = re.compile(
    r"https?://[^\s<>()\[\]{}\"'“”]+|(?<![\w./])(?:www\.)?(?:github\.com|gitlab\.com|huggingface\.co|"
    r"[\w-]+\.github\.io)/?[^\s<>()\[\]{}\"'“”]*",
    re.I,
)
_CJK = re.compile(r"[\u4e00-\u9fff]")
_LATIN = re.compile(r"[A-Za-z]")
_FENCE = re.compile(r"^\s*```(?:json)?\s*(.*?)\s*```\s*$", re.S)
# strict=False: a raw tab, newline or control character inside a string is a slip of the model, not a wrong
# answer; SafeText removes what is unsafe when the schema reads the field.
_DECODER = json.JSONDecoder(strict=False)
_OPENING = re.compile(r"[{\[]")
# A figure: a number with %, ×, x, 倍 or a unit, or any decimal number.
_FIGURE = re.compile(
    r"(?<![\w.])(\d+(?:\.\d+)?)\s*(%|％|×|倍|x(?![a-zA-Z])|dB|db|ms|fps|FPS|GB|MB|TB|[MBKk](?![a-zA-Z])|pp)"
    r"|(?<![\w.])(\d+\.\d+)(?![\w.])"
)
_NUMBER = re.compile(r"\d+(?:\.\d+)?")


def invalid(
    kind: str,
    *,
    language: str,
    field: str = "",
    evidence: str = "",
    rule: str | None = None,
    raw: str | None = None,
) -> InvalidOutput:
    """An InvalidOutput whose rule is quoted from the language table (rule name defaults to the kind)."""
    name = rule or kind
    evidence = _snip(evidence)
    # Messages quote the English rules, but the English language rule asks for English: say what the answer is in.
    said = (
        f"the answer is in {_language(language).wrong_language}"
        if name == "language"
        else LANGUAGES["en"].validation["rules"][name]
    )  # type: ignore[index]
    message = f"{kind} in {field or 'the answer'}: {said}"
    if evidence:
        message += f" (found: {evidence})"
    return InvalidOutput(
        message, kind=kind, field=field, rule=_table(language)["rules"][name], evidence=evidence, raw=raw
    )


def parse_json(gen: Generation, *, language: str = "zh") -> object:
    """The JSON value in the answer; InvalidOutput if truncated, blocked or not JSON."""
    if gen.finish_reason == "max_tokens":
        raise invalid("truncated", language=language, evidence=gen.text[-_SNIPPET:], raw=gen.text)
    if gen.finish_reason == "safety" or not gen.text.strip():
        raise invalid("not_json", language=language, evidence="(empty or blocked answer)", raw=gen.text)
    text = gen.text.strip()
    m = _FENCE.match(text)
    if m:
        text = m.group(1)
    try:
        return _DECODER.decode(text)
    except json.JSONDecodeError as exc:
        # Broken JSON stays broken (a cut-off answer is not mined for an inner object); words around a
        # whole JSON value are the model's chatter, which never reaches the page (only fields do).
        found = None if text[:1] in "{[" else _wrapped_json(text)
        if found is None:
            raise invalid("not_json", language=language, evidence=text, raw=gen.text) from exc
        return found


def _wrapped_json(text: str) -> object | None:
    """The JSON object or array an answer wraps in words ("好的，以下是结果：{...}"), or None.

    The words around it never reach the page, so asking again for them would only spend a request. The
    longest value wins: the words may hold brackets of their own ("以下是 [2506.01234] 等论文的分析：").
    """
    best, span, pos = None, 0, 0
    while (start := _OPENING.search(text, pos)) is not None:
        try:
            value, end = _DECODER.raw_decode(text, start.start())
        except json.JSONDecodeError:
            pos = start.end()
            continue
        if isinstance(value, (dict, list)) and end - start.start() > span:
            best, span = value, end - start.start()
        pos = end  # what lies inside this value is part of it, not another answer
    return best


def meta_talk(text: str, *, language: str = "zh", field: str = "") -> InvalidOutput | None:
    """Why `text` is a refusal or filler rather than content (kind and evidence), or None."""
    # Every language's patterns apply: an English refusal in a Chinese digest is a refusal, not just English.
    tables = [_compiled(language)] + [_compiled(other) for other in LANGUAGES if other != language]
    # Openings are looked for at every sentence: filler hidden after a first content sentence is still filler.
    lines = [
        _LINE_LEAD.sub("", part) for line in text.splitlines() for part in _SENTENCE_END.split(line)
    ] or [""]
    for kind, key, anchored in (
        ("refusal", "refusal", False),
        ("filler", "filler_opening", True),
        ("filler", "filler_anywhere", False),
    ):
        for pattern in (p for table in tables for p in table[key]):
            for line in lines:
                m = pattern.match(line) if anchored else pattern.search(line)
                if m:
                    return invalid(kind, language=language, field=field, evidence=line[m.start() :])
    return None


def check_text(data: object, *, language: str = "zh") -> None:
    """Reject refusals, filler, misshapen short fields, empty sections and prose not in `language`.

    A model's strings follow the rules of their fields' types; plain JSON data is all prose."""
    lang = _language(language)
    table = lang.validation
    for path, value, rule in _strings(data):
        text = value.strip()
        if rule in (Rule.ID, Rule.LINK) or (not text and rule is Rule.OPTIONAL_PROSE):
            continue
        if not text:
            raise invalid("shape", language=language, field=path, rule="empty")
        problem = meta_talk(text, language=language, field=path)
        if problem is not None:
            raise problem
        if rule in _SHORT:
            limit = table["field_max"] if rule is Rule.FIELD else _NAME_MAX
            punct = set(table["field_punct"] if rule is Rule.FIELD else "。！？!?")
            # A Latin letter is half a Chinese character wide: "3D Gaussian Splatting" is as short as "三维高斯泼溅".
            cjk = len(_CJK.findall(text))
            if cjk + (len(text) - cjk) / 2 > limit or punct & set(text) or text.endswith("."):  # type: ignore[operator]
                raise invalid("shape", language=language, field=path, rule=rule.value, evidence=text)
            continue
        cjk, latin = len(_CJK.findall(text)), len(_LATIN.findall(text))
        if (cjk < 2 or cjk < 0.15 * latin) if lang.cjk else cjk > latin:
            raise invalid("language", language=language, field=path, evidence=text)


def links_in(*texts: str | None) -> set[str]:
    """The URLs a paper gives (abstract, comment, HF repository and project page), as comparison keys."""
    return {_link_key(m.group(0)) for t in texts if t for m in _URL.finditer(t)}


def validate(
    gen: Generation,
    schema: type[BaseModel],
    *,
    language: str = "zh",
    links: set[str] | frozenset[str] = frozenset(),
) -> BaseModel:
    """Parse, schema-check and content-check one answer; ids normalised, links not in `links` dropped."""
    if contains_secret(gen.text):  # an echoed key must not reach the page; the raw answer is kept redacted
        raise invalid("secret", language=language, raw=redact(gen.text))
    data = parse_json(gen, language=language)
    try:
        model = _model_validate(schema, data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(map(str, first["loc"]))
        raise invalid("schema", language=language, field=where, evidence=first["msg"], raw=gen.text) from exc
    for owner, key, _path, value, rule in _slots(model):
        if rule is Rule.ID and isinstance(value, str):
            _set(owner, key, try_normalise_id(value) or value)
        elif rule is Rule.LINK and value is not None and not _link_allowed(value, links):
            _set(owner, key, None)  # a link the paper does not give is likely invented: drop, do not re-ask
    try:
        check_text(model, language=language)
    except InvalidOutput as exc:
        exc.raw = gen.text
        raise
    return model


def _model_validate(schema: type[BaseModel], data: object) -> BaseModel:
    """The answer as `schema`, or, failing that, the one object it wraps ({"analysis": {...}}, a habit of
    models in JSON-object mode): the content is all there, a re-ask would only spend a request."""
    try:
        return schema.model_validate(data)
    except ValidationError as exc:
        inner = next(iter(data.values())) if isinstance(data, dict) and len(data) == 1 else None
        if not isinstance(inner, dict):
            raise
        try:
            return schema.model_validate(inner)
        except ValidationError:
            raise exc from None


def _language(code: str) -> Language:
    return LANGUAGES.get(code, LANGUAGES["zh"])


def _table(code: str) -> dict[str, Any]:
    return _language(code).validation


@lru_cache(maxsize=4)
def _compiled(language: str) -> dict[str, tuple[re.Pattern[str], ...]]:
    table = _table(language)
    return {
        key: tuple(re.compile(p, re.I) for p in table[key])
        for key in ("refusal", "filler_opening", "filler_anywhere")
    }


def _snip(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= _SNIPPET else flat[:_SNIPPET] + "…"


def _slots(
    obj: object, path: str = "", rule: Rule = Rule.PROSE
) -> Iterator[tuple[Any, Any, str, object, Rule]]:
    """(container, key, JSON path, value, rule) of every scalar inside a model or JSON data, for checks and
    in-place fixes. A model field's rule comes from its type and holds for the items of its list; a nested
    model's strings follow its own fields; plain data is prose."""
    if isinstance(obj, BaseModel):
        fields = type(obj).model_fields
        items: Iterable[tuple[Any, object, Rule]] = (
            (k, getattr(obj, k), rule_of(f)) for k, f in fields.items()
        )
    elif isinstance(obj, list):
        items = ((i, v, rule) for i, v in enumerate(obj))
    elif isinstance(obj, dict):
        items = ((k, v, rule) for k, v in obj.items())
    else:
        return
    for key, value, sub_rule in items:
        sub = f"{path}[{key}]" if isinstance(obj, list) else (f"{path}.{key}" if path else str(key))
        if isinstance(value, (BaseModel, list, dict)):
            yield from _slots(value, sub, sub_rule)
        else:
            yield obj, key, sub, value, sub_rule


def _strings(data: object) -> Iterator[tuple[str, str, Rule]]:
    """(JSON path, text, rule) of every string inside a model or JSON data."""
    if isinstance(data, str):
        yield "", data, Rule.PROSE
    for _owner, _key, path, value, rule in _slots(data):
        if isinstance(value, str):
            yield path, value, rule


def _set(owner: Any, key: Any, value: object) -> None:
    if isinstance(owner, list):
        owner[key] = value
    else:
        setattr(owner, key, value)


def _link_key(url: str) -> str:
    """Scheme, www., case, trailing punctuation, slash and .git do not make two links different."""
    key = re.sub(r"^(https?://)?(www\.)?", "", url.strip().lower()).rstrip(".,;:!?)]}>'\"")
    return re.sub(r"(\.git)?/*$", "", key)


def _link_allowed(url: str, allowed: set[str] | frozenset[str]) -> bool:
    if not re.match(r"^https?://\S+$", url.strip(), re.I):
        return False
    key = _link_key(url)
    # A deeper link into a repository or page the paper gives (…/tree/main) is the same link.
    return any(key == a or ("/" in a and key.startswith(a + "/")) for a in allowed)


def unverified_figures(model: BaseModel, source: str) -> list[str]:
    """Figures in the answer (23%, 2.5×, 35.2 dB, 0.91) whose number does not occur in the source text."""
    known = set(_NUMBER.findall(source.replace(",", "")))
    known |= {n.rstrip("0").rstrip(".") for n in known if "." in n}
    found: list[str] = []
    for _path, value, rule in _strings(model):
        if rule not in _PROSE:
            continue
        for m in _FIGURE.finditer(value.replace(",", "")):
            number = m.group(1) or m.group(3)
            norm = number.rstrip("0").rstrip(".") if "." in number else number
            if number not in known and norm not in known:
                found.append(m.group(0).strip())
    return sorted(set(found))
