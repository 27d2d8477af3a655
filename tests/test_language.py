"""A language is one table (the digest.language package): every row complete, and no module branches on a code."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import get_args

import pytest

from digest.analysis.prompts import prompts_dir
from digest.config import Config
from digest.day.state import DayState
from digest.language import LANGUAGES

PACKAGE = Path(__file__).resolve().parents[1] / "digest"
TABLES = {
    "language/labels.py",
    "language/lexicon.py",
    "language/__init__.py",
}  # where language codes are keys


def test_the_config_languages_are_the_table_rows():
    assert set(get_args(Config.model_fields["language"].annotation)) == set(LANGUAGES)
    assert set(get_args(DayState.model_fields["language"].annotation)) == set(LANGUAGES)


@pytest.mark.parametrize("code", sorted(LANGUAGES))
def test_every_row_has_what_the_first_has(code):
    zh, row = LANGUAGES["zh"], LANGUAGES[code]
    assert row.code == code
    for part in ("labels", "reasons", "where", "failures", "validation"):
        assert set(getattr(row, part)) == set(getattr(zh, part)), part
    assert set(row.validation["rules"]) == set(zh.validation["rules"])  # type: ignore[arg-type]
    shipped = sorted(p.name for p in prompts_dir(None, language=code).glob("*.j2"))
    assert shipped and shipped == sorted(p.name for p in prompts_dir(None, language="zh").glob("*.j2"))


def test_no_module_outside_the_tables_compares_a_language_code():
    found = []
    for path in PACKAGE.rglob("*.py"):
        if path.relative_to(PACKAGE).as_posix() in TABLES:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Compare):
                consts = [c.value for c in ast.walk(node) if isinstance(c, ast.Constant)]
                if set(consts) & set(LANGUAGES):
                    found.append(f"{path.relative_to(PACKAGE)}:{node.lineno}")
    assert found == []
