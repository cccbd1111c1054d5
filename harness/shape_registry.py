"""The shape registry: a task's shape by name, for the modules below harness/shapes/ that need one.

It lives below the shapes (and below tasks, data, formats and runners, which look shapes up) so that those
imports run downward; the shapes' own modules join it with `register` when harness/shapes/ imports them by
name, on first use. Listing the names reads the folder's file names without importing them (the token
shapes import torch).

May import: harness.errors. Imported by: harness.shapes (which re-exports it), tasks, data, formats, runners,
hf, uncertainty, api and the renderers.
"""
from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path
from typing import TYPE_CHECKING

from harness.errors import TaskError

if TYPE_CHECKING:  # type hints only: both modules sit above this one
    from harness.shapes.base import Shape
    from harness.tasks import TaskSpec

# The shape a task gets when its YAML names none, by its first format.
DEFAULT_SHAPES = {"n21": "sequence", "n2n": "tags", "n2m": "generation"}
_PACKAGE = "harness.shapes"  # one module per shape
_FOLDER = Path(__file__).with_name("shapes")
_HELPERS = {"base"}  # modules of harness/shapes/ that define no shape
_REGISTERED: dict[str, Shape] = {}


def register(shape: Shape) -> Shape:
    """Add a shape under its name (a module of harness/shapes/ calls this once, at import)."""
    if not shape.name.isidentifier():
        raise TaskError(f"a shape's name must be an identifier, got {shape.name!r}")
    _REGISTERED[shape.name] = shape
    return shape


def unregister(name: str) -> None:
    """Forget a shape added with `register` (tests that define one clean up with this)."""
    _REGISTERED.pop(name, None)


def shape_names() -> list[str]:
    """Every known shape: the registered ones and the modules of harness/shapes/, without importing them."""
    modules = {m.name for m in pkgutil.iter_modules([str(_FOLDER)]) if m.name not in _HELPERS and not m.name.startswith("_")}
    return sorted(modules | _REGISTERED.keys())


def get_shape(name: str) -> Shape:
    """The shape of that name, importing its module on first use."""
    if name not in _REGISTERED:
        if name not in shape_names():
            raise TaskError(f"unknown shape {name!r}; known shapes: {', '.join(shape_names())}")
        importlib.import_module(f"{_PACKAGE}.{name}")
        if name not in _REGISTERED:
            raise TaskError(f"harness/shapes/{name}.py registers no shape named {name!r}")
    return _REGISTERED[name]


def shape_of(task: TaskSpec) -> Shape:
    """The shape a task runs as."""
    return get_shape(task.shape)


def schema_of(task: TaskSpec) -> Shape:
    """The shape whose example schema the task's data is read into (a text-to-text view reads its task's)."""
    return get_shape(task.schema)
