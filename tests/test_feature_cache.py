"""The frozen feature cache: keyed on everything that changes the numbers; a damaged entry is recomputed."""
from __future__ import annotations

import json
import logging
import os
import shutil
import zipfile

import numpy as np
import pytest
from conftest import read_only_under

from harness.config import RunConfig
from harness.models import (encoding_fingerprint, load_tokenizer, model_facts, resolve_model, vocab_files,
                            weights_fingerprint)
from harness.runners.features import FeatureCache, FeatureExtractor
from harness.tasks import REGISTRY

EXAMPLES = [{"id": str(i), "text": text, "label": i % 2}
            for i, text in enumerate(["the movie was very good .", "a dog sits on the mat", "awful plot", "fine"])]
SST2 = REGISTRY.get("glue/sst2")


def _extractor(folder, cache_dir) -> FeatureExtractor:
    return FeatureExtractor(resolve_model(str(folder)), RunConfig(quiet=True, device="cpu"), FeatureCache(cache_dir))


def test_the_same_weights_with_another_tokenizer_or_config_are_not_served_from_cache(tiny_model_dir, tmp_path):
    from transformers import BertTokenizerFast

    cache = tmp_path / "cache"
    original = _extractor(tiny_model_dir, cache).features(SST2, EXAMPLES, "train")

    retokenized = shutil.copytree(tiny_model_dir, tmp_path / "retokenized")
    vocab = list(load_tokenizer(resolve_model(str(tiny_model_dir))).get_vocab())
    reordered = vocab[:5] + vocab[5:][::-1]  # same special tokens and size, other ids for the words
    BertTokenizerFast(vocab={token: i for i, token in enumerate(reordered)}, do_lower_case=True,
                      model_max_length=64).save_pretrained(retokenized)
    extractor = _extractor(retokenized, cache)
    features = extractor.features(SST2, EXAMPLES, "train")
    assert extractor.cache_hits == 0 and extractor.extracted == len(EXAMPLES)
    assert not np.allclose(features, original)  # the stale features would have been wrong

    reconfigured = shutil.copytree(tiny_model_dir, tmp_path / "reconfigured")
    config = json.loads((reconfigured / "config.json").read_text())
    (reconfigured / "config.json").write_text(json.dumps({**config, "hidden_act": "relu"}))
    extractor = _extractor(reconfigured, cache)
    features = extractor.features(SST2, EXAMPLES, "train")
    assert extractor.cache_hits == 0 and not np.allclose(features, original)

    again = _extractor(shutil.copytree(tiny_model_dir, tmp_path / "copy"), cache)  # same files elsewhere: reused
    np.testing.assert_array_equal(again.features(SST2, EXAMPLES, "train"), original)
    assert again.cache_hits == 1


def test_what_the_tokenizer_and_config_say_is_kept_and_keys_stay_as_they_were(tiny_model_dir, tmp_path, monkeypatch,
                                                                             caplog):
    import harness.runners.features as features_module

    ref = resolve_model(str(tiny_model_dir))
    first = _extractor(tiny_model_dir, tmp_path)
    assert first.facts == model_facts(ref)
    # the key's model part is the one a loaded tokenizer gives, so caches written before stay valid
    assert first.encoding == encoding_fingerprint(ref, vocab_files(load_tokenizer(ref)), weights_fingerprint(ref))
    (record,) = tmp_path.glob("*.json")

    def no_loading(ref):
        raise AssertionError("the tokenizer and config were read again")

    monkeypatch.setattr(features_module, "model_facts", no_loading)
    again = _extractor(tiny_model_dir, tmp_path)
    assert again.facts == first.facts and again.encoding == first.encoding

    monkeypatch.undo()
    record.write_text('{"vocab_files": "vocab.txt"}')  # not what ModelFacts holds: read again, and replaced
    assert _extractor(tiny_model_dir, tmp_path).facts == first.facts
    assert json.loads(record.read_text())["vocab_files"] == list(first.facts.vocab_files)
    record.write_text("{not json")
    with caplog.at_level(logging.WARNING, logger="harness"):
        assert _extractor(tiny_model_dir, tmp_path).facts == first.facts
    assert "is not a JSON object" in caplog.text and json.loads(record.read_text())


