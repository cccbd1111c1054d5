"""Per-unit statistics reproduce every shape's own scoring: on the full sample, and on resamples drawn with
repeats, where the reference is the task's scoring called on the repeated examples."""
from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from harness import uncertainty
from harness.config import RunConfig
from harness.metrics.klue import CUT_OFF_HEAD
from harness.results import RunResult
from harness.shapes import shape_of
from harness.tasks import REGISTRY
from harness.uncertainty import MAIN, UnitSample, read_sample, run_intervals, score_distributions, unit_sample

CONFIG = RunConfig(device="cpu")
RNG = np.random.default_rng(5)


def _ner(n=12):
    task = REGISTRY.get("klue/ner")
    examples, predictions = [], []
    for i in range(n):
        text = "".join(RNG.choice(list("가나다 라마")) for _ in range(int(RNG.integers(3, 9))))
        gold = RNG.integers(0, len(task.labels), len(text))
        noisy = np.where(RNG.random(len(text)) < 0.5, gold, RNG.integers(0, len(task.labels), len(text)))
        examples.append({"id": f"s{i}", "text": text, "chars": list(text), "label": gold.tolist()})
        predictions.append(noisy)  # includes invalid IOB2 runs (I- without B-), as real predictions do
    return task, examples, predictions


def _dp(n=10):
    task = REGISTRY.get("klue/dp")
    examples, heads, relations = [], [], []
    for i in range(n):
        length = int(RNG.integers(2, 7))
        gold_heads = RNG.integers(0, length + 1, length)
        examples.append({"id": f"d{i}", "words": ["w"] * length, "heads": gold_heads.tolist(),
                         "deprels": [task.labels[r] for r in RNG.integers(0, 20, length)]})
        heads.append(np.where(RNG.random(length) < 0.6, gold_heads, RNG.integers(0, length + 1, length)))
        relations.append(RNG.integers(0, 20, length))
    return task, examples, (heads, relations)


def _dp_cut_off(n=10):
    """As _dp, with some words' heads the CUT_OFF_HEAD that decoding gives words max_length cut off."""
    task, examples, (heads, relations) = _dp(n)
    return task, examples, ([np.where(RNG.random(len(h)) < 0.3, CUT_OFF_HEAD, h) for h in heads], relations)


def _mrc(n=10):
    task = REGISTRY.get("klue/mrc")
    words = ["서울", "부산", "대전", "", "한강"]
    examples = [{"id": f"q{i}", "question": "?", "question_type": 1,
                 "label": [] if i % 4 == 0 else [str(RNG.choice(words[:3])), "한강 공원"]} for i in range(n)]
    return task, examples, [str(RNG.choice(words)) for _ in range(n)]


def _record(n=10):
    task = REGISTRY.get("superglue/record")
    names = ["Ida Rask", "Mars", "the Red Planet", "Osterby"]
    examples = [{"id": f"r{i}", "choice_names": names, "answers": [names[i % 3]], "label": [i % 3]} for i in range(n)]
    return task, examples, RNG.integers(0, len(names), n)


def _re(n=40):
    task = REGISTRY.get("klue/re")
    k = len(task.labels)
    labels = RNG.integers(0, 5, n)  # a few classes, no_relation (0) among them; the rest absent
    probabilities = RNG.dirichlet(np.ones(k), n)
    probabilities[np.arange(n), labels] += RNG.random(n)  # informative, not perfect
    probabilities /= probabilities.sum(1, keepdims=True)
    return task, [{"id": f"e{i}", "label": int(label)} for i, label in enumerate(labels)], probabilities


def _multirc(n_questions=9):
    task = REGISTRY.get("superglue/multirc")
    examples, predictions = [], []
    for q in range(n_questions):
        for a in range(int(RNG.integers(1, 4))):
            label = int(RNG.integers(0, 2))
            examples.append({"id": f"m{q}-{a}", "label": label, "group": str(q)})
            predictions.append(label if RNG.random() < 0.7 else 1 - label)
    return task, examples, np.array(predictions)


