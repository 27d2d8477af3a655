"""Shared set-up for end-to-end tests: fake arXiv/RSS/HF/PDF server, fake Gemini server, a config file."""

from __future__ import annotations

import glob
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import yaml

from tests.fakes.answers import answer_for
from tests.fakes.llm_server import FakeLLMServer, FakeRequest, Reply, minimal_pdf
from tests.helpers_sources import FakeServices, LocalServer, standard_services

DAY = "2025-06-02"
KEY_ENV = "DIGEST_TEST_KEY"
KEY = "test-key-not-a-secret-123"
PDF = minimal_pdf("We propose a method. Full text of the paper.")


class Services(FakeServices):
    """FakeServices plus PDFs and a switch to answer the export API with broken XML."""

    malformed_api: bool = False
    pdf_broken: bool = False

    def handle(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.startswith("/pdf/") and self.pdf_broken:
            return httpx.Response(200, text="<html>captcha</html>")
        if request.url.path.startswith("/pdf/"):
            return httpx.Response(200, content=PDF, headers={"Content-Type": "application/pdf"})
        if self.malformed_api and request.url.path == "/api/query":
            return httpx.Response(200, text="<?xml version='1.0'?><feed><entry><id>broken")
        return super().handle(request)


def services() -> Services:
    base = standard_services()
    s = Services(records=base.records, rss=base.rss, hf=base.hf, latency=0.0)
    return s


def ok_responder(req: FakeRequest) -> Reply:
    """A valid answer for whichever template sent the prompt."""
    return Reply(text=answer_for(req.prompt))


def write_config(tmp: Path, *, arxiv_url: str, llm_url: str | None = None, **over: object) -> Path:
    """A config file pointing every endpoint at local fakes; `over` merges nested keys (a.b=...)."""
    cfg: dict = {
        "timezone": "Asia/Shanghai",
        "sources": {
            "arxiv": {
                "api_url": f"{arxiv_url}/api/query",
                "rss_url": f"{arxiv_url}/rss",
                "pdf_url": f"{arxiv_url}/pdf",
                "min_interval_s": 0,
                "max_retries": 1,
                "timeout_s": 10,
            },
            "huggingface": {"api_url": f"{arxiv_url}/api/daily_papers", "lag_days": 0, "timeout_s": 10},
        },
        "scoring": {"interests": {"diffusion": 8, "segmentation": 6, "3d": 5, "video": 4}},
        "selection": {"analyze": 10, "deep_dive": 2},
        "llm": {
            "provider": "gemini",
            "model": "gemini-2.5-flash",
            "api_key_env": KEY_ENV,
            "base_url": llm_url,
            "rpm": 600,
            "max_concurrency": 4,
            "max_attempts": 6,
            "timeout_s": 20,
        },
        "output": {"dir": str(tmp / "output")},
        "store": {"path": str(tmp / "output" / "digest.db"), "lock_timeout_s": 2},
    }
    for dotted, value in over.items():
        node = cfg
        *parents, leaf = dotted.split("__")
        for p in parents:
            node = node.setdefault(p, {})
        node[leaf] = value
    path = tmp / "config.yaml"
    path.write_text(yaml.safe_dump(cfg, allow_unicode=True), encoding="utf-8")
    return path


@dataclass
class Digest:
    text: str

    @property
    def anchors(self) -> set[str]:
        return set(re.findall(r"<a id='([^']+)'></a>", self.text))

    def sections(self) -> list[str]:
        """Anchors of the paper sections, in order (not the picks' own anchor)."""
        return [a for a in re.findall(r"<a id='([^']+)'></a>", self.text) if a != "contents"]

    @property
    def toc_targets(self) -> list[str]:
        return re.findall(r"\]\(#([^)\s]+)\)", self.text)


def read_digest(tmp: Path, day: str = DAY) -> Digest:
    return Digest((tmp / "output" / f"{day}.md").read_text(encoding="utf-8"))


def llm_server(**kw: object) -> FakeLLMServer:
    kw.setdefault("responder", ok_responder)
    kw.setdefault("api_key", KEY)
    return FakeLLMServer(**kw)  # type: ignore[arg-type]


def status_json(capsys, cfg: Path, day: str = DAY) -> dict:
    from digest.cli import main

    capsys.readouterr()
    assert main(["status", "--date", day, "--config", str(cfg), "--json"]) == 0
    return json.loads(capsys.readouterr().out)


@contextmanager
def keyed_days(tmp: Path, days: list[str], **over: object) -> Iterator[tuple[Path, FakeLLMServer]]:
    """The recorded days served, the fake LLM up and its key in the environment: (config path, LLM server)."""
    import pytest

    mp = pytest.MonkeyPatch()
    mp.setenv(KEY_ENV, KEY)
    try:
        with LocalServer(multi_day_services(days)) as server, llm_server() as llm:
            yield write_config(tmp, arxiv_url=server.url, llm_url=llm.url, **over), llm
    finally:
        mp.undo()


__all__ = ["LocalServer", "FakeLLMServer", "Reply"]


def multi_day_services(days: list[str]) -> Services:
    """The recorded cs.CV listings of several days, each record timed inside its own announcement window."""
    import datetime as dt

    from digest.config import Config
    from digest.fetch.calendar import announcement_for
    from tests.helpers_sources import fixture

    cfg = Config()
    records: list[dict] = []
    hf: dict[str, str] = {}
    seen: set[str] = set()
    for day in days:
        ann = announcement_for(dt.date.fromisoformat(day), cfg)
        assert ann is not None
        rows = [json.loads(line) for line in fixture(f"days/arxiv_cs.CV_{day}.jsonl").splitlines()]
        step = (ann.window_end - ann.window_start) / (len(rows) + 1)
        for i, row in enumerate(rows):
            if row["id"] in seen:
                continue
            seen.add(row["id"])
            row["published"] = ann.window_start + step * (i + 1)
            row["version"] = 1
            row["categories"] = [
                c for c in row["categories"] if re.fullmatch(r"[a-z-]+(\.[A-Za-z-]+)?", c)
            ] or ["cs.CV"]
            records.append(row)
        hf[day] = fixture(f"days/hf_daily_papers_{day}.json")
    return Services(records=records, hf=hf, latency=0.0)


def libfaketime() -> str:
    """The preloadable libfaketime (Debian package faketime; .ci/run installs it): the real-clock scheduler tests
    set `digest schedule`'s wall clock with it. Preloaded directly: the `faketime` wrapper forks, so signals
    would not reach digest."""
    found = sorted(glob.glob("/usr/lib/*/faketime/libfaketime.so.1")) + sorted(
        glob.glob("/usr/lib/faketime/libfaketime.so.1")
    )
    assert found, "libfaketime is needed (Debian package faketime; .ci/run installs it)"
    return found[0]
