"""Relative paths in a config file resolve against the file's directory, not the working directory."""

from __future__ import annotations

import json

import yaml

from digest.cli import main
from digest.config import load_config
from tests.e2e_helpers import DAY, write_config


def _relative_config(tmp_path, arxiv_url):
    home = tmp_path / "w1"
    home.mkdir()
    cfg = write_config(home, arxiv_url=arxiv_url)
    data = yaml.safe_load(cfg.read_text(encoding="utf-8"))
    data["output"]["dir"] = "out"
    data["store"]["path"] = "data/digest.db"
    cfg.write_text(yaml.safe_dump(data), encoding="utf-8")
    return home


def test_another_directory_finds_the_same_store_and_creates_nothing(
    tmp_path, arxiv, no_key, capsys, monkeypatch
):
    home = _relative_config(tmp_path, arxiv.url)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert main(["run", "--date", DAY, "--config", "../w1/config.yaml"]) == 0
    assert (home / "out" / f"{DAY}.md").exists() and (home / "data" / "digest.db").exists()
    capsys.readouterr()
    assert main(["status", "--date", DAY, "--json", "--config", "../w1/config.yaml"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["papers"]["total"] > 0
    monkeypatch.chdir(home)
    assert main(["status", "--date", DAY, "--json", "--config", "config.yaml"]) == 0
    assert json.loads(capsys.readouterr().out)["papers"]["total"] == data["papers"]["total"]
    assert list(elsewhere.iterdir()) == []


def test_every_path_key_resolves_against_the_config_directory(tmp_path, monkeypatch):
    (tmp_path / "w").mkdir()
    (tmp_path / "w" / "c.yaml").write_text(
        "output: {dir: out}\nstore: {path: s/d.db}\nllm: {prompts_dir: my_prompts}\n"
        "schedule: {log_file: logs/digest.log}\n",
        encoding="utf-8",
    )
    monkeypatch.chdir(tmp_path)
    cfg = load_config("w/c.yaml")
    home = (tmp_path / "w").resolve()
    assert cfg.output.dir == str(home / "out")
    assert cfg.store.path == str(home / "s" / "d.db")
    assert cfg.llm.prompts_dir == str(home / "my_prompts")
    assert cfg.schedule.log_file == str(home / "logs" / "digest.log")


def test_absolute_paths_and_home_are_kept(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "h"))
    (tmp_path / "c.yaml").write_text(
        f"output: {{dir: {tmp_path / 'abs'}}}\nstore: {{path: ~/d.db}}\n", encoding="utf-8"
    )
    cfg = load_config(tmp_path / "c.yaml")
    assert cfg.output.dir == str(tmp_path / "abs")
    assert cfg.store.path == str(tmp_path / "h" / "d.db")


def test_without_a_config_file_stderr_says_defaults_and_where_output_goes(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("DIGEST_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)
    assert main(["status", "--date", DAY]) == 0
    err = capsys.readouterr().err
    assert "no config file" in err and "built-in defaults" in err
    assert str(tmp_path / "output") in err


def test_a_path_up_from_the_config_directory_is_written_plainly(tmp_path, arxiv, no_key, capsys):
    conf = tmp_path / "conf"
    conf.mkdir()
    cfg = write_config(conf, arxiv_url=arxiv.url)
    data = yaml.safe_load(cfg.read_text(encoding="utf-8"))
    data["output"]["dir"], data["store"]["path"] = "../site", "../state/digest.db"
    cfg.write_text(yaml.safe_dump(data), encoding="utf-8")
    assert load_config(cfg).output.dir == str((tmp_path / "site").resolve())
    assert main(["run", "--date", DAY, "--config", str(cfg)]) == 0
    said = capsys.readouterr().out  # "wrote .../site/2025-06-02.md", not ".../conf/../site/..."
    assert f"wrote {(tmp_path / 'site').resolve() / DAY}.md" in said and ".." not in said
