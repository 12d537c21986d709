"""Fixtures for the data tests: no test may reach the network or the user's cache."""

from __future__ import annotations

from pathlib import Path

import pytest

from gankit.data import mnist


@pytest.fixture(autouse=True)
def offline(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """An empty $GANKIT_HOME and a download that fails as it would offline; returns the home."""

    def no_network(name: str, folder: Path) -> None:
        raise OSError("network disabled in tests")

    monkeypatch.setattr(mnist, "download", no_network)
    home = tmp_path / "gankit-home"
    monkeypatch.setenv("GANKIT_HOME", str(home))
    return home
