"""--layer-sweep: the frozen head trained on each hidden state alone, from the run's own extraction, and where
its curve is shown (the result, the run report and its plot, the leaderboard's "Where does the task live")."""
from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from harness import evaluate
from harness.api import _check_layer_sweep
from harness.cli import main
from harness.errors import ConfigError
from harness.metrics import compute_scores
from harness.leaderboard import render_leaderboards
from harness.models import resolve_model
from harness.report import LAYER_PLOT, render_report, write_report
from harness.results import RunResult, read_result, run_dir, write_run
from harness.runners import features
from harness.runners.features import FeatureCache
from harness.tasks import REGISTRY

FAST = dict(quiet=True, device="cpu")


def _frozen(model: str | None, task: str, data, out: Path, cache: FeatureCache, **settings) -> RunResult:
    (result,) = evaluate(model, tasks=[task], mode="frozen", data_dir=data, output_dir=out, cache=cache,
                         **FAST, **settings).results
    return result


def test_each_layer_scores_the_runs_protocol_restricted_to_that_layer(tiny_model_dir, glue_dir, tmp_path):
    """STS-B's pairs through a ridge head tuned on train: the sweep's layer i is the run made with --layers i,
    and the run's own scores are those of the same run without the sweep."""
    cache = FeatureCache(tmp_path / "cache")
    swept = _frozen(str(tiny_model_dir), "glue/stsb", glue_dir, tmp_path / "swept", cache, layer_sweep=True)
    plain = _frozen(str(tiny_model_dir), "glue/stsb", glue_dir, tmp_path / "plain", cache)
    assert swept.scores == plain.scores and not plain.layer_sweep and "layer_sweep_s" not in plain.timings
    sweep = read_result(run_dir(tmp_path / "swept", resolve_model(str(tiny_model_dir)).slug, "glue", "stsb", "frozen", 42)
                        / "result.json").layer_sweep
    assert sweep == swept.layer_sweep and sweep["main_score"] == ["pearson", "spearman"]
    assert [layer["layer"] for layer in sweep["layers"]] == [0, 1, 2]  # embeddings and the tiny BERT's two layers
    for layer in sweep["layers"]:
        alone = _frozen(str(tiny_model_dir), "glue/stsb", glue_dir, tmp_path / f"layer{layer['layer']}", cache,
                        layers=str(layer["layer"]))
        assert layer["scores"] == pytest.approx({k: alone.scores[k] for k in ("pearson", "spearman")}, abs=1e-9)
        assert layer["main"] == pytest.approx(alone.main_score, abs=1e-9)
        assert alone.provenance["hyperparameters"]["chosen"]["alpha"] > 0  # L2 still tuned on train per layer
    assert len({round(layer["main"], 6) for layer in sweep["layers"]}) == 3  # three different heads
    assert swept.timings["layer_sweep_s"] > 0


def test_the_sweep_runs_no_forward_pass_beyond_the_main_runs_extraction(tiny_model_dir, glue_dir, tmp_path,
                                                                       monkeypatch):
    calls = []
    real = features._forward
    monkeypatch.setattr(features, "_forward", lambda *args, **kwargs: calls.append(1) or real(*args, **kwargs))
    _frozen(str(tiny_model_dir), "glue/mrpc", glue_dir, tmp_path / "a", FeatureCache(tmp_path / "cold-a"))
    without = len(calls)
    result = _frozen(str(tiny_model_dir), "glue/mrpc", glue_dir, tmp_path / "b", FeatureCache(tmp_path / "cold-b"),
                     layer_sweep=True)
    assert without == 6  # train and eval: the pair and each side
    assert len(calls) - without == without  # the sweeping run extracted exactly what the plain one did
    assert len(result.layer_sweep["layers"]) == 3
    # The sweep's time is its own: the run's total covers its own protocol, not the sweep beside it.
    timings = result.timings
    own = timings["extraction_s"] + timings["training_s"] + timings["evaluation_s"]
    assert own <= timings["total_s"] < own + timings["layer_sweep_s"]


