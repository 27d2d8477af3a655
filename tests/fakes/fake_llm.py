"""A scriptable in-process provider for tests (passed in, never selectable by config), and placeholder answers."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from digest.llm.base import Attachment, Generation, Usage

# What a responder may return: raw text, a full Generation, or (raise) an LLMError.
Responder = Callable[[str, "type[BaseModel] | None", "list[Attachment]"], "str | Generation"]

PLACEHOLDER_TEXT = "示例文本：这是测试用的中文占位内容。"


def example_json(schema: dict[str, Any], *, text: str = PLACEHOLDER_TEXT) -> Any:
    """A value that satisfies a JSON schema (pydantic or Gemini style): placeholder strings, min list sizes."""
    defs = schema.get("$defs") or schema.get("definitions") or {}
    return _example(schema, defs, text, depth=0)


def _example(node: dict[str, Any], defs: dict[str, Any], text: str, depth: int) -> Any:
    if depth > 20:  # a recursive schema would loop forever
        return None
    if "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        return _example(defs.get(name, {}), defs, text, depth + 1)
    if "const" in node:
        return node["const"]
    if node.get("enum"):
        return node["enum"][0]
    for key in ("anyOf", "oneOf", "allOf"):
        if node.get(key):
            options = [o for o in node[key] if str(o.get("type", "")).lower() != "null"] or node[key]
            return _example(options[0], defs, text, depth + 1)
    kind = node.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if str(k).lower() != "null"), "null")
    kind = str(kind or ("object" if "properties" in node else "string")).lower()
    if kind == "object":
        props = node.get("properties") or {}
        return {name: _example(sub, defs, text, depth + 1) for name, sub in props.items()}
    if kind == "array":
        n = max(1, int(node.get("minItems", 1)))
        return [_example(node.get("items") or {}, defs, text, depth + 1) for _ in range(n)]
    if kind in ("integer", "number"):
        low = node.get("minimum", node.get("exclusiveMinimum", 0))
        high = node.get("maximum", low + 10)
        value = (low + high) / 2
        return int(value) if kind == "integer" else float(value)
    if kind == "boolean":
        return True
    if kind == "null":
        return None
    return text


def example_text(schema: type[BaseModel] | None, *, text: str = PLACEHOLDER_TEXT) -> str:
    """A JSON answer valid for a pydantic model (or plain text when there is no schema)."""
    if schema is None:
        return text
    return json.dumps(example_json(schema.model_json_schema(), text=text), ensure_ascii=False)


@dataclass
class FakeCall:
    prompt: str
    schema: type[BaseModel] | None
    attachments: list[Attachment] = field(default_factory=list)


class FakeLLM:
    """Provider whose answers come from a responder callable or a script (str | Generation | Exception items)."""

    name = "fake"

    def __init__(
        self,
        responder: Responder | Iterable[str | Generation | BaseException] | None = None,
        *,
        model: str = "fake-model",
    ) -> None:
        self.model = model
        self.calls: list[FakeCall] = []
        self._lock = threading.Lock()
        self._script: list[str | Generation | BaseException] | None = None
        self._responder: Responder | None = None
        if responder is None:
            self._responder = lambda prompt, schema, attachments: example_text(schema)
        elif callable(responder):
            self._responder = responder
        else:
            self._script = list(responder)

    def generate(
        self,
        prompt: str,
        *,
        schema: type[BaseModel] | None = None,
        attachments: list[Attachment] | None = None,
    ) -> Generation:
        """Record the call, then answer from the script or the responder (which may raise)."""
        atts = list(attachments or [])
        with self._lock:
            self.calls.append(FakeCall(prompt, schema, atts))
            if self._script is not None:
                if not self._script:
                    raise AssertionError(f"FakeLLM script exhausted after {len(self.calls) - 1} call(s)")
                item: str | Generation | BaseException = self._script.pop(0)
            else:
                item = ""
        if self._script is None:
            assert self._responder is not None
            item = self._responder(prompt, schema, atts)
        if isinstance(item, BaseException):
            raise item
        if isinstance(item, Generation):
            return item
        usage = Usage(tokens_in=max(1, len(prompt) // 4), tokens_out=max(1, len(item) // 4))
        return Generation(text=item, finish_reason="stop", usage=usage, model=self.model)

    @property
    def call_count(self) -> int:
        """How many times generate() was called."""
        with self._lock:
            return len(self.calls)
