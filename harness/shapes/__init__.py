"""Task shapes: what a model predicts per example, and everything about a task that follows from it.

A task's YAML names its shape (`shape: tags`); each shape is one module here (harness/shapes/tags.py)
holding one registered `Shape`: the schema its reader fills, the inputs that change features, its two
runners, scoring, prediction rows, bootstrap units, split stratification, Hub task type, run-report
section and text-to-text view. Nothing outside this package branches on a shape's name.

The registry is lazy, as the task registry is: listing tasks checks shape names against the modules
of this package without importing them (the token shapes import torch); a shape's module is imported the first
time a task of that shape runs. A shape defined elsewhere (a plug-in, a test) joins with `register`.

May import: harness.tasks, harness.config, harness.errors, harness.data.labels, records and values helpers,
harness.formats, harness.runners, harness.metrics. Imported by: tasks (names only),
data, api, uncertainty and the renderers.
"""
from __future__ import annotations

import importlib
import pkgutil
from typing import TYPE_CHECKING

from harness.errors import TaskError

if TYPE_CHECKING:
    from harness.shapes.base import Shape
    from harness.tasks import TaskSpec

# The shape a task gets when its YAML names none, by its first format.
DEFAULT_SHAPES = {"n21": "sequence", "n2n": "tags", "n2m": "generation"}
_HELPERS = {"base"}  # modules of this package that define no shape
_REGISTERED: dict[str, Shape] = {}


def register(shape: Shape) -> Shape:
    """Add a shape under its name (a module of this package calls this once, at import)."""
    if not shape.name.isidentifier():
        raise TaskError(f"a shape's name must be an identifier, got {shape.name!r}")
    _REGISTERED[shape.name] = shape
    return shape


def unregister(name: str) -> None:
    """Forget a shape added with `register` (tests that define one clean up with this)."""
    _REGISTERED.pop(name, None)


def shape_names() -> list[str]:
    """Every known shape: the registered ones and the modules of this package, without importing them."""
    modules = {m.name for m in pkgutil.iter_modules(__path__) if m.name not in _HELPERS and not m.name.startswith("_")}
    return sorted(modules | _REGISTERED.keys())


def get_shape(name: str) -> Shape:
    """The shape of that name, importing its module on first use."""
    if name not in _REGISTERED:
        if name not in shape_names():
            raise TaskError(f"unknown shape {name!r}; known shapes: {', '.join(shape_names())}")
        importlib.import_module(f"{__name__}.{name}")
        if name not in _REGISTERED:
            raise TaskError(f"harness/shapes/{name}.py registers no shape named {name!r}")
    return _REGISTERED[name]


def shape_of(task: TaskSpec) -> Shape:
    """The shape a task runs as."""
    return get_shape(task.shape)


def schema_of(task: TaskSpec) -> Shape:
    """The shape whose example schema the task's data is read into (a text-to-text view reads its task's)."""
    return get_shape(task.schema)