def test_a_token_head_sweeps_each_layer_without_its_scalar_mix(tmp_path):
    """KLUE-NER's tag head: layer i of the sweep is the run with --layers i (no scalar mix), from the cached
    token states."""
    from conftest import build_korean_bert
    from test_klue_ner import fixture_sentences, plain, write_ner

    model = build_korean_bert(tmp_path / "model", [plain(s) for s in fixture_sentences(200, seed=1)])
    write_ner(tmp_path / "data", fixture_sentences(20))
    cache = FeatureCache(tmp_path / "cache")
    settings = dict(token_head="linear", head_epochs=3, head_learning_rate=1e-2, split_strategy="holdout")
    swept = _frozen(str(model), "klue/ner", tmp_path / "data", tmp_path / "swept", cache, layer_sweep=True, **settings)
    assert swept.provenance["hyperparameters"]["chosen"]["layers"] == "mix"  # the run's own head still mixes
    assert [layer["layer"] for layer in swept.layer_sweep["layers"]] == [0, 1, 2]
    for layer in swept.layer_sweep["layers"]:
        alone = _frozen(str(model), "klue/ner", tmp_path / "data", tmp_path / f"layer{layer['layer']}", cache,
                        layers=str(layer["layer"]), **settings)
        assert alone.timings["extraction_s"] == 0
        assert layer["scores"] == pytest.approx(alone.scores, abs=1e-9)
        assert "layer_weights" not in alone.provenance["hyperparameters"]["chosen"]  # no mix on one layer


@pytest.mark.parametrize("settings, message", [
    (dict(tasks=["glue/stsb"], mode="finetune"), "use it with --mode frozen or both"),
    (dict(tasks=["glue/sst2"], mode="frozen", format="n2m"), r"glue/sst2-n2m \(generation shape\)"),
])
def test_a_sweep_no_head_can_make_is_refused_before_any_compute(tiny_model_dir, tmp_path, settings, message):
    # The data folder does not exist: reading it would fail with a DataError, so the refusal comes first.
    with pytest.raises(ConfigError, match=message):
        evaluate(str(tiny_model_dir), data_dir=tmp_path / "absent", output_dir=tmp_path / "out", layer_sweep=True,
                 **FAST, **settings)
    assert not (tmp_path / "out").exists()


