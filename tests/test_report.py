"""`harness report`: one run's page, from hand-made result and prediction files."""
from __future__ import annotations

from pathlib import Path

import pytest

from harness import uncertainty
from harness.cli import main
from harness.errors import DataError
from harness.metrics import compute_scores, main_score
from harness.report import REPORT_FILE, render_report, write_report
from harness.results import RunResult, write_run
from harness.tasks import REGISTRY

PROVENANCE = {
    "harness_version": "0.1.0", "git_commit": "abc123", "python": "3.11.7", "platform": "Linux",
    "model": {"name": "minilm", "hub_id": "sentence-transformers/all-MiniLM-L6-v2", "weights_sha256": "53aa5117"},
    "data": {"validation": {"kind": "file", "path": "glue/MNLI/dev_matched.tsv", "sha256": "deadbeef"}},
    "device": {"device": "cpu", "torch_threads": 2},
    "libraries": {"torch": "2.13.0+cpu", "numpy": "2.4.6"},
    "hyperparameters": {"learning_rate": 0.0001, "epochs": 3.0, "seed": 42, "max_train_samples": None},
}
TIMINGS = {"extraction_s": 12.5, "training_s": 3.25, "total_s": 16.0, "trainable_parameters": 1155,
           "extraction_examples_per_s": 110.7}


def _run(folder: Path, task: str, labels: list, predictions: list, **changes) -> Path:
    spec = REGISTRY.get(f"glue/{task}")
    scores = compute_scores(list(spec.metrics), predictions, labels)
    fields = dict(suite="glue", task=task, task_version=1, model="minilm", mode="frozen", seed=42, scores=scores,
                  main_score=main_score(scores, spec.main_score), split_strategy="official", num_train=500,
                  num_eval=len(labels), provenance=PROVENANCE, timings=TIMINGS)
    fields.update(changes)
    rows = [{"id": f"dev:{i:03d}", "fold": 0, "label": label, "prediction": prediction}
            for i, (label, prediction) in enumerate(zip(labels, predictions))]
    write_run(folder, RunResult(**fields), rows)
    return folder


@pytest.fixture
def mnli(tmp_path) -> Path:
    # gold entailment (0): 5 right, 2 predicted neutral; neutral (1): 3 right, 1 predicted contradiction;
    # contradiction (2): 4 right, 1 predicted entailment.
    pairs = [(0, 0)] * 5 + [(0, 1)] * 2 + [(1, 1)] * 3 + [(1, 2)] + [(2, 2)] * 4 + [(2, 0)]
    return _run(tmp_path / "run", "mnli", [g for g, _ in pairs], [p for _, p in pairs])


def test_classification_report_has_per_class_scores_and_the_confusion_matrix(mnli):
    text = write_report(mnli).read_text(encoding="utf-8")
    assert text.startswith("# `minilm` on glue/mnli, frozen, seed 42\n")
    # precision = right / predicted as the class, recall = right / gold of the class
    #   entailment    5/6 = 83.33, 5/7 = 71.43, F1 2*5/(6+7) = 76.92, support 7
    #   neutral       3/5 = 60.00, 3/4 = 75.00, F1 6/9 = 66.67, support 4
    #   contradiction 4/5 = 80.00, 4/5 = 80.00, F1 80.00, support 5
    assert ("| class | precision | recall | F1 | support |\n|---|---|---|---|---|\n"
            "| entailment | 83.33 | 71.43 | 76.92 | 7 |\n"
            "| neutral | 60.00 | 75.00 | 66.67 | 4 |\n"
            "| contradiction | 80.00 | 80.00 | 80.00 | 5 |\n") in text
    assert ("| gold \\ predicted | entailment | neutral | contradiction |\n|---|---|---|---|\n"
            "| entailment | 5 | 2 | 0 |\n| neutral | 0 | 3 | 1 |\n| contradiction | 1 | 0 | 4 |\n") in text
    assert "## Worst predictions" not in text


def test_scores_have_their_bootstrap_interval(mnli):
    text = render_report(mnli)
    labels = [0] * 7 + [1] * 4 + [2] * 5
    predictions = [0] * 5 + [1] * 2 + [1] * 3 + [2] + [2] * 4 + [0]
    interval = uncertainty.bootstrap(["accuracy"], predictions, labels)["accuracy"]  # ids dev:000.. keep this order
    row = f"{interval.estimate:.2f} | [{interval.low:.2f}, {interval.high:.2f}] |"
    assert f"| main (accuracy) | {row}" in text and f"| accuracy | {row}" in text
    assert "over the 16 evaluation examples (1,000 resamples, seed 0)" in text
    assert "(200 resamples" in render_report(mnli, resamples=200)


