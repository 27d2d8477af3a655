"""A built wheel, installed into a fresh venv (not editable), writes a digest with every analysis."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

from tests.e2e_helpers import DAY, KEY, KEY_ENV, llm_server, write_config

ROOT = Path(__file__).resolve().parent.parent


def _sh(*cmd: object, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, f"{cmd}: exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    return proc


def _wheel(tmp: Path) -> Path:
    """Build from a copy of the source tree so the build leaves nothing in the checkout."""
    src = tmp / "src"
    shutil.copytree(
        ROOT,
        src,
        symlinks=True,
        ignore=shutil.ignore_patterns(
            ".git",
            ".venv",
            "build",
            "dist",
            "*.egg-info",
            "__pycache__",
            "output",
            ".pytest_cache",
            ".ruff_cache",
        ),
    )
    _sh(
        sys.executable,
        "-m",
        "pip",
        "wheel",
        "--no-deps",
        "--no-build-isolation",
        "--no-index",
        "-w",
        tmp / "dist",
        src,
        cwd=tmp,
    )
    (wheel,) = (tmp / "dist").glob("digest-*.whl")
    return wheel


def _fresh_venv(tmp: Path, wheel: Path) -> Path:
    """A new venv holding the wheel; its dependencies come from this test's environment (offline)."""
    venv = tmp / "venv"
    _sh(sys.executable, "-m", "venv", "--without-pip", venv, cwd=tmp)
    _sh(
        sys.executable,
        "-m",
        "pip",
        "--python",
        venv / "bin" / "python",
        "install",
        "--no-index",
        "--no-deps",
        wheel,
        cwd=tmp,
    )
    site = Path(
        _sh(
            venv / "bin" / "python", "-c", "import sysconfig; print(sysconfig.get_path('purelib'))", cwd=tmp
        ).stdout.strip()
    )
    # A plain path line: the test venv's own .pth files (its editable digest) are not processed from here.
    (site / "zz_test_deps.pth").write_text(sysconfig.get_path("purelib") + "\n", encoding="utf-8")
    return venv


def test_wheel_in_a_fresh_venv_writes_a_digest_with_analyses(tmp_path, arxiv):
    venv = _fresh_venv(tmp_path, _wheel(tmp_path))
    digest = venv / "bin" / "digest"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "DIGEST_CONFIG")} | {KEY_ENV: KEY}

    where = _sh(
        venv / "bin" / "python", "-c", "import digest; print(digest.__file__)", cwd=elsewhere, env=env
    )
    assert where.stdout.startswith(str(venv))
    version = _sh(digest, "--version", cwd=elsewhere, env=env)
    assert version.stdout.strip() == "digest 0.1.0"

    home = tmp_path / "home"
    home.mkdir()
    with llm_server() as llm:
        cfg = write_config(home, arxiv_url=arxiv.url, llm_url=llm.url)
        _sh(digest, "run", "--date", DAY, "--config", cfg, cwd=elsewhere, env=env)
        assert llm.stats.requests == 5  # 2 packs, 2 deep dives, the summary
    text = (home / "output" / f"{DAY}.md").read_text(encoding="utf-8")
    assert "主要贡献" in text and "分析暂缺" not in text
    assert list(elsewhere.iterdir()) == []
