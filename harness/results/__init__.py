"""Run results: the store on disk and the result set the renderers read.

- store: RunResult and its checks (schema and every field), the run folder layout, reading a run and its prediction
  rows, and `atomic_write`, the one writer every file the project writes goes through (results,
  predictions, leaderboards, reports, exports).
- provenance: the environment recorded in each result.
- lock: one run at a time per run folder (imported by itself: it needs POSIX flock).
- resultset: ResultSet, every run of a reports folder read once, with its prediction rows and
  bootstrap intervals on demand.
- frame: the results as one pandas table, a row per run, that the leaderboards and README's headline read.
- recipe: a run's recipe as it ran, read from its result, and the line the leaderboards give it.
- verify: what a result must prove before it is shown (its scores recomputed from its predictions, its row
  count, its folder), and what --resume checks before it keeps one.

Data flows one way: runners write results here, and leaderboard, report and export read them
from here. May import (pyproject.toml's import contract): harness.uncertainty and every layer below it;
nothing in this package imports a renderer.
"""
from harness.results.provenance import device_info, environment
from harness.results.store import (
    PREDICTIONS_FILE,
    RESULT_FILE,
    RUN_MODES,
    SCHEMA,
    RunResult,
    atomic_write,
    atomic_write_text,
    read_result,
    run_dir,
    writable_file,
    writable_folder,
    write_run,
)
from harness.results.resultset import ResultSet, Run, load_results, task_spec
from harness.uncertainty import read_prediction_rows

__all__ = ["PREDICTIONS_FILE", "RESULT_FILE", "RUN_MODES", "SCHEMA", "ResultSet", "Run", "RunResult", "atomic_write",
           "atomic_write_text", "device_info", "environment", "load_results", "read_prediction_rows", "read_result",
           "run_dir", "task_spec", "writable_file", "writable_folder", "write_run"]
