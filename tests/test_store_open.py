"""open_store: the store of a config for one block, under the store lock if asked, closed after it."""

from __future__ import annotations

import pytest

from digest.config import Config
from digest.errors import StoreError
from digest.store import Store, open_store


def _cfg(tmp_path, lock_timeout_s: float = 0.05) -> Config:
    return Config(store={"path": str(tmp_path / "output" / "digest.db"), "lock_timeout_s": lock_timeout_s})


def test_the_lock_is_held_while_the_store_is_open_and_released_after(tmp_path):
    cfg = _cfg(tmp_path)
    with open_store(cfg, lock=True) as store:
        assert isinstance(store, Store)
        with (
            pytest.raises(StoreError, match="another digest process holds the store lock"),
            open_store(cfg, lock=True),
        ):
            pass
        with open_store(cfg) as reader:  # without lock=True: no wait, the same file
            assert reader is not None and reader.path == store.path
    with open_store(cfg, lock=True) as again:  # the lock went with the block
        assert again is not None


def test_create_false_on_a_missing_store_yields_none_and_creates_nothing(tmp_path):
    cfg = _cfg(tmp_path)
    for lock in (False, True):
        with open_store(cfg, lock=lock, create=False) as store:
            assert store is None
    assert not (tmp_path / "output").exists()  # no store, no lock file, not even the folder
    with open_store(cfg):  # create=True (the default) makes it
        pass
    with open_store(cfg, create=False) as store:
        assert isinstance(store, Store) and store.dates() == []


def test_the_store_is_closed_after_the_block_even_when_it_raises(tmp_path):
    cfg = _cfg(tmp_path)
    with open_store(cfg) as store:
        assert store.dates() == []
    with pytest.raises(StoreError, match="closed"):
        store.dates()
    with pytest.raises(RuntimeError, match="boom"), open_store(cfg, lock=True) as failing:
        raise RuntimeError("boom")
    with pytest.raises(StoreError, match="closed"):
        failing.dates()
    with open_store(cfg, lock=True) as store:  # and its lock was released
        assert store is not None