class _Payload:
    """Unpickling this runs code: it would leave a file behind."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.mkdir, (str(self.marker),))


def _damage(path, how: str, marker) -> None:
    good = path.read_bytes()
    if how == "truncated header":
        path.write_bytes(good[:40])
    elif how == "truncated data":
        path.write_bytes(good[:-7])
    elif how == "random bytes":
        path.write_bytes(np.random.default_rng(0).bytes(len(good)))
    elif how == "pickled objects":
        poisoned = np.empty(1, dtype=object)
        poisoned[0] = _Payload(marker)
        np.save(path, poisoned, allow_pickle=True)
    elif how == "zip archive":
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("features.npy", good)
    elif how == "another shape":
        np.save(path, np.zeros((len(EXAMPLES) + 1, 3, 32), dtype=np.float32))
    elif how == "another type":
        np.save(path, np.zeros((len(EXAMPLES), 3, 32), dtype=np.float64))
    elif how == "forged shape":  # loading it would ask for terabytes
        header = {"descr": "<f4", "fortran_order": False, "shape": (10**12, 3, 32)}
        with open(path, "wb") as out:
            np.lib.format.write_array_header_1_0(out, header)
            out.write(good[-64:])


DAMAGES = ["truncated header", "truncated data", "random bytes", "pickled objects", "zip archive", "another shape",
           "another type", "forged shape"]


@pytest.mark.parametrize("how", DAMAGES)
def test_a_damaged_pooled_entry_is_discarded_and_recomputed_with_a_warning(tiny_model_dir, tmp_path, caplog, how):
    cache, marker = tmp_path / "cache", tmp_path / "unpickled"
    clean = _extractor(tiny_model_dir, cache).features(SST2, EXAMPLES, "train")
    (entry,) = cache.glob("*.npy")
    _damage(entry, how, marker)
    extractor = _extractor(tiny_model_dir, cache)
    with caplog.at_level(logging.WARNING, logger="harness"):
        features = extractor.features(SST2, EXAMPLES, "train")
    np.testing.assert_array_equal(features, clean)
    assert extractor.cache_hits == 0 and extractor.extracted == len(EXAMPLES)
    assert f"feature cache entry {entry}" in caplog.text and "computing the features again" in caplog.text
    assert not marker.exists()  # nothing was unpickled
    np.testing.assert_array_equal(np.load(entry, allow_pickle=False), clean)  # the entry is whole again


@pytest.mark.parametrize("which", ["vectors", "offsets"])
@pytest.mark.parametrize("how", ["truncated data", "another shape"])
def test_a_damaged_token_entry_is_discarded_and_recomputed(tiny_model_dir, tmp_path, caplog, which, how):
    cache = tmp_path / "cache"
    tokenizer = load_tokenizer(resolve_model(str(tiny_model_dir)))
    features = [tokenizer(ex["text"]) for ex in EXAMPLES]
    vectors, offsets = _extractor(tiny_model_dir, cache).token_states(SST2, EXAMPLES, "train", features)
    clean_vectors, clean_offsets = np.array(vectors), np.array(offsets)
    (entry,) = [p for p in cache.glob("*.npy") if p.stem.endswith("-offsets") == (which == "offsets")]
    _damage(entry, how, tmp_path / "unpickled")
    extractor = _extractor(tiny_model_dir, cache)
    with caplog.at_level(logging.WARNING, logger="harness"):
        vectors, offsets = extractor.token_states(SST2, EXAMPLES, "train", features)
    np.testing.assert_array_equal(vectors, clean_vectors)
    np.testing.assert_array_equal(offsets, clean_offsets)
    assert extractor.cache_hits == 0 and f"feature cache entry {entry}" in caplog.text


# --- a cache that cannot be written (issue 26, item 12) ---------------------------------------------------


def test_a_read_only_cache_is_given_up_up_front_with_one_warning(tiny_model_dir, tmp_path, caplog, monkeypatch):
    clean = _extractor(tiny_model_dir, tmp_path / "clean").features(SST2, EXAMPLES, "train")
    tokenizer = load_tokenizer(resolve_model(str(tiny_model_dir)))
    tokens = [tokenizer(ex["text"]) for ex in EXAMPLES]
    cache = tmp_path / "ro"
    cache.mkdir()
    read_only_under(monkeypatch, cache)
    extractor = _extractor(tiny_model_dir, cache)
    with caplog.at_level(logging.WARNING, logger="harness"):
        extractor.cache.check_writable()
        np.testing.assert_array_equal(extractor.features(SST2, EXAMPLES, "train"), clean)
        vectors, offsets = extractor.token_states(SST2, EXAMPLES, "train", tokens)
    assert vectors.shape[0] == offsets[-1] and not extractor.cache.writable
    warnings = [r.getMessage() for r in caplog.records if "cannot be written" in r.getMessage()]
    assert warnings == [f"feature cache {cache} cannot be written (Read-only file system); running without caching "
                        "features (set HARNESS_CACHE_DIR to a folder you can write to, to cache them)"]
    assert list(cache.iterdir()) == []


def test_a_cache_path_that_is_a_file_runs_without_caching(tiny_model_dir, glue_dir, tmp_path, monkeypatch, caplog):
    from harness import evaluate

    cache = tmp_path / "not-a-folder"
    cache.write_text("x")
    monkeypatch.setenv("HARNESS_CACHE_DIR", str(cache))
    with caplog.at_level(logging.WARNING, logger="harness"):
        (result,) = evaluate(str(tiny_model_dir), tasks=["sst2"], mode="frozen", data_dir=glue_dir,
                             output_dir=tmp_path / "r", quiet=True, max_train_samples=32, max_eval_samples=16).results
    assert result.scores and "cannot be written" in caplog.text and cache.read_text() == "x"


def test_a_full_disk_leaves_no_temporary_file_and_the_run_goes_on(tiny_model_dir, tmp_path, monkeypatch, caplog):
    import errno

    clean = _extractor(tiny_model_dir, tmp_path / "clean").features(SST2, EXAMPLES, "train")
    real_save = np.save

    def full(out, array, **kwargs):  # a disk that fills up midway through the array, as tofile reports it
        out.write(b"\x93NUMPY" + b"\0" * 100)
        raise OSError(errno.ENOSPC, f"{array.nbytes} requested and 106 written")

    monkeypatch.setattr(np, "save", full)
    cache = tmp_path / "full"
    extractor = _extractor(tiny_model_dir, cache)
    with caplog.at_level(logging.WARNING, logger="harness"):
        features = extractor.features(SST2, EXAMPLES, "train")
    monkeypatch.setattr(np, "save", real_save)
    np.testing.assert_array_equal(features, clean)
    assert "cannot be written" in caplog.text and list(cache.glob("*.npy*")) == []  # no *.npy.tmp left


def test_no_disk_room_for_token_states_falls_back_to_memory(tiny_model_dir, tmp_path, monkeypatch, caplog):
    import errno

    from harness.runners import features as module

    tokenizer = load_tokenizer(resolve_model(str(tiny_model_dir)))
    tokens = [tokenizer(ex["text"]) for ex in EXAMPLES]
    clean, _ = _extractor(tiny_model_dir, tmp_path / "clean").token_states(SST2, EXAMPLES, "train", tokens)
    clean = np.array(clean)

    def no_room(fd, offset, length):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(module.os, "posix_fallocate", no_room)
    cache = tmp_path / "full"
    with caplog.at_level(logging.WARNING, logger="harness"):
        vectors, _ = _extractor(tiny_model_dir, cache).token_states(SST2, EXAMPLES, "train", tokens)
    np.testing.assert_array_equal(vectors, clean)
    assert "No space left on device" in caplog.text and not list(cache.glob("*.tmp"))
