"""Configuration mistakes are caught at load, before any network, with a message that says what to do."""

from __future__ import annotations

import pytest

from digest.cli import main
from tests.e2e_helpers import DAY, KEY_ENV, llm_server, read_digest, write_config


@pytest.mark.parametrize("name", ["deepseek", "fake"])
def test_unknown_provider_exits_2_before_any_request(tmp_path, arxiv, key, capsys, name):
    cfg = write_config(tmp_path, arxiv_url=arxiv.url, llm__provider=name)
    assert main(["run", "--date", DAY, "--config", str(cfg)]) == 2
    err = capsys.readouterr().err
    assert f"llm.provider: unknown provider {name!r}" in err
    assert "gemini" in err and "provider: openai" in err and "base_url" in err
    assert "fake" not in err.replace(f"{name!r}", "")  # the test double is not offered
    assert arxiv.services.log == []
    assert not (tmp_path / "output").exists()


def test_unset_key_for_openai_endpoint_says_not_set_and_sends_nothing(tmp_path, arxiv, no_key, capsys):
    with llm_server() as llm:
        cfg = write_config(
            tmp_path,
            arxiv_url=arxiv.url,
            llm__provider="openai",
            llm__model="deepseek-chat",
            llm__base_url=llm.openai_url,
        )
        assert main(["run", "--date", DAY, "--config", str(cfg)]) == 0
        assert llm.stats.requests == 0
    err = capsys.readouterr().err
    assert f"{KEY_ENV} is not set" in err and "rejected" not in err
    page = read_digest(tmp_path).text  # the hint is the operator's: stderr, never the reader's page
    assert KEY_ENV not in page and "环境变量" not in page and "本期未生成 AI 分析" in page


def test_retry_without_key_says_not_set(tmp_path, arxiv, no_key, capsys):
    cfg = write_config(tmp_path, arxiv_url=arxiv.url)
    assert main(["run", "--date", DAY, "--config", str(cfg)]) == 0
    assert main(["retry", "--date", DAY, "--config", str(cfg)]) == 2
    assert f"{KEY_ENV} is not set" in capsys.readouterr().err


def test_keyless_endpoint_is_explicit(tmp_path, arxiv, no_key):
    with llm_server(api_key=None) as llm:
        cfg = write_config(
            tmp_path,
            arxiv_url=arxiv.url,
            llm__provider="openai",
            llm__model="qwen",
            llm__base_url=llm.openai_url,
            llm__api_key_env=None,
        )
        assert main(["run", "--date", DAY, "--config", str(cfg)]) == 0
        assert llm.stats.requests == 5  # 2 packs, 2 deep dives, the summary
    assert "分析暂缺" not in read_digest(tmp_path).text


def test_gemini_without_a_key_variable_is_a_config_error(tmp_path, capsys):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("llm:\n  provider: gemini\n  api_key_env: null\n", encoding="utf-8")
    assert main(["status", "--config", str(cfg)]) == 2
    assert "llm: api_key_env is null" in capsys.readouterr().err
