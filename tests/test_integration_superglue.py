"""SuperGLUE on the real offline model: the official files' counts, and ReCoRD and AX-g on fixture files."""
from __future__ import annotations

from pathlib import Path

import pytest

from harness import evaluate
from harness.data.splits import load_splits
from harness.tasks import REGISTRY

pytestmark = pytest.mark.integration
FIXTURES = Path(__file__).parent / "fixtures"


def _split(shared_data, task: str, split: str):
    if not (shared_data / "superglue").is_dir():
        pytest.skip("no SuperGLUE files in the shared data")
    return load_splits(REGISTRY.get(task), shared_data, (split,))[split]


@pytest.mark.parametrize("task, split, rows, positives", [
    ("superglue/copa", "validation", 100, 45),  # label 1: the second alternative
    ("superglue/wic", "validation", 638, 319),
    ("superglue/wsc", "train", 554, 259),
    ("superglue/wsc", "validation", 104, 38),
    ("superglue/multirc", "validation", 4848, 2075),  # answer options; true ones
])
def test_official_files_read_with_their_documented_counts(shared_data, task, split, rows, positives):
    examples = _split(shared_data, task, split).examples
    assert len(examples) == rows
    labels = [ex["label"][0] if isinstance(ex["label"], list) else ex["label"] for ex in examples]
    assert sum(labels) == positives


def test_multirc_groups_are_its_questions_and_passages(shared_data):
    examples = _split(shared_data, "superglue/multirc", "validation").examples
    assert len({ex["group"] for ex in examples}) == 953
    assert len({ex["text"] for ex in examples}) == 83


@pytest.mark.slow
def test_record_and_axg_on_fixture_files_with_the_real_model(minilm_dir, shared_data, tmp_path):
    """ReCoRD's and AX-g's files are not in the shared data: the authored fixtures stand in, AX-g scored
    by an RTE model trained on the real RTE files."""
    if not (shared_data / "superglue/RTE").is_dir():
        pytest.skip("no SuperGLUE RTE files in the shared data")
    data = tmp_path / "data"
    (data / "superglue").mkdir(parents=True)
    for name, source in (("RTE", shared_data / "superglue/RTE"), ("ReCoRD", FIXTURES / "superglue/ReCoRD"),
                         ("AX-g", FIXTURES / "superglue/AX-g")):
        (data / "superglue" / name).symlink_to(source, target_is_directory=True)
    results = evaluate(None, tasks=["superglue/record", "superglue/axg"], mode="both", data_dir=data,
                       output_dir=tmp_path / "out", max_train_samples=32, max_eval_samples=32, epochs=1, min_steps=0,
                       quiet=True, device="cpu").results  # RTE capped: the fixtures' 4 and 12 rows are what is shown
    by_task = {(r.task, r.mode): r for r in results}
    assert set(by_task) == {(t, m) for t in ("record", "rte", "axg") for m in ("frozen", "finetune")}
    for mode in ("frozen", "finetune"):
        record, axg = by_task[("record", mode)], by_task[("axg", mode)]
        assert record.num_eval == 4 and 0 <= record.scores["exact_match"] <= record.scores["token_f1"] <= 100
        assert axg.num_eval == 12 and set(axg.scores) == {"gender_parity", "accuracy"}
        assert any(axg.scores["gender_parity"] == pytest.approx(100 * k / 6) for k in range(7))  # six pairs
