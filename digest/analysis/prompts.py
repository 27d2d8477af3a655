"""Prompt templates: jinja2 files in prompts/, rendered with StrictUndefined, hashed for the cache."""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2
from pydantic import BaseModel

from digest.errors import ConfigError
from digest.language import LANGUAGES

# Package data: in a source tree digest/prompt_templates links to the top-level prompts/, in a wheel it
# holds copies. digest is a regular package, so files() is a real directory and jinja2 can load from it.
SHIPPED_DIR = Path(str(resources.files("digest") / "prompt_templates"))


@lru_cache(maxsize=8)
def _env(directory: str) -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(directory),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,  # plain text for the model, not HTML
    )


def prompts_dir(configured: str | None, *, language: str = "zh") -> Path:
    """The templates directory: llm.prompts_dir or the shipped prompts/; the language's subdirectory (en/)."""
    path = Path(configured) if configured else SHIPPED_DIR
    if not path.is_dir():
        raise ConfigError(f"llm.prompts_dir: {path} is not a directory of prompt templates")
    subdir = LANGUAGES[language].prompts
    if not subdir:
        return path
    # The shipped prompts of the language must exist; a user's directory may hold them at its top.
    sub = path / subdir
    if sub.is_dir() or not configured:
        return sub
    return path


def render_prompt(name: str, *, directory: Path, **context: Any) -> str:
    """Render prompts/{name}.j2 with the given variables."""
    try:
        return _env(str(directory)).get_template(f"{name}.j2").render(**context).strip() + "\n"
    except jinja2.TemplateNotFound as exc:
        raise ConfigError(f"prompt template {name}.j2 not found in {directory}") from exc
    except jinja2.UndefinedError as exc:
        raise ConfigError(f"prompt template {name}.j2: {exc}") from exc


def prompt_sha(template: str, prompt: str, schema: type[BaseModel] | None, *, extra: str = "") -> str:
    """Hash of everything that decides a call's answer except the model name."""
    h = hashlib.sha256()
    schema_json = json.dumps(schema.model_json_schema(), sort_keys=True) if schema else ""
    for part in (template, prompt, schema_json, extra):
        h.update(part.encode("utf-8"))
        h.update(b"\0")
    return h.hexdigest()[:32]
