"""Provenance of a run: library versions, Python, platform, device, and the harness's version and git commit.

Recorded in every result so a score can be traced to the code and environment that produced it.
"""
from __future__ import annotations

import os
import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path

_LIBRARIES = ("torch", "transformers", "datasets", "torchmetrics", "scikit-learn", "numpy", "pandas", "accelerate")


def environment() -> dict:
    """Library versions, Python, platform and the harness's own version and git commit."""
    versions = {}
    for name in _LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {
        "harness_version": _harness_version(),
        "git_commit": _git_commit(),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "libraries": versions,
    }


def device_info(device: str) -> dict:
    """The device a run computed on (Runner.device), the processes it ran in, and torch's threads where torch is
    loaded: a frozen run whose features were all cached trains an sklearn head without it."""
    info = {"device": device, "world_size": int(os.environ.get("WORLD_SIZE", "1"))}
    torch = sys.modules.get("torch")
    if torch is not None:
        info["torch_threads"] = torch.get_num_threads()
    if device.startswith("cuda"):
        info["gpu"] = torch.cuda.get_device_name(0)
    else:
        info["cpu"] = platform.processor() or platform.machine()
    return info


def _harness_version() -> str:
    try:
        return metadata.version("harness")
    except metadata.PackageNotFoundError:
        return "unknown"


def _git_commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=Path(__file__).resolve().parent, capture_output=True, text=True, timeout=5
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None
