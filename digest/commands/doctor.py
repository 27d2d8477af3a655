"""`digest doctor`: check the config, its paths, the key, the endpoints, the store and the disk."""

from __future__ import annotations

import os
import shutil
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from digest.analysis.prompts import prompts_dir, render_prompt
from digest.config import Config
from digest.errors import AuthError, ConfigError, DigestError, QuotaExhausted, RateLimited
from digest.fetch.http import USER_AGENT, one_line, public_url
from digest.store.migrations import MIGRATIONS

MIN_FREE_BYTES = 200_000_000  # a year of digests and their store, with room to spare
PROBE_ID = "2501.00001"  # any real id: the export API answers one entry (or none) quickly


@dataclass(frozen=True)
class Check:
    """One line of the report: status is ok, warn or FAIL."""

    name: str
    status: str
    detail: str


def run_checks(cfg: Config) -> list[Check]:
    """Every check, in the order printed; reads only, creates nothing, makes one LLM request at most."""
    checks = [_config(cfg), _output(cfg), _prompts(cfg)]
    if cfg.schedule.log_file:
        checks.append(_log_file(cfg.schedule.log_file))
    checks.append(_key(cfg))
    with httpx.Client(headers={"User-Agent": USER_AGENT}, follow_redirects=True, timeout=15) as http:
        arxiv = cfg.sources.arxiv
        checks.append(_reach("arxiv api", http, arxiv.api_url, {"id_list": PROBE_ID, "max_results": 1}))
        time.sleep(arxiv.min_interval_s)  # arXiv asks for one request every few seconds, RSS included
        checks.append(_reach("arxiv rss", http, f"{arxiv.rss_url.rstrip('/')}/{arxiv.categories[0]}", {}))
        hf = cfg.sources.huggingface
        checks.append(
            _reach("huggingface", http, hf.api_url, {"date": time.strftime("%Y-%m-%d")})
            if hf.enabled
            else Check("huggingface", "ok", "disabled (sources.huggingface.enabled)")
        )
    checks += [_store(cfg), _disk(cfg)]
    return checks


def _config(cfg: Config) -> Check:
    if cfg.source is None:
        return Check("config", "warn", "no config file: the built-in defaults (pass --config PATH)")
    return Check("config", "ok", f"{cfg.source} (timezone {cfg.timezone}, language {cfg.language})")


def _existing_parent(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def _output(cfg: Config) -> Check:
    out = Path(cfg.output.dir)
    base = _existing_parent(out)
    if not base.is_dir() or not _writable(base):
        return Check("output", "FAIL", f"{out}: {base} is not a writable directory (output.dir)")
    return Check("output", "ok", f"{out}" + ("" if out.exists() else " (created by the first run)"))


def _log_file(log_file: str) -> Check:
    path = Path(log_file)
    base = _existing_parent(path.parent)
    if path.is_dir() or not base.is_dir() or not _writable(base):
        return Check("log file", "FAIL", f"{path}: cannot be written (schedule.log_file)")
    return Check("log file", "ok", str(path))


def _writable(path: Path) -> bool:
    return os.access(path, os.W_OK | os.X_OK)


def _prompts(cfg: Config) -> Check:
    try:
        directory = prompts_dir(cfg.llm.prompts_dir, language=cfg.language)
    except DigestError as exc:
        return Check("prompts", "FAIL", str(exc))
    # Every template the package ships is one some run asks for (packs, doctor's own request included).
    shipped = prompts_dir(None, language=cfg.language)
    missing = sorted(t.name for t in shipped.glob("*.j2") if not (directory / t.name).is_file())
    if missing:
        return Check("prompts", "FAIL", f"{directory}: missing {', '.join(missing)}")
    return Check("prompts", "ok", str(directory))


def _key(cfg: Config) -> Check:
    if not cfg.llm_configured():
        return Check("key", "warn", f"{cfg.key_not_set()}; digests are written without analyses")
    try:
        cfg.check_api_key()  # a key that cannot be a header is never sent
    except ConfigError as exc:
        return Check("key", "FAIL", str(exc))
    from digest.llm import build_provider

    where = f"{cfg.llm.provider} {cfg.llm.model}" + (
        f" at {public_url(cfg.llm.base_url)}" if cfg.llm.base_url else ""
    )
    prompt = render_prompt("doctor", directory=prompts_dir(None, language=cfg.language))
    try:
        build_provider(cfg.llm, cfg.api_key() or None).generate(prompt)
    except AuthError as exc:
        return Check("key", "FAIL", f"invalid: {exc}")
    except QuotaExhausted as exc:
        return Check("key", "FAIL", f"quota exhausted ({cfg.llm.api_key_env}, {where}): {exc}")
    except RateLimited:
        return Check("key", "ok", f"accepted, but rate-limited right now ({where})")
    except DigestError as exc:
        return Check("key", "FAIL", f"{where} unreachable or failing: {exc}")
    return Check("key", "ok", f"accepted by {where}")


def _reach(name: str, http: httpx.Client, url: str, params: dict[str, object]) -> Check:
    start = time.monotonic()
    try:
        response = http.get(url, params=params)
    except httpx.HTTPError as exc:
        return Check(name, "FAIL", f"{public_url(url)} unreachable: {one_line(exc)}")
    took = f"{time.monotonic() - start:.1f} s"
    if response.status_code >= 400:
        return Check(name, "FAIL", f"{public_url(url)} answered HTTP {response.status_code} ({took})")
    return Check(name, "ok", f"{public_url(url)} HTTP {response.status_code} ({took})")


def _store(cfg: Config) -> Check:
    path = Path(cfg.store.path)
    if not path.exists():
        return Check("store", "ok", f"{path} not created yet (the first run creates it)")
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
            result = db.execute("PRAGMA quick_check").fetchone()[0]
            version = db.execute("SELECT MAX(version) FROM schema_version").fetchone()[0] or 0
            days = db.execute("SELECT COUNT(*) FROM days").fetchone()[0]
    except sqlite3.DatabaseError as exc:
        return Check(
            "store", "FAIL", f"{path}: not a readable digest store ({exc}); move it aside to start anew"
        )
    if result != "ok":
        return Check("store", "FAIL", f"{path}: quick_check found damage: {result}")
    if version > len(MIGRATIONS):
        return Check("store", "FAIL", f"{path}: schema v{version} is newer than this digest; upgrade digest")
    size = path.stat().st_size / 1e6
    later = " (migrated on the next run)" if version < len(MIGRATIONS) else ""
    return Check(
        "store", "ok", f"{path}: quick_check ok, schema v{version}{later}, {days} day(s), {size:.1f} MB"
    )


def _disk(cfg: Config) -> Check:
    base = _existing_parent(Path(cfg.output.dir))
    free = shutil.disk_usage(base).free
    detail = f"{free / 1e9:.1f} GB free at {base}"
    return Check("disk", "ok" if free >= MIN_FREE_BYTES else "FAIL", detail)
