"""The README's GitHub Actions recipe does what its comments say (it is run by users, not by us)."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

README = Path(__file__).resolve().parent.parent / "README.md"


def _actions_steps() -> list[dict]:
    text = README.read_text(encoding="utf-8")
    block = next(b for b in re.findall(r"```yaml\n(.*?)```", text, re.S) if "runs-on" in b)
    return yaml.safe_load(block)["jobs"]["digest"]["steps"]


def test_actions_recipe_retries_yesterday_and_tolerates_exactly_exit_3():
    runs = [s["run"] for s in _actions_steps() if "run" in s]
    digest_steps = [r for r in runs if re.match(r"digest (run|retry)\b", r)]
    assert any(r.startswith("digest run") for r in digest_steps)
    retry = [r for r in digest_steps if r.startswith("digest retry")]
    assert retry and "yesterday" in retry[0], "a pending day is retried only if a step retries it"
    for r in digest_steps:
        assert r.rstrip().endswith("|| [ $? -eq 3 ]"), r  # 3 (written, something pending) and nothing else
    assert not any("|| true" in r for r in runs)