def _axg(pairs=8):
    task = REGISTRY.get("superglue/axg")
    examples = [{"id": f"g{i}", "label": int(RNG.integers(0, 2)), "group": str(i // 2)} for i in range(2 * pairs)]
    return task, examples, RNG.integers(0, 2, 2 * pairs)


def _view(name: str, golds, generations):
    task = dataclasses.replace(REGISTRY.get(name), metrics=tuple(
        m for m in REGISTRY.get(name).metrics if m != "bertscore_f1"))  # BERTScore keeps no per-example values
    return task, [{"id": f"t{i}", "text": "x", "label": gold} for i, gold in enumerate(golds)], generations


def _sst2_view(n=16):
    golds = RNG.integers(0, 2, n).tolist()
    words = ["positive", "negative", "positive film", "Negative.", "what"]
    return _view("glue/sst2-n2m", golds, [str(RNG.choice(words)) for _ in range(n)])


def _stsb_view(n=16):
    # all readable: an unreadable score counts as the far end of the scored set's range, which a resample moves
    golds = RNG.uniform(0, 5, n).round(1).tolist()
    return _view("glue/stsb-n2m", golds, [f"{g + RNG.normal(0, 1):.1f}" for g in golds])


def _mrc_view(n=10):
    task, examples, _ = _mrc(n)
    task = dataclasses.replace(REGISTRY.get("klue/mrc-n2m"), metrics=("mrc_exact_match", "mrc_rouge_w", "exact_match",
                                                                      "bleu", "chrf", "rouge_l"))
    for ex in examples:
        ex["context"] = "서울 부산 한강 공원"
    return task, examples, [str(RNG.choice(["서울", "부산", "", "한강 공원"])) for _ in range(n)]


def _record_view(n=10):
    task, examples, chosen = _record(n)
    task = dataclasses.replace(REGISTRY.get("superglue/record-n2m"), metrics=("token_f1", "exact_match", "bleu", "chrf",
                                                                              "rouge_l"))
    for ex in examples:
        ex.update(query="@placeholder went home.", text="Ida Rask went home to Mars.")
    return task, examples, [ex["choice_names"][c] for ex, c in zip(examples, chosen)]


def _wos(n=10):
    task = dataclasses.replace(REGISTRY.get("klue/wos"), metrics=("wos_joint_goal_accuracy", "wos_slot_micro_f1", "bleu",
                                                                  "chrf", "rouge_l"))
    items = ["관광-종류-박물관", "관광-지역-서울 중앙", "숙소-가격대-저렴"]
    examples = [{"id": f"w{i}", "text": "안녕", "history": [], "label": items[:i % 4]} for i in range(n)]
    generations = ["관광-종류=박물관", "", "관광-종류=박물관, 관광-지역=서울 중앙", "nonsense", "숙소-가격대=저렴"]
    return task, examples, [generations[i % 5] for i in range(n)]


CASES = {"generation": _sst2_view, "mrc-view": _mrc_view, "record-view": _record_view, "wos": _wos, "generation-regression": _stsb_view, "tags": _ner, "arcs": _dp, "arcs-cut-off": _dp_cut_off, "spans": _mrc, "choices": _record, "probabilities": _re, "multirc": _multirc,
         "axg": _axg}


def _take(predictions, indices):
    if isinstance(predictions, tuple):
        return tuple(_take(p, indices) for p in predictions)
    return [predictions[i] for i in indices] if isinstance(predictions, list) else predictions[indices]


@pytest.mark.parametrize("case", sorted(CASES))
def test_unit_statistics_reproduce_the_task_scores_on_the_sample_and_on_resamples(case):
    task, examples, predictions = CASES[case]()
    shape = shape_of(task)
    sample = unit_sample(task, shape.rows(task, examples, predictions, 0))
    assert isinstance(sample, UnitSample) and set(sample.metrics) == set(task.metrics)
    full = sample.values(np.ones((1, len(sample))))
    scores = shape.score(task, examples, predictions, CONFIG)
    for metric in task.metrics:
        assert full[metric][0] == pytest.approx(scores[metric], abs=1e-9), metric
    grouped = "group" in examples[0]
    for indices in next(uncertainty.resample_chunks(len(sample), resamples=4, seed=3)):
        draws = np.bincount(indices, minlength=len(sample))[None, :].astype(float)
        units = sample.ids[indices]
        if grouped:  # a drawn group brings all its examples, as a group of its own each time it is drawn
            chosen = [(i, f"{unit}#{draw}") for draw, unit in enumerate(units)
                      for i, ex in enumerate(examples) if ex["group"] == unit]
            drawn = [{**examples[i], "group": group} for i, group in chosen]
            chosen = [i for i, _ in chosen]
        else:
            position = {ex["id"]: i for i, ex in enumerate(examples)}
            chosen = [position[unit] for unit in units]
            drawn = [examples[i] for i in chosen]
        reference = shape.score(task, drawn, _take(predictions, chosen), CONFIG)
        resampled = sample.values(draws)
        for metric in task.metrics:
            assert resampled[metric][0] == pytest.approx(reference[metric], abs=1e-9), metric


def _write_run(folder, task, mode, examples, predictions):
    shape = shape_of(task)
    folder.mkdir(parents=True)
    with open(folder / "predictions.jsonl", "w", encoding="utf-8") as out:
        for row in shape.rows(task, examples, predictions, 0):
            out.write(json.dumps(row, default=lambda v: v.tolist() if hasattr(v, "tolist") else int(v)) + "\n")
    scores = shape.score(task, examples, predictions, CONFIG)
    return RunResult(suite=task.suite, task=task.name, task_version=1, model="m", mode=mode, seed=42,
                     scores=scores, main_score=float(np.mean([scores[m] for m in task.main_score])),
                     split_strategy="official", split_note="", capped={}, scores_std={}, num_train=1,
                     num_eval=len(examples), timings={}, provenance={})


@pytest.mark.parametrize("case", ["tags", "multirc"])
def test_intervals_cover_the_score_and_a_run_against_itself_differs_by_exactly_zero(case, tmp_path):
    task, examples, predictions = CASES[case]()
    runs = [(tmp_path / mode, _write_run(tmp_path / mode, task, mode, examples, predictions))
            for mode in ("frozen", "finetune")]
    out = run_intervals(runs, REGISTRY, resamples=200)
    for mode in ("frozen", "finetune"):
        cell = out.scores[("m", task.suite, task.name, mode)]
        assert set(task.metrics) | {MAIN} <= set(cell)
        for metric in task.metrics:
            assert cell[metric].low <= cell[metric].estimate <= cell[metric].high
    delta = out.deltas[("m", task.suite, task.name)]
    assert (delta.estimate, delta.low, delta.high) == (0.0, 0.0, 0.0)


def test_grouped_runs_resample_whole_groups(tmp_path):
    task, examples, predictions = _multirc()
    folder = tmp_path / "run"
    _write_run(folder, task, "frozen", examples, predictions)
    sample = read_sample(folder / "predictions.jsonl", task)
    assert len(sample) == len({ex["group"] for ex in examples}) < len(examples)
    spread = score_distributions(sample, ["f1a", "em"], task.main_score, resamples=100)
    assert spread[MAIN].shape == (100,)
