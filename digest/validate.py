"""Turn a model's raw answer into a validated pydantic model, or say exactly why it was rejected."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

from pydantic import BaseModel, ValidationError

from digest.errors import InvalidOutput
from digest.llm.base import Generation

# Fields whose content is a name, link or id rather than prose: no language check.
_NO_LANG_CHECK = {"code_url", "url", "name", "paper_id", "id", "field"}
# Optional prose that may be left empty.
_MAY_BE_EMPTY = {"purpose"}
_REFUSALS = (
    "请提供", "请上传", "无法访问", "无法获取论文", "没有提供论文", "未提供论文", "我无法", "抱歉", "对不起",
    "please provide", "i cannot", "i can't", "i'm sorry", "i am sorry", "as an ai", "unable to access",
)
_FILLER = ("好的", "作为一名", "作为一个", "作为一位", "当然", "以下是", "下面是", "sure,", "certainly", "here is", "here's")
# Checked only in English answers, so the Chinese checks stay exactly as they were.
_REFUSALS_EN = (
    "i'm unable to", "i am unable to", "i do not have access", "i don't have access", "could you provide",
    "could you share", "please share", "please upload", "please supply",
)
_FILLER_EN = (
    "sure.", "sure!", "sure thing", "okay,", "ok,", "of course", "absolutely", "great question", "as an ai",
    "as an expert", "as a senior", "as an experienced", "as a computer vision", "as a researcher",
    "below is", "let me", "in this response",
)
_CJK = re.compile(r"[\u4e00-\u9fff]")
_LATIN = re.compile(r"[A-Za-z]")
_FENCE = re.compile(r"^\s*```(?:json)?\s*(.*?)\s*```\s*$", re.S)
# A figure: a number with %, ×, x, 倍 or a unit, or any decimal number.
_FIGURE = re.compile(
    r"(?<![\w.])(\d+(?:\.\d+)?)\s*(%|％|×|倍|x(?![a-zA-Z])|dB|db|ms|fps|FPS|GB|MB|TB|[MBKk](?![a-zA-Z])|pp)"
    r"|(?<![\w.])(\d+\.\d+)(?![\w.])"
)
_NUMBER = re.compile(r"\d+(?:\.\d+)?")


def _strings(obj: object, path: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(obj, str):
        yield path, obj
    elif isinstance(obj, dict):
        for k, v in obj.items():
            yield from _strings(v, f"{path}.{k}" if path else str(k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _strings(v, f"{path}[{i}]")


def _leaf(path: str) -> str:
    return re.sub(r"\[\d+\]$", "", path).rsplit(".", 1)[-1]


def parse_json(gen: Generation) -> object:
    """The JSON value in the answer; InvalidOutput if truncated, blocked or not JSON."""
    if gen.finish_reason == "max_tokens":
        raise InvalidOutput("the answer was truncated (finish reason MAX_TOKENS); answer more concisely",
                            raw=gen.text)
    if gen.finish_reason == "safety" or not gen.text.strip():
        raise InvalidOutput("the answer was empty or blocked", raw=gen.text)
    text = gen.text.strip()
    m = _FENCE.match(text)
    if m:
        text = m.group(1)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidOutput(f"the answer was not valid JSON ({exc.msg} at char {exc.pos})", raw=gen.text) from exc


def check_text(data: object, *, language: str = "zh") -> None:
    """Reject refusals, filler openings, empty sections and prose not in `language` (zh | en)."""
    refusals = _REFUSALS + (_REFUSALS_EN if language == "en" else ())
    filler = _FILLER + (_FILLER_EN if language == "en" else ())
    for path, value in _strings(data):
        text = value.strip()
        low = text.lower()
        leaf = _leaf(path)
        if leaf in _NO_LANG_CHECK or (not text and leaf in _MAY_BE_EMPTY):
            continue
        if not text:
            raise InvalidOutput(f"section {path} is empty")
        if any(r in low for r in refusals):
            raise InvalidOutput(f"section {path} is a refusal or asks for material instead of analysing the paper")
        if any(low.startswith(f) for f in filler):
            raise InvalidOutput(f"section {path} opens with filler ({text[:8]}…); state the content directly")
        if language == "zh":
            cjk = len(_CJK.findall(text))
            latin = len(_LATIN.findall(text))
            if cjk < 2 or cjk < 0.15 * latin:
                raise InvalidOutput(f"section {path} is not written in Chinese")
        elif language == "en" and len(_CJK.findall(text)) > len(_LATIN.findall(text)):
            raise InvalidOutput(f"section {path} is not written in English")


def validate(gen: Generation, schema: type[BaseModel], *, language: str = "zh") -> BaseModel:
    """Parse, schema-check and content-check one answer."""
    data = parse_json(gen)
    try:
        model = schema.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'top level'}: {e['msg']}" for e in exc.errors()[:5])
        raise InvalidOutput(f"the JSON did not match the schema: {problems}", raw=gen.text) from exc
    try:
        check_text(model.model_dump(), language=language)
    except InvalidOutput as exc:
        exc.raw = gen.text
        raise
    return model


def unverified_figures(model: BaseModel, source: str) -> list[str]:
    """Figures in the answer (23%, 2.5×, 35.2 dB, 0.91) whose number does not occur in the source text."""
    known = set(_NUMBER.findall(source.replace(",", "")))
    known |= {n.rstrip("0").rstrip(".") for n in known if "." in n}
    found: list[str] = []
    for path, value in _strings(model.model_dump()):
        if _leaf(path) in _NO_LANG_CHECK:
            continue
        for m in _FIGURE.finditer(value.replace(",", "")):
            number = m.group(1) or m.group(3)
            norm = number.rstrip("0").rstrip(".") if "." in number else number
            if number not in known and norm not in known:
                found.append(m.group(0).strip())
    return sorted(set(found))
