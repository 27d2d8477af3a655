"""The one-method provider interface and the name registry."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from pydantic import BaseModel


@dataclass(frozen=True)
class Attachment:
    """A file sent with the prompt (a PDF for deep dives)."""

    mime_type: str
    data: bytes
    name: str = ""


@dataclass
class Usage:
    tokens_in: int = 0
    tokens_out: int = 0
    tokens_thinking: int = 0  # Gemini thoughtsTokenCount: not in tokens_out, but billed at the output price


@dataclass
class Generation:
    """What one successful request returned: raw text, why it stopped, token usage."""

    text: str
    finish_reason: str | None = None  # normalised: "stop", "max_tokens", "safety", "other"
    usage: Usage = field(default_factory=Usage)
    model: str = ""
    status: int = 200


class Provider(Protocol):
    """An LLM endpoint. Raises digest.errors.LLMError subclasses for HTTP-level failures."""

    name: str

    def generate(
        self,
        prompt: str,
        *,
        schema: type[BaseModel] | None = None,
        attachments: list[Attachment] | None = None,
    ) -> Generation:
        """Send one request and return the model's raw answer."""
        ...


ProviderFactory = Callable[..., Provider]
_REGISTRY: dict[str, ProviderFactory] = {}


def register(name: str) -> Callable[[ProviderFactory], ProviderFactory]:
    """Class decorator adding a provider under a config name."""

    def deco(factory: ProviderFactory) -> ProviderFactory:
        _REGISTRY[name] = factory
        return factory

    return deco


def provider_names() -> list[str]:
    """Names accepted by llm.provider."""
    return sorted(_REGISTRY)


def get_factory(name: str) -> ProviderFactory:
    """The factory registered under name; KeyError if none."""
    return _REGISTRY[name]
