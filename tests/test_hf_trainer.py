"""harness.metrics.compute_metrics: the official metrics inside a user's own transformers.Trainer run."""
from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from harness.errors import ConfigError, DataError
from harness.metrics import compute_metrics, compute_scores
from harness.tasks import REGISTRY

ROOT = Path(__file__).resolve().parents[1]
DOCS_SECTION = "## Use the metrics in your own training"


def _docs_example() -> str:
    """The first python block of docs/python-api.md's section on the metrics in one's own training."""
    section = (ROOT / "docs" / "python-api.md").read_text(encoding="utf-8").split(DOCS_SECTION, 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


@pytest.mark.slow
def test_docs_training_example_runs_as_written(minilm_dir, tmp_path):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]),
           "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    run = subprocess.run([sys.executable, "-c", _docs_example()], cwd=tmp_path, env=env, capture_output=True,
                         text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    assert not list(tmp_path.iterdir())  # it leaves nothing where it ran
    assert "\x1b[" not in run.stderr and "pin_memory" not in run.stderr  # no raw terminal codes, no CPU warning
    logged = ast.literal_eval(run.stdout.strip().splitlines()[-1])
    assert 0 <= logged["eval_accuracy"] <= 100 and 0 <= logged["eval_f1"] <= 100
    assert logged["eval_main_score"] == pytest.approx((logged["eval_accuracy"] + logged["eval_f1"]) / 2)


def test_tiny_trainer_reports_harness_scores(tiny_model_dir, tmp_path):
    """A regression head's outputs, squeezed, scored as harness scores STS-B; the same numbers as compute_scores."""
    import datasets
    from transformers import AutoModelForSequenceClassification, AutoTokenizer, Trainer, TrainingArguments

    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    model = AutoModelForSequenceClassification.from_pretrained(tiny_model_dir, num_labels=1)
    rng = np.random.default_rng(0)
    words = ["the man plays guitar", "a dog sits on the mat", "the woman plays piano", "it was very good"]
    rows = {"sentence1": [words[i % 4] for i in range(12)], "sentence2": [words[(i * 3) % 4] for i in range(12)],
            "label": rng.uniform(0, 5, 12).round(2).tolist()}
    encoded = datasets.Dataset.from_dict(rows).map(lambda b: tokenizer(b["sentence1"], b["sentence2"]), batched=True)
    trainer = Trainer(model=model, args=TrainingArguments(str(tmp_path / "run"), per_device_eval_batch_size=5,
                                                          report_to=[], use_cpu=True),
                      eval_dataset=encoded, processing_class=tokenizer, compute_metrics=compute_metrics("glue/stsb"))
    assert {"eval_pearson", "eval_spearman", "eval_main_score"} <= set(trainer.evaluate())
    predicted = trainer.predict(encoded)  # scores the outputs it returns with the same compute_metrics
    # the gold as Trainer hands it over: the collator's float32 tensor of the labels
    assert predicted.label_ids == pytest.approx(rows["label"], rel=1e-6)
    expected = compute_scores(["pearson", "spearman"], predicted.predictions.reshape(-1), predicted.label_ids)
    assert predicted.metrics["test_pearson"] == pytest.approx(expected["pearson"], rel=1e-12)
    assert predicted.metrics["test_spearman"] == pytest.approx(expected["spearman"], rel=1e-12)
    assert predicted.metrics["test_main_score"] == pytest.approx((expected["pearson"] + expected["spearman"]) / 2,
                                                                 rel=1e-12)


class _EvalPrediction:
    def __init__(self, predictions, label_ids):
        self.predictions, self.label_ids = predictions, label_ids


def test_tags_are_scored_per_character_through_the_tokenizer(tiny_model_dir):
    """KLUE-NER from token logits: a token's tag goes to its first character and continues over the rest."""
    from transformers import AutoTokenizer

    labels = REGISTRY.get("klue/ner").labels
    tag = {name: i for i, name in enumerate(labels)}
    text = "the man plays guitar"
    gold = [tag["O"]] * len(text)
    gold[4:7] = [tag["B-PS"], tag["I-PS"], tag["I-PS"]]  # "man"
    examples = [{"text": text, "label": gold}]
    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    metrics = compute_metrics("klue/ner", examples=examples, tokenizer=tokenizer, max_length=16)
    tokens = tokenizer(text)["input_ids"]  # [CLS] the man plays guitar [SEP]
    logits = np.zeros((1, len(tokens) + 2, len(labels)))  # padded past the tokens, as Trainer concatenates batches
    logits[0, :, tag["O"]] = 1.0
    logits[0, 2, tag["B-PS"]] = 2.0  # "man"
    right = metrics(_EvalPrediction(logits, np.zeros((1, len(tokens)))))
    assert right == {"ner_entity_macro_f1": 100.0, "ner_char_macro_f1": 100.0, "main_score": 100.0}
    logits[0, 2, tag["B-PS"]] = 0.0
    missed = metrics(_EvalPrediction(logits, np.zeros((1, len(tokens)))))
    assert missed["ner_entity_macro_f1"] == 0.0 and missed["main_score"] == 0.0
    with pytest.raises(DataError, match="2 predictions for 1 examples"):
        metrics(_EvalPrediction(np.concatenate([logits, logits]), np.zeros((2, len(tokens)))))


def test_tasks_that_need_more_say_what():
    with pytest.raises(ConfigError, match="pass examples="):
        compute_metrics("klue/ner")
    with pytest.raises(ConfigError, match="'group'"):
        compute_metrics("superglue/multirc")
    with pytest.raises(ConfigError, match="harness.metrics.load\\('klue/dp'\\)"):
        compute_metrics("klue/dp")
