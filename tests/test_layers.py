"""The package's floors: the import-linter contract in pyproject.toml holds, imports inside functions included."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

importlinter_cli = pytest.importorskip("importlinter.cli", reason="import-linter is in the dev extra")

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = ROOT / "pyproject.toml"


def _lint(config: Path) -> int:
    """lint-imports' exit status on `config`, run in a process of its own (import-linter configures logging for
    the whole process, which would silence the log records later tests read), from the checkout's root: the
    contract names `harness`, the checkout's package, not an installed one."""
    check = (f"import sys; from {importlinter_cli.__name__} import lint_imports; "
             f"sys.exit(lint_imports(config_filename={str(config)!r}, no_cache=True, no_logo=True))")
    return subprocess.run([sys.executable, "-c", check], cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
                          timeout=300).returncode


def test_the_package_keeps_its_layers():
    assert _lint(PYPROJECT) == 0, "an import runs against the layers in pyproject.toml; see the output"


def test_a_broken_contract_fails(tmp_path):
    """The check can fail: the same contract with errors moved to the top floor is broken by every import of it."""
    text = PYPROJECT.read_text()
    broken = re.sub(r'\n    "harness.errors",\n', "\n", text)
    broken = broken.replace('layers = [\n', 'layers = [\n    "harness.errors",\n', 1)
    assert broken.count('"harness.errors"') == 1 and broken != text
    config = tmp_path / "pyproject.toml"
    config.write_text(broken)
    assert _lint(config) == 1


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
