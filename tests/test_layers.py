"""The package's floors: the import-linter contract in pyproject.toml holds, imports inside functions included."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

importlinter_cli = pytest.importorskip("importlinter.cli", reason="import-linter is in the dev extra")

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = ROOT / "pyproject.toml"


def _lint(config: Path, monkeypatch) -> int:
    monkeypatch.chdir(ROOT)  # the contract names `harness`: the checkout's package, not an installed one
    monkeypatch.syspath_prepend(str(ROOT))
    return importlinter_cli.lint_imports(config_filename=str(config), no_cache=True, no_logo=True)


def test_the_package_keeps_its_layers(monkeypatch):
    assert _lint(PYPROJECT, monkeypatch) == 0, "an import runs against the layers in pyproject.toml; see the output"


def test_a_broken_contract_fails(tmp_path, monkeypatch):
    """The check can fail: the same contract with errors moved to the top floor is broken by every import of it."""
    text = PYPROJECT.read_text()
    broken = re.sub(r'\n    "harness.errors",\n', "\n", text)
    broken = broken.replace('layers = [\n', 'layers = [\n    "harness.errors",\n', 1)
    assert broken.count('"harness.errors"') == 1 and broken != text
    config = tmp_path / "pyproject.toml"
    config.write_text(broken)
    assert _lint(config, monkeypatch) == 1
