"""`harness export`: model-index YAML for a model card and a flat CSV, from hand-made results."""
from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
import pytest
import yaml

from harness.cli import main
from harness.errors import ConfigError, DataError
from harness.export import export
from harness.results import RunResult, read_result, run_dir, write_run


def _write(root: Path, model: str, task: str, mode: str, seed: int, scores: dict, main: float, **changes) -> None:
    fields = dict(suite="glue", task=task, task_version=1, model=model, mode=mode, seed=seed, scores=scores,
                  main_score=main, split_strategy="official", num_train=100, num_eval=50, provenance={},
                  timings={"total_s": 2.5, "trainable_parameters": 10})
    fields.update(changes)
    write_run(run_dir(root, model, "glue", task, mode, seed), RunResult(**fields), [])


@pytest.fixture
def reports(tmp_path) -> Path:
    root = tmp_path / "reports"
    _write(root, "minilm", "mrpc", "frozen", 42, {"accuracy": 70.0, "f1": 80.0}, 75.0)
    _write(root, "minilm", "mrpc", "finetune", 1, {"accuracy": 84.0, "f1": 88.0}, 86.0)
    _write(root, "minilm", "mrpc", "finetune", 2, {"accuracy": 85.0, "f1": 89.5}, 87.25)
    _write(root, "minilm", "cola", "frozen", 42, {"mcc": 30.123}, 30.123, split_strategy="holdout")
    _write(root, "minilm", "stsb", "frozen", 42, {"pearson": 80.0, "spearman": 79.0, "cosine_pearson": 82.0},
           79.5, capped={"max_train_samples": 64})
    _write(root, "other", "mrpc", "frozen", 42, {"accuracy": 60.0, "f1": 70.0}, 65.0)
    return root


def test_model_index_has_task_dataset_and_metrics_per_mode(reports):
    card = yaml.safe_load(export(reports, "model-index", model="minilm"))
    (entry,) = card["model-index"]
    assert entry["name"] == "minilm"
    by_config = {result["dataset"]["config"]: result for result in entry["results"]}
    assert list(by_config) == ["cola", "mrpc", "stsb"]
    mrpc = by_config["mrpc"]
    assert mrpc["task"] == {"type": "text-classification", "name": "Text Classification"}
    assert mrpc["dataset"] == {"name": "GLUE mrpc", "type": "nyu-mll/glue", "config": "mrpc", "split": "validation"}
    assert mrpc["metrics"] == [
        {"type": "accuracy", "value": 70.0, "name": "accuracy (frozen encoder)"},
        {"type": "f1", "value": 80.0, "name": "f1 (frozen encoder)"},
        {"type": "accuracy", "value": 84.5, "name": "accuracy (fine-tuned, mean of 2 seeds)"},
        {"type": "f1", "value": 88.75, "name": "f1 (fine-tuned, mean of 2 seeds)"},
    ]
    assert by_config["cola"]["metrics"] == [
        {"type": "matthews_correlation", "value": 30.12, "name": "mcc (frozen encoder, holdout of the validation split)"}]
    # official metrics only (no cosine score), with the Hub's names
    assert [(m["type"], m["name"]) for m in by_config["stsb"]["metrics"]] == [
        ("pearsonr", "pearson (frozen encoder, sample caps)"), ("spearmanr", "spearman (frozen encoder, sample caps)")]


def test_model_index_needs_one_model(reports):
    with pytest.raises(ConfigError, match="--model with one of minilm, other"):
        export(reports, "model-index")
    with pytest.raises(DataError, match="models with results: minilm, other"):
        export(reports, "model-index", model="nobody")


def test_csv_has_one_row_per_result_and_metric(reports):
    table = pd.read_csv(io.StringIO(export(reports, "csv")))
    assert list(table.columns) == ["model", "suite", "task", "mode", "seed", "metric", "value", "split_strategy",
                                   "num_train", "num_eval", "trainable_parameters", "total_s"]
    assert len(table) == 4 * 3 + 2 + 4  # mrpc: 4 results of 3 rows; cola: main, mcc; stsb: main and 3 scores
    tuned = table[(table.task == "mrpc") & (table["mode"] == "finetune") & (table.seed == 2)]
    assert dict(zip(tuned.metric, tuned.value)) == {"accuracy": 85.0, "f1": 89.5, "main": 87.25}
    assert table.iloc[0].tolist()[:7] == ["minilm", "glue", "cola", "frozen", 42, "main", 30.123]
    only = pd.read_csv(io.StringIO(export(reports, "csv", model="other")))
    assert set(only.model) == {"other"} and len(only) == 3


def test_cli_export_to_a_file_or_stdout(reports, tmp_path, capsys):
    out = tmp_path / "card.yaml"
    assert main(["export", str(reports), "--format", "model-index", "--model", "minilm", "--out", str(out)]) == 0
    assert yaml.safe_load(out.read_text())["model-index"][0]["name"] == "minilm"
    capsys.readouterr()
    assert main(["export", str(reports), "--format", "csv"]) == 0
    assert capsys.readouterr().out.startswith("model,suite,task,mode,seed,metric,value,")
    assert main(["export", str(reports), "--format", "model-index"]) == 2
    assert "pass --model" in capsys.readouterr().err


