"""`run`'s selection rule, `analyze` and `retry --paper` on recorded real days, against local fakes."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import yaml

from digest.cli import main
from digest.config import load_config
from digest.store import Store
from tests.e2e_helpers import LocalServer, llm_server, multi_day_services, read_digest, write_config

REPO = Path(__file__).resolve().parent.parent
DAY = "2025-06-04"
HF_TOP = "2506.03147"  # 31 upvotes, the most that day; no interest of the shipped config matches it


@pytest.fixture(scope="module")
def recorded():
    """A fake arXiv/HF serving the recorded cs.CV days 2025-06-03 and 2025-06-04."""
    with LocalServer(multi_day_services(["2025-06-03", DAY])) as server:
        yield server


def shipped_config(tmp: Path, arxiv_url: str, llm_url: str | None = None, **over: object) -> Path:
    """The shipped config.yaml's scoring and selection, endpoints pointed at the fakes."""
    shipped = yaml.safe_load((REPO / "config.yaml").read_text(encoding="utf-8"))
    return write_config(tmp, arxiv_url=arxiv_url, llm_url=llm_url, scoring=shipped["scoring"],
                        selection=shipped["selection"], **over)


def picks_of(cfg: Path, day: str = DAY) -> dict[str, str]:
    store = Store(load_config(cfg).store.path)
    try:
        return store.selection_reasons(dt.date.fromisoformat(day))
    finally:
        store.close()


def test_the_days_top_hf_paper_is_analysed_by_default(tmp_path, recorded, key):
    with llm_server() as llm:
        cfg = shipped_config(tmp_path, recorded.url, llm.url)
        assert main(["run", "--date", DAY, "--config", str(cfg)]) == 0
        assert llm.stats.requests == 11  # the HF pick takes a slot of selection.analyze, not an extra one
    picks = picks_of(cfg)
    assert len(picks) == 10 and picks[HF_TOP] == "hf_top"
    assert set(picks.values()) <= {"hf_top", "interest", "score"}
    assert f"<a id='{HF_TOP}'></a>" in read_digest(tmp_path, DAY).text
