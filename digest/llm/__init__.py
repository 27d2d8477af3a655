"""LLM providers behind one interface; the pipeline uses build_provider and never a vendor SDK."""

from __future__ import annotations

from typing import TYPE_CHECKING

# Importing the modules registers their providers; google-genai itself loads only when a Gemini
# provider is built.
from digest.llm import gemini, openai_compat  # noqa: F401
from digest.llm.base import Attachment, Generation, Provider, Usage, get_factory, provider_names, register

if TYPE_CHECKING:
    from digest.config import LLMConfig

__all__ = ["Attachment", "Generation", "Provider", "Usage", "build_provider", "provider_names", "register"]


def build_provider(cfg: LLMConfig, api_key: str | None) -> Provider:
    """The provider named by cfg.provider (the config checked the name at load)."""
    return get_factory(cfg.provider)(cfg, api_key)