def test_klue_results_in_the_repository_export_with_their_task_types_and_own_metric_names():
    import yaml

    from harness.export import export

    reports = Path(__file__).resolve().parents[1] / "reports"
    entries = yaml.safe_load(export(reports, "model-index", model="multilingual-e5-small"))["model-index"][0]["results"]
    by_task = {entry["dataset"]["config"]: entry for entry in entries}
    assert by_task["dp"]["task"]["type"] == by_task["ner"]["task"]["type"] == "token-classification"
    assert by_task["nli"]["task"]["type"] == "text-classification"
    assert {m["type"] for m in by_task["dp"]["metrics"]} == {"dp_uas_macro_f1", "dp_las_macro_f1", "dp_uas_micro_f1",
                                                             "dp_las_micro_f1"}
    assert len(by_task["dp"]["metrics"]) == 8  # four metrics, frozen and fine-tuned


def test_model_index_round_trips_through_huggingface_hub(reports):
    """What the Hub parses from the exported model-index is exactly what was exported."""
    from huggingface_hub import ModelCardData

    from harness.export import eval_results
    from harness.results import ResultSet

    text = export(reports, "model-index", model="minilm")
    parsed = ModelCardData(**yaml.safe_load(text))
    written = eval_results([r for r in ResultSet.load(reports).results if r.model == "minilm"])
    assert parsed.model_name == "minilm"
    assert parsed.eval_results == written
    assert len(written) == 4 + 1 + 2  # mrpc: 2 metrics x 2 modes; cola: mcc; stsb: pearson, spearman
    assert yaml.safe_load(text) == parsed.to_dict()  # and back again, unchanged


def test_model_index_of_the_committed_reports_round_trips():
    """Views (sst2-n2m) stay entries of their own: text2text generation on the same dataset as sst2."""
    from huggingface_hub import ModelCardData

    reports = Path(__file__).resolve().parents[1] / "reports"
    for model in ("minilm", "multilingual-e5-small"):
        metadata = yaml.safe_load(export(reports, "model-index", model=model))
        parsed = ModelCardData(**metadata)
        assert parsed.to_dict() == metadata
    entries = {e["dataset"]["name"]: e for e in yaml.safe_load(export(reports, "model-index", model="minilm"))[
        "model-index"][0]["results"]}
    assert entries["GLUE sst2-n2m"]["task"]["type"] == "text2text-generation"
    assert entries["GLUE sst2"]["task"]["type"] == "text-classification"


def test_card_has_metadata_intervals_modes_and_provenance(tmp_path):
    """A card from real runs (predictions included): the Hub reads its metadata back, and its table shows each
    metric frozen and fine-tuned with intervals, and the main score's difference with its paired interval."""
    import shutil

    from huggingface_hub import ModelCard

    source = Path(__file__).resolve().parents[1] / "reports" / "minilm" / "glue" / "mrpc"
    reports = tmp_path / "reports"
    shutil.copytree(source, reports / "minilm" / "glue" / "mrpc")
    text = export(reports, "card", model="minilm")
    card = ModelCard(text)
    assert card.data.eval_results[0].dataset_name == "GLUE mrpc"
    frozen, tuned = (read_result(source / f"{mode}-seed42" / "result.json") for mode in ("frozen", "finetune"))
    assert [r.metric_value for r in card.data.eval_results] == [
        round(run.scores[name], 2) for run in (frozen, tuned) for name in ("accuracy", "f1")]
    lines = text.splitlines()
    main = next(line for line in lines if line.startswith("| mrpc | **main** (accuracy + f1) |"))
    cells = [cell.strip() for cell in main.strip("|").split("|")]
    assert cells[2].startswith(f"{frozen.main_score:.2f} [") and cells[3].startswith(f"{tuned.main_score:.2f} [")
    # fine-tuned minus frozen, with its paired interval
    assert cells[4].startswith(f"{tuned.main_score - frozen.main_score:+.2f} [")
    assert any(line.startswith("|  | f1 | 84.81 [") for line in lines)
    assert "`sentence-transformers/all-MiniLM-L6-v2`, weights sha256 `53aa51172d142c89`" in text
    assert "validation `glue/MRPC/dev.tsv` (sha256 `81c8a1a9e1df`)" in text


def test_card_needs_one_model(reports):
    with pytest.raises(ConfigError, match="--model with one of minilm, other"):
        export(reports, "card")


def test_an_undefined_score_is_an_empty_csv_value_and_left_out_of_the_model_index(tmp_path):
    _write(tmp_path, "m", "cola", "frozen", 42, {"mcc": float("nan")}, float("nan"))
    _write(tmp_path, "m", "stsb", "frozen", 42, {"pearson": float("nan"), "spearman": 10.0}, float("nan"))
    table = pd.read_csv(io.StringIO(export(tmp_path, "csv")))
    values = {(task, metric): value for task, metric, value in zip(table["task"], table["metric"], table["value"])}
    assert pd.isna(values[("cola", "mcc")]) and pd.isna(values[("cola", "main")]) and values[("stsb", "spearman")] == 10
    assert "nan" not in export(tmp_path, "csv").lower()
    card = yaml.safe_load(export(tmp_path, "model-index"))
    metrics = {r["dataset"]["config"]: r["metrics"] for r in card["model-index"][0]["results"]}
    assert "cola" not in metrics and [m["type"] for m in metrics["stsb"]] == ["spearmanr"]


def test_cli_export_out_that_is_a_folder_is_one_line_exit_2(reports, tmp_path, capsys):
    assert main(["export", str(reports), "--format", "csv", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"harness: error: --out {tmp_path} is a folder; name a file") and err.count("\n") == 1
