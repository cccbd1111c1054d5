"""Run results on disk: one folder per (model, task, mode, seed) with result.json and predictions.jsonl."""
from harness.results.store import (
    PREDICTIONS_FILE,
    RESULT_FILE,
    SCHEMA,
    RunResult,
    atomic_write_text,
    device_info,
    environment,
    read_result,
    run_dir,
    write_run,
)

__all__ = ["PREDICTIONS_FILE", "RESULT_FILE", "SCHEMA", "RunResult", "atomic_write_text", "device_info",
           "environment", "read_result", "run_dir", "write_run"]
