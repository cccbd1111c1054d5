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


def _layers() -> dict[str, int]:
    """Each top-level module's floor in the contract, 0 the top."""
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    contract = tomllib.loads(PYPROJECT.read_text())["tool"]["importlinter"]["contracts"][0]
    return {name.strip(): floor for floor, names in enumerate(contract["layers"]) for name in names.split("|")}


def test_each_package_docstring_names_only_modules_below_it():
    """A package's "May import" line names layers below its own (or an exception the contract lists)."""
    import importlib
    import pkgutil

    import harness

    floors = _layers()
    contract = PYPROJECT.read_text()
    packages = [m.name for m in pkgutil.walk_packages(harness.__path__, "harness.") if m.ispkg]
    checked = 0
    for package in packages:
        doc = importlib.import_module(package).__doc__ or ""
        if "May import" not in doc:
            continue
        checked += 1
        line = doc[doc.index("May import"):].split("Imported by")[0]
        own = floors[".".join(package.split(".")[:2])]
        for name in set(re.findall(r"harness\.[a-z_]+", line)):
            if name == ".".join(package.split(".")[:2]) or f'"{package} -> {name}"' in contract:
                continue
            assert floors[name] > own, f"{package}'s docstring may import {name}, which is not below it"
    assert checked >= 6