def test_regression_report_lists_the_largest_errors(tmp_path):
    labels = [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 2.5] + [1.0] * 8
    predictions = [0.5, 3.5, 2.0, 3.25, 1.0, 4.0, 2.5] + [1.1] * 8
    scores = {**compute_scores(["pearson", "spearman"], predictions, labels), "cosine_pearson": 10.0}
    text = render_report(_run(tmp_path / "stsb", "stsb", labels, predictions, scores=scores))
    worst = text.split("## Worst predictions", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in worst.splitlines() if line.startswith("| `")]
    assert len(rows) == 10
    assert rows[:4] == ["| `dev:004` | 4.0000 | 1.0000 | 3.0000 |", "| `dev:001` | 1.0000 | 3.5000 | 2.5000 |",
                        "| `dev:005` | 5.0000 | 4.0000 | 1.0000 |", "| `dev:000` | 0.0000 | 0.5000 | 0.5000 |"]
    assert "## Per class" not in text and "## Confusion matrix" not in text
    assert "| main (pearson + spearman) |" in text
    # official metrics first; a score the predictions file cannot recompute (no cosine column) has no interval
    assert text.index("| pearson |") < text.index("| spearman |") < text.index("| cosine_pearson | 10.00 | – |")


def test_configuration_provenance_and_timings(mnli):
    text = render_report(mnli)
    config = text.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    assert "| split strategy | official |" in config and "| train examples | 500 |" in config
    assert "| sample caps | none |" in config and "| `learning_rate` | 0.0001 |" in config
    assert "| `max_train_samples` | – |" in config
    provenance = text.split("## Provenance", 1)[1].split("\n## ", 1)[0]
    for row in ("| git_commit | abc123 |", "| model: weights_sha256 | 53aa5117 |",
                "| data validation: path | glue/MNLI/dev_matched.tsv |", "| device: device | cpu |",
                "| library: torch | 2.13.0+cpu |"):
        assert row in provenance
    timings = text.split("## Timings and throughput", 1)[1]
    assert "| trainable_parameters | 1,155 |" in timings and "| extraction_examples_per_s | 110.7 |" in timings


def test_kfold_runs_show_the_std_across_folds(tmp_path):
    labels, predictions = [0, 1] * 10, [0, 1] * 8 + [1, 0] * 2
    folder = _run(tmp_path / "cola", "cola", labels, predictions, split_strategy="kfold",
                  scores_std={"mcc": 4.5}, split_note="train missing: stratified 5-fold over validation")
    text = render_report(folder)
    assert "| score | value | 95% interval | ± std across folds |" in text
    assert "| 4.50 |" in text.split("| mcc |", 1)[1].splitlines()[0]
    assert "| split note | train missing: stratified 5-fold over validation |" in text


def test_report_is_deterministic(mnli):
    first = write_report(mnli).read_bytes()
    assert write_report(mnli).read_bytes() == first


def test_cli_report_writes_report_md_and_names_a_wrong_folder(mnli, tmp_path, capsys):
    assert main(["report", str(mnli)]) == 0
    assert capsys.readouterr().out.strip() == f"wrote {mnli / REPORT_FILE}"
    assert main(["report", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert str(tmp_path) in err and "reports/<model>/glue/sst2/frozen-seed42" in err


def test_missing_predictions_are_named(mnli):
    (mnli / "predictions.jsonl").unlink()
    with pytest.raises(DataError, match="predictions.jsonl"):
        render_report(mnli)


def test_an_undefined_score_reads_undefined_without_an_interval(tmp_path):
    # A single-example evaluation: MCC is 0 / 0 whatever was predicted.
    folder = _run(tmp_path / "run", "cola", [1], [1], flags=[{"code": "undefined_correlation", "message": "x"}])
    text = render_report(folder)
    assert "| main (mcc) | undefined | – |" in text and "| mcc | undefined | – |" in text
    assert " nan" not in text and "[0.00, 0.00]" not in text


def test_a_read_only_run_folder_is_one_line_naming_report_md(mnli, monkeypatch, capsys):
    from conftest import read_only_under

    from harness.cli import main

    read_only_under(monkeypatch, mnli)
    assert main(["report", str(mnli)]) == 2
    err = capsys.readouterr().err
    assert err == (f"harness: error: cannot write {mnli / 'report.md'} (Read-only file system): the run folder is not "
                   "writable; make it writable, or copy the run folder somewhere you can write and report there\n")
    assert not list(mnli.glob("*.tmp")) and not (mnli / "report.md").exists()


@pytest.mark.parametrize("written", [REPORT_FILE, "layer-sweep.png"])
def test_a_report_of_a_committed_run_leaves_the_clone_clean(written):
    """`harness report` on a run under the committed reports/ writes its page there: git ignores it."""
    import shutil
    import subprocess

    root = Path(__file__).resolve().parents[1]
    if shutil.which("git") is None or subprocess.run(["git", "rev-parse"], cwd=root, capture_output=True).returncode:
        pytest.skip("not a git clone")
    page = f"reports/minilm/glue/sst2/finetune-seed42/{written}"
    assert subprocess.run(["git", "check-ignore", "-q", page], cwd=root).returncode == 0
    assert subprocess.run(["git", "check-ignore", "-q", "reports/minilm/glue/sst2/finetune-seed42/result.json"],
                          cwd=root).returncode == 1
