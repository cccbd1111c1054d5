"""Task shapes: what a model predicts per example, and everything about a task that follows from it.

A task's YAML names its shape (`shape: tags`); each shape is one module here (harness/shapes/tags.py)
holding one registered `Shape`: the schema its reader fills, the inputs that change features, its two
runners, scoring, prediction rows, bootstrap units, split stratification, Hub task type, run-report
section and text-to-text view. Nothing outside this package branches on a shape's name.

The registry is lazy, as the task registry is: listing tasks checks shape names against the modules
of this package without importing them (the token shapes import torch); a shape's module is imported the first
time a task of that shape runs. A shape defined elsewhere (a plug-in, a test) joins with `register`.

The registry itself is harness/shape_registry.py, re-exported here: the modules below this package
(tasks, data, formats, runners) look shapes up there.

May import: the layers below it in pyproject.toml's [tool.importlinter] contract: harness.runners,
harness.formats, harness.data, harness.tasks, harness.metrics, harness.shape_registry, harness.config,
harness.models, harness.precision, harness.errors. Imported by: harness.hf, uncertainty, results, api and the
renderers.
"""
from harness.shape_registry import DEFAULT_SHAPES, get_shape, register, schema_of, shape_names, shape_of, unregister

__all__ = ["DEFAULT_SHAPES", "get_shape", "register", "schema_of", "shape_names", "shape_of", "unregister"]