def test_the_cli_refuses_it_in_one_line(tiny_model_dir, tmp_path, capsys):
    assert main(["eval", "--model", str(tiny_model_dir), "--tasks", "glue/stsb", "--mode", "finetune",
                 "--layer-sweep", "--data-dir", str(tmp_path / "absent"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("harness: error: --layer-sweep ") and err.count("\n") == 1


def test_in_a_whole_suite_tasks_without_a_per_layer_head_run_without_the_sweep(caplog):
    specs = REGISTRY.select("superglue", None) + [REGISTRY.get("glue/sst2-n2m")]
    with caplog.at_level(logging.WARNING, logger="harness"):
        _check_layer_sweep(specs, "frozen", named=False)
    (warning,) = caplog.messages
    assert "glue/sst2-n2m (generation shape)" in warning and "runs without the sweep" in warning
    assert "superglue/copa" not in warning and "superglue/wic" not in warning  # span pairs pool every state


# --- the run report and the leaderboard, from hand-made results ---------------------------------------------

SWEEP = {"main_score": ["pearson", "spearman"],
         "layers": [{"layer": 0, "main": 60.0, "scores": {"pearson": 61.0, "spearman": 59.0}},
                    {"layer": 1, "main": 80.5, "scores": {"pearson": 81.0, "spearman": 80.0}},
                    {"layer": 2, "main": 75.0, "scores": {"pearson": 76.0, "spearman": 74.0}}]}


def _stsb_run(root: Path, model: str = "minilm", seed: int = 42, sweep: dict | None = None, main_score=83.0,
              mode: str = "frozen") -> Path:
    folder = run_dir(root, model, "glue", "stsb", mode, seed)
    rows, scores = _rows_scoring(main_score)
    result = RunResult(
        suite="glue", task="stsb", task_version=1, model=model, mode=mode, seed=seed,
        scores=scores, main_score=(scores["pearson"] + scores["spearman"]) / 2,
        split_strategy="official", num_train=100, num_eval=len(rows),
        provenance={"hyperparameters": {"layers": "auto", "layer_sweep": bool(sweep), "head": "linear",
                                        "chosen": {"layer": "last3-concat", "alpha": 10.0}}},
        timings={"total_s": 1.0, "trainable_parameters": 10}, layer_sweep=sweep or {})
    write_run(folder, result, rows)
    return folder


def _rows_scoring(main: float, n: int = 400) -> tuple[list[dict], dict]:
    """STS-B prediction rows whose main score (mean of Pearson and Spearman) is `main` to within 0.001, and their
    scores: the gold plus noise, its scale found by bisection (renderers recompute scores from the rows)."""
    gold = np.linspace(0.0, 5.0, n)
    noise = np.random.default_rng(0).standard_normal(n)
    low, high = 0.0, 100.0
    for _ in range(80):
        scale = (low + high) / 2
        scores = compute_scores(["pearson", "spearman"], gold + scale * noise, gold)
        if (scores["pearson"] + scores["spearman"]) / 2 > main:
            low = scale
        else:
            high = scale
    assert abs((scores["pearson"] + scores["spearman"]) / 2 - main) < 1e-3
    predicted = gold + scale * noise
    rows = [{"id": f"dev:{i:03d}", "fold": 0, "label": float(gold[i]), "prediction": float(predicted[i])}
            for i in range(n)]
    return rows, dict(scores)


def test_the_report_tables_each_layer_marks_the_best_and_draws_the_plot(tmp_path):
    pytest.importorskip("matplotlib")
    folder = _stsb_run(tmp_path, sweep=SWEEP)
    text = write_report(folder).read_text(encoding="utf-8")
    section = text.split("## Layer sweep\n")[1].split("\n## ")[0]
    assert ("| layer | main (pearson + spearman) | pearson | spearman |\n|---|---|---|---|\n"
            "| 0 (embeddings) | 60.00 | 61.00 | 59.00 |\n| 1 | **80.50** | 81.00 | 80.00 |\n"
            "| 2 | 75.00 | 76.00 | 74.00 |\n") in section
    assert "The run's own head (`--layers auto`, which chose `last3-concat` on train) scores 83.00." in section
    assert f"]({LAYER_PLOT})" in section
    assert (folder / LAYER_PLOT).read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


def test_without_a_sweep_or_matplotlib_the_report_says_so(tmp_path, monkeypatch):
    from harness import plots

    plain = _stsb_run(tmp_path / "plain")
    assert "## Layer sweep" not in write_report(plain).read_text() and not (plain / LAYER_PLOT).exists()
    monkeypatch.setattr(plots, "available", lambda: False)
    swept = _stsb_run(tmp_path / "swept", sweep=SWEEP)
    text = write_report(swept).read_text()
    assert f"Plot not drawn: {plots.MISSING}." in text and not (swept / LAYER_PLOT).exists()
    assert "| 1 | **80.50** |" in render_report(swept)


def test_the_leaderboard_shows_where_each_task_lives(tmp_path):
    other = {"main_score": ["pearson", "spearman"],
             "layers": [{"layer": layer, "main": main, "scores": {}} for layer, main in enumerate([50.0, 90.0, 70.0,
                                                                                                    65.0, 64.0])]}
    _stsb_run(tmp_path, seed=1, sweep=SWEEP, main_score=83.0)
    _stsb_run(tmp_path, seed=2, sweep={**SWEEP, "layers": [{**layer, "main": layer["main"] + 2}
                                                          for layer in SWEEP["layers"]]}, main_score=85.0)
    _stsb_run(tmp_path, model="wider", sweep=other, main_score=88.0)
    _stsb_run(tmp_path, model="wider", mode="finetune", main_score=90.0)
    _stsb_run(tmp_path, model="unswept", main_score=70.0)
    board = render_leaderboards(tmp_path)["glue.md"].decode()
    section = board.split("## Where does the task live\n")[1].split("\n## ")[0]
    # minilm: seeds 1 and 2 averaged per layer (60, 80.5, 75 and 62, 82.5, 77), its own head (83 + 85) / 2.
    assert ("| model | task | seeds | 0 | 1 | 2 | 3 | 4 | best layer | own head |\n"
            "|---|---|---|---|---|---|---|---|---|---|\n"
            "| `minilm` | stsb | 1, 2 | 61.00 | **81.50** | 76.00 | – | – | 1 (81.50) | 84.00 |\n"
            "| `wider` | stsb | 42 | 50.00 | **90.00** | 70.00 | 65.00 | 64.00 | 1 (90.00) | 88.00 |\n") in section
    assert "unswept" not in section
    assert board.index("## Where does the task live") < board.index("## Runs")
    for folder in tmp_path.rglob("result.json"):  # a board whose runs have no sweep has no such section
        if read_result(folder).layer_sweep:
            folder.unlink()
    assert "Where does the task live" not in render_leaderboards(tmp_path)["glue.md"].decode()


# --- the real GLUE files ---------------------------------------------------------------------------------------

@pytest.mark.integration
def test_the_real_stsb_dev_file_swept_with_the_packaged_model(minilm_dir, shared_data, tmp_path):
    cache = FeatureCache(tmp_path / "cache")
    capped = dict(max_train_samples=300, max_eval_samples=200)
    swept = _frozen(None, "glue/stsb", shared_data, tmp_path / "swept", cache, layer_sweep=True, **capped)
    layers = swept.layer_sweep["layers"]
    assert [layer["layer"] for layer in layers] == list(range(7))  # all-MiniLM-L6-v2: embeddings and six layers
    # The pair encoded alone and together lets every layer's ridge head rank STS-B pairs well above chance.
    assert all(20 < layer["main"] <= 100 for layer in layers)
    last = _frozen(None, "glue/stsb", shared_data, tmp_path / "last", cache, layers="6", **capped)
    assert last.timings["extraction_s"] == 0
    assert layers[6]["main"] == pytest.approx(last.main_score, abs=1e-9)
