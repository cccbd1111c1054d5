"""--precision: the option, what auto picks, bf16 features and training, the cache key, provenance, leaderboards,
--resume."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from harness import evaluate, precision
from harness.api import _differing
from harness.cli import build_parser, main
from harness.config import RunConfig
from harness.errors import ConfigError
from harness.leaderboard import write_leaderboards
from harness.models import load_model, load_tokenizer, resolve_model
from harness.precision import resolve_precision
from harness.results import RunResult, run_dir, write_run
from harness.runners.features import (FeatureCache, FeatureExtractor, examples_fingerprint, extract_features,
                                      extract_token_features)
from harness.runners.finetune import FinetuneRunner, training_arguments
from harness.tasks import REGISTRY

SST2 = REGISTRY.get("glue/sst2")
EXAMPLES = [{"id": str(i), "text": text, "label": i % 2} for i, text in enumerate(
    ["the movie was very good .", "a dog sits on the mat", "awful plot", "fine", "the man plays the piano really well",
     "it is not a bad film , it is a really bad film"])]
FAST = dict(epochs=1, min_steps=0, learning_rate=1e-4, batch_size=16, quiet=True, device="cpu")
MEASURED_PROBE = precision.cpu_bf16_speedup  # the real one: conftest pins auto's probe for every test


# --- the option ---------------------------------------------------------------------------------


def test_precision_parses_as_declared_and_defaults_to_fp32():
    parsed = vars(build_parser().parse_args(["eval", "--tasks", "sst2", "--precision", "bf16"]))
    assert RunConfig.from_values(parsed).precision == "bf16"
    assert RunConfig().precision == "fp32"  # reproducible: never a probe's choice unless asked
    with pytest.raises(ConfigError, match="--precision 'int8' is not one of auto, fp32, bf16, fp16"):
        RunConfig(precision="int8")


def test_cli_refuses_an_unknown_precision_before_anything_runs(capsys):
    with pytest.raises(SystemExit) as info:
        main(["eval", "--tasks", "sst2", "--precision", "half"])
    assert info.value.code == 2 and "--precision: invalid choice: 'half'" in capsys.readouterr().err


def test_cli_refuses_fp16_on_cpu_with_one_line_before_any_compute(tiny_model_dir, glue_dir, tmp_path, capsys,
                                                                    monkeypatch):
    monkeypatch.setattr("harness.api.load_splits", lambda *a, **k: pytest.fail("data was read before the check"))
    code = main(["eval", "--model", str(tiny_model_dir), "--tasks", "glue/sst2", "--data-dir", str(glue_dir),
                 "--output-dir", str(tmp_path / "reports"), "--device", "cpu", "--precision", "fp16", "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1
    assert err.startswith("harness: error: --precision fp16 needs a CUDA GPU") and "bf16 or auto" in err
    assert not list((tmp_path / "reports").rglob("result.json"))


# --- what auto picks ----------------------------------------------------------------------------


def _gpu(monkeypatch, bf16: bool) -> None:
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: bf16)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda *a, **k: "Tesla T4")


def _probe(monkeypatch, speedup: float) -> list[int]:
    calls = []
    monkeypatch.setattr(precision, "cpu_bf16_speedup", lambda: calls.append(1) or speedup)
    return calls


@pytest.mark.parametrize("training", [True, False])
def test_auto_is_bf16_on_gpus_that_have_it_else_fp32(monkeypatch, training):
    calls = _probe(monkeypatch, 9.0)
    _gpu(monkeypatch, bf16=True)
    assert resolve_precision("auto", "cuda", training=training) == "bf16"
    _gpu(monkeypatch, bf16=False)
    assert resolve_precision("auto", "cuda", training=training) == "fp32"
    assert calls == []  # the CPU probe is for CPUs


def test_auto_on_cpu_follows_the_probe_for_forward_passes_and_keeps_training_fp32(monkeypatch):
    calls = _probe(monkeypatch, precision.PROBE_BAR + 0.1)
    assert resolve_precision("auto", "cpu", training=False) == "bf16"
    assert resolve_precision("auto", "cpu", training=True) == "fp32"
    assert len(calls) == 1  # training never probes
    _probe(monkeypatch, precision.PROBE_BAR - 0.1)
    assert resolve_precision("auto", "cpu", training=False) == "fp32"


def test_asked_precisions_pass_through_and_impossible_ones_are_refused(monkeypatch):
    calls = _probe(monkeypatch, 0.5)
    assert [resolve_precision(p, "cpu", training=False) for p in ("fp32", "bf16")] == ["fp32", "bf16"]
    assert calls == []
    with pytest.raises(ConfigError, match="^--precision fp16 needs a CUDA GPU"):
        resolve_precision("fp16", "cpu", training=True)
    _gpu(monkeypatch, bf16=False)
    assert resolve_precision("fp16", "cuda", training=True) == "fp16"
    with pytest.raises(ConfigError, match=r"^--precision bf16: this GPU \(Tesla T4\) has no bf16"):
        resolve_precision("bf16", "cuda", training=False)


def test_device_auto_is_asked_of_torch_only_where_the_precision_depends_on_it(monkeypatch):
    asked = []
    monkeypatch.setattr(torch.cuda, "is_available", lambda: asked.append(1) or True)
    _gpu(monkeypatch, bf16=True)
    assert resolve_precision("fp32", "auto", training=False) == "fp32" and asked == []  # a cached fp32 run's case
    assert resolve_precision("auto", "auto", training=True) == "bf16" and asked


def test_the_cpu_probe_measures_a_positive_speedup_once_per_process():
    MEASURED_PROBE.cache_clear()
    first = MEASURED_PROBE()
    assert first > 0 and MEASURED_PROBE() == first


# --- bf16 features ------------------------------------------------------------------------------


def test_bf16_extraction_is_float32_and_close_to_fp32(tiny_model_dir):
    ref = resolve_model(str(tiny_model_dir))
    model, tokenizer = load_model(ref), load_tokenizer(ref)
    pooled = {p: extract_features(model, tokenizer, EXAMPLES, max_length=16, batch_size=4, pooling="mean", layers=None,
                                  device="cpu", quiet=True, precision=p) for p in ("fp32", "bf16")}
    assert pooled["bf16"].dtype == np.float32 and pooled["bf16"].shape == pooled["fp32"].shape == (6, 3, 32)
    assert not np.array_equal(pooled["bf16"], pooled["fp32"])  # it did run in bf16
    cosine = (pooled["bf16"] * pooled["fp32"]).sum(-1) / (
        np.linalg.norm(pooled["bf16"], axis=-1) * np.linalg.norm(pooled["fp32"], axis=-1))
    assert cosine.min() > 0.999
    features = tokenizer([ex["text"] for ex in EXAMPLES])
    features = [{key: features[key][i] for key in features} for i in range(len(EXAMPLES))]
    tokens = {p: extract_token_features(model, tokenizer, features, batch_size=4, device="cpu", quiet=True,
                                        precision=p)[0] for p in ("fp32", "bf16")}
    assert tokens["bf16"].dtype == np.float32
    np.testing.assert_allclose(tokens["bf16"], tokens["fp32"], atol=0.1)


def test_the_feature_cache_key_differs_by_precision_and_fp32_keeps_its_old_key(tiny_model_dir, tmp_path):
    ref = resolve_model(str(tiny_model_dir))
    extractors = {p: FeatureExtractor(ref, RunConfig(quiet=True, device="cpu", precision=p), FeatureCache(tmp_path))
                  for p in ("fp32", "bf16")}
    keys = {p: e._key(SST2, EXAMPLES, "train", "mean", "all") for p, e in extractors.items()}
    assert keys["fp32"] != keys["bf16"]
    before = FeatureCache.key(model=extractors["fp32"].encoding, task=SST2.id, version=SST2.version, split="train",
                              pooling="mean", layers="all", max_length=128, doc_stride=None,
                              data=examples_fingerprint(EXAMPLES, ("text", "text_pair")))
    assert keys["fp32"] == before  # caches written before --precision existed stay valid
    fp32 = extractors["fp32"].features(SST2, EXAMPLES, "train")
    bf16 = extractors["bf16"].features(SST2, EXAMPLES, "train")
    assert extractors["bf16"].cache_hits == 0 and extractors["bf16"].extracted == len(EXAMPLES)
    assert len(list(tmp_path.glob("*.npy"))) == 2 and not np.array_equal(fp32, bf16)


# --- training -----------------------------------------------------------------------------------


def test_trainer_arguments_carry_the_precision(tmp_path):
    config = RunConfig(device="cpu")
    assert (training_arguments(config.replace(precision="bf16"), tmp_path).bf16,
            training_arguments(config.replace(precision="bf16"), tmp_path).fp16) == (True, False)
    assert not training_arguments(config.replace(precision="fp32"), tmp_path).bf16
    assert precision.trainer_flags("fp16") == {"bf16": False, "fp16": True}


def test_a_finetune_runner_resolves_its_precision_and_trains_in_it(tiny_model_dir, tmp_path, monkeypatch):
    _probe(monkeypatch, 9.0)  # even where the probe favours bf16, auto trains in fp32 on CPU
    ref = resolve_model(str(tiny_model_dir))
    auto = FinetuneRunner(SST2, ref, RunConfig(**FAST, precision="auto"), tmp_path / "auto")
    assert auto.config.precision == "fp32"
    runner = FinetuneRunner(SST2, ref, RunConfig(**FAST, precision="bf16"), tmp_path / "bf16")
    runner.fit(EXAMPLES * 4)
    assert runner.trainer.args.bf16 and not runner.trainer.args.fp16
    assert runner.predict(EXAMPLES).shape == (len(EXAMPLES),)


# --- provenance, leaderboards and --resume ------------------------------------------------------


def test_results_record_the_precision_each_mode_ran_in(tiny_model_dir, glue_dir, tmp_path, monkeypatch):
    _probe(monkeypatch, 9.0)  # a CPU where bf16 is clearly faster
    results = evaluate(str(tiny_model_dir), tasks=["glue/sst2"], mode="both", data_dir=glue_dir,
                       output_dir=tmp_path, precision="auto", **FAST).results
    recorded = {r.mode: r.provenance["hyperparameters"]["precision"] for r in results}
    assert recorded == {"frozen": "bf16", "finetune": "fp32"}
    board = write_leaderboards(tmp_path, tmp_path / "boards")
    text = next(path for path in board if path.name == "glue.md").read_text(encoding="utf-8")
    runs = text.split("## Runs", 1)[1].split("## Notes", 1)[0]
    frozen_row = next(line for line in runs.splitlines() if "| frozen |" in line)
    finetune_row = next(line for line in runs.splitlines() if "| finetune |" in line)
    assert ", bf16 |" in frozen_row and "bf16" not in finetune_row and "fp32" not in finetune_row
    assert "- bf16 / fp16 after a run's recipe: the precision its model computed in" in text


def _result(hyperparameters: dict, mode: str = "frozen") -> RunResult:
    return RunResult(suite="glue", task="sst2", task_version=1, model="m", mode=mode, seed=42,
                     scores={"accuracy": 80.0}, main_score=80.0, split_strategy="official", num_train=100,
                     num_eval=50, provenance={"hyperparameters": hyperparameters},
                     timings={"total_s": 1.0, "trainable_parameters": 10})


def test_an_old_result_without_a_precision_renders_as_fp32(tmp_path):
    hyperparameters = {"epochs": 3.0, "learning_rate": 1e-4, "batch_size": 32, "head": "linear"}
    boards = {}
    for name, recorded in (("old", hyperparameters), ("fp32", {**hyperparameters, "precision": "fp32"})):
        reports = tmp_path / name
        result = _result(recorded)
        write_run(run_dir(reports, "m", "glue", "sst2", "frozen", 42), result, [{"id": "x", "prediction": 0}])
        (path,) = [p for p in write_leaderboards(reports, tmp_path / f"{name}-boards") if p.suffix == ".md"]
        boards[name] = path.read_text(encoding="utf-8")
    assert boards["old"] == boards["fp32"]
    assert "| linear head |" in boards["old"] and "bf16 / fp16" not in boards["old"]


@pytest.mark.parametrize("mode", ["frozen", "finetune"])
def test_resume_counts_precision_in_both_modes_and_old_results_as_fp32(mode):
    config = RunConfig(min_steps=0)  # the results below record no epochs of their own
    old = _result({k: v for k, v in config.as_dict().items() if k != "precision"}, mode)  # before --precision
    assert _differing(old, mode, config.replace(precision="fp32")) == []
    assert _differing(old, mode, config.replace(precision="bf16")) == ["--precision fp32 (now bf16)"]
    bf16 = _result(config.replace(precision="bf16").as_dict(), mode)
    assert _differing(bf16, mode, config.replace(precision="fp32")) == ["--precision bf16 (now fp32)"]
