"""Frozen token heads: the scalar mix, the cached every-layer extraction, and choices made on train alone."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from conftest import build_korean_bert
from harness import evaluate
from harness.config import TOKEN_HEADS
from harness.data.files import read_split
from harness.data.splits import plan_splits
from harness.flops import PhaseFlops, flop_counter
from harness.heads.arcs import BiaffineParser
from harness.heads.tags import TagScorer
from harness.heads.token_encoders import ENCODERS, BiLSTM, FrozenHead, ScalarMix
from harness.models import layer_states
from harness.runners import features as features_module
from harness.runners.features import FeatureCache
from harness.config import RunConfig
from harness.runners.frozen_tokens import INNER_HOLDOUT, train_torch_head
from test_klue_ner import NER, fixture_sentences, plain, write_ner

FAST = dict(tasks=["klue/ner"], mode="frozen", quiet=True, device="cpu", split_strategy="holdout")


@pytest.fixture(scope="module")
def korean_model_dir(tmp_path_factory):
    return build_korean_bert(tmp_path_factory.mktemp("tiny-korean-bert"),
                             [plain(s) for s in fixture_sentences(200, seed=1)])


def test_every_token_head_option_has_an_encoder():
    assert set(ENCODERS) == set(TOKEN_HEADS)


def test_the_mix_weights_sum_to_one_and_start_as_the_mean_of_the_layers():
    mix = ScalarMix(5)
    with torch.no_grad():
        mix.logits.copy_(torch.randn(5))
    assert float(mix.weights().detach().sum()) == pytest.approx(1.0)
    states = torch.randn(2, 7, 5, 4)
    fresh = ScalarMix(5)
    assert torch.allclose(fresh(states), states.mean(-2), atol=1e-6)


@pytest.mark.parametrize("layer", [0, 2, -1])
def test_a_mix_concentrated_on_one_layer_equals_that_layers_features(layer):
    states = np.random.default_rng(0).normal(size=(9, 5, 4)).astype(np.float32)  # tokens, hidden states, width
    mix = ScalarMix(5)
    with torch.no_grad():
        mix.logits.fill_(-1e4)
        mix.logits[layer] = 0.0
    mixed = mix(torch.from_numpy(states)).detach().numpy()
    np.testing.assert_allclose(mixed, layer_states(states, str(layer)), atol=1e-6)


def test_layer_states_combines_as_layers_says():
    states = np.arange(2 * 4 * 3, dtype=np.float32).reshape(2, 4, 3)
    np.testing.assert_array_equal(layer_states(states, "last"), states[:, -1])
    np.testing.assert_array_equal(layer_states(states, "auto"), states[:, -1])  # no head to learn a mix
    np.testing.assert_array_equal(layer_states(states, "last2-concat"), np.concatenate([states[:, 2], states[:, 3]], -1))
    np.testing.assert_allclose(layer_states(states, "last2-mean"), (states[:, 2] + states[:, 3]) / 2)


def test_the_bilstm_ignores_what_pads_a_sequence():
    torch.manual_seed(0)
    head = FrozenHead("tokens", 4, 3, "bilstm", lambda width: TagScorer(width, 5)).eval()
    tokens = torch.randn(1, 6, 3, 4)
    padded = torch.cat([tokens, torch.randn(1, 4, 3, 4)], dim=1)  # four positions of noise past the end
    short = head(lengths=torch.tensor([6]), tokens=tokens, token_mask=torch.ones(1, 6, dtype=torch.bool))
    long = head(lengths=torch.tensor([6]), tokens=padded, token_mask=torch.ones(1, 10, dtype=torch.bool))
    assert torch.equal(short["predicted_tags"], long["predicted_tags"][:, :6])


@pytest.mark.parametrize("training", [True, False])
def test_the_bilstm_counts_the_flops_flop_counter_mode_counts_for_its_packed_pass(training):
    """Its own count (no counter dispatch, under which an LSTM runs step by step) is the counter's to the FLOP."""
    torch.manual_seed(0)
    lstm = BiLSTM(6).train(training)
    states, lengths = torch.randn(3, 7, 6), torch.tensor([7, 4, 2])
    counter = flop_counter()
    with counter:
        lstm(states, lengths)
    assert lstm.forward_flops(states, lengths) == counter.get_total_flops() > 0


def test_a_heads_parts_count_its_passes_as_the_whole_head_under_the_counter():
    torch.manual_seed(0)
    head = FrozenHead("tokens", 4, 3, "bilstm", lambda width: TagScorer(width, 5))
    batch = dict(tokens=torch.randn(2, 6, 3, 4), token_mask=torch.ones(2, 6, dtype=torch.bool),
                 lengths=torch.tensor([6, 3]), labels=torch.zeros(2, 6, dtype=torch.long))
    counter = flop_counter()
    with counter:
        head(**batch)
    parts = PhaseFlops(lambda backward: "head")
    for part in head.children():
        parts.watch(part)
    head(**batch)["loss"].backward()
    assert parts.by_phase["head"] == 3 * counter.get_total_flops()  # forward and a backward twice its size


def test_a_pass_batches_consecutive_runs_of_its_seeded_shuffle_whatever_the_lengths():
    """The batches the committed token-head results trained on (their reruns depend on it): each pass, the fitted
    items in a fresh seeded permutation, cut in order into batches; never regrouped by length, which cost
    KLUE-DP's parser points (train_torch_head's docstring)."""
    size, batch_size, seed = 100, 8, 3
    seen = []

    def batches(chunks):
        for chunk in chunks:
            seen.append(np.asarray(chunk))
            yield {"lengths": torch.ones(len(chunk))}

    class OneWeight(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.weight = torch.nn.Parameter(torch.zeros(()))

        def forward(self, lengths):
            return {"loss": (self.weight - 1) ** 2 * lengths.mean()}

    train_torch_head(OneWeight(), batches, size, batch_size, RunConfig(seed=seed, head_epochs=2, quiet=True))

    generator = np.random.default_rng(seed)
    order = generator.permutation(size)
    held, fitted = order[:int(size * INNER_HOLDOUT)], order[int(size * INNER_HOLDOUT):]
    expected = []
    for _ in range(max(2, -(-200 // -(-len(fitted) // batch_size)))):  # MIN_STEPS: 200 steps at least
        shuffled = fitted[generator.permutation(len(fitted))]
        expected += [shuffled[i:i + batch_size] for i in range(0, len(fitted), batch_size)]
        expected += [held[i:i + batch_size] for i in range(0, len(held), batch_size)]  # the inner holdout's loss
    assert len(seen) == len(expected) and all(np.array_equal(a, b) for a, b in zip(seen, expected))


def test_the_parser_scores_relations_on_real_words_as_on_the_padded_batch():
    """Relations scored on the real words alone (padding skipped) are the full bilinear product's, zero at
    padding, and a padded sentence's loss and gradients are its own alone."""
    torch.manual_seed(0)
    parser = BiaffineParser(8, 4).eval()  # no dropout: both batches must see the same arithmetic
    with torch.no_grad():
        for parameter in parser.parameters():
            parameter.normal_()
    words, mask = torch.randn(2, 6, 8), torch.tensor([[True] * 5, [True, True, False, False, False]])
    heads = torch.tensor([[0, 1, 2, 3, 4], [2, 0, 0, 0, 0]])
    dependents, heads_side = parser.relation_dependent(words[:, 1:]), parser.relation_head(words)
    relations = parser._relations(dependents, heads_side, heads, mask)
    chosen = heads_side.gather(1, heads.unsqueeze(-1).expand(-1, -1, heads_side.size(-1)))
    full = (torch.einsum("bid,rde,bie->bir", dependents, parser.relation_weight, chosen)
            + parser.relation_linear(torch.cat([dependents, chosen], dim=-1)))
    torch.testing.assert_close(relations[mask], full[mask])
    assert relations.shape == full.shape and not relations[~mask].any()

    labels = dict(head_labels=torch.tensor([[2, 0]]), relation_labels=torch.tensor([[3, 1]]))
    padded_labels = {key: torch.cat([value, torch.full((1, 3), -100)], 1) for key, value in labels.items()}
    alone = parser(words[1:, :3], mask[1:, :2], **labels)["loss"]
    alone_grad = torch.autograd.grad(alone, parser.relation_weight)[0]
    padded = parser(words[1:], mask[1:], **padded_labels)["loss"]
    torch.testing.assert_close(padded, alone)
    torch.testing.assert_close(torch.autograd.grad(padded, parser.relation_weight)[0], alone_grad)


def test_the_parser_predicts_the_same_relations_with_or_without_labels_and_skips_them_in_training():
    torch.manual_seed(0)
    parser = BiaffineParser(8, 4)
    with torch.no_grad():
        for parameter in parser.parameters():
            parameter.normal_()
    words, mask = torch.randn(2, 5, 8), torch.ones(2, 4, dtype=torch.bool)
    labels = dict(head_labels=torch.randint(0, 5, (2, 4)), relation_labels=torch.randint(0, 4, (2, 4)))
    parser.eval()
    plain, labelled = parser(words, mask), parser(words, mask, **labels)
    assert torch.equal(plain["predicted_relations"], labelled["predicted_relations"])
    assert "predicted_relations" not in parser.train()(words, mask, **labels)


def test_a_second_run_with_other_head_settings_runs_no_forward_pass(korean_model_dir, tmp_path, monkeypatch):
    write_ner(tmp_path / "data", fixture_sentences(16))
    kwargs = dict(data_dir=tmp_path / "data", output_dir=tmp_path / "reports", cache=FeatureCache(tmp_path / "cache"),
                  head_epochs=1, **FAST)
    (first,) = evaluate(str(korean_model_dir), **kwargs).results
    assert first.timings["extraction_s"] > 0

    def no_encoder(*args, **kwargs):
        raise AssertionError("the encoder loaded although every layer's states were cached")

    monkeypatch.setattr(features_module, "load_model", no_encoder)
    for settings in (dict(token_head="mlp"), dict(token_head="linear", layers="-2"), dict(layers="last2-mean")):
        (again,) = evaluate(str(korean_model_dir), **kwargs, **settings, overwrite=True).results
        assert again.timings["extraction_s"] == 0
        assert again.provenance["hyperparameters"]["chosen"]["token_head"] == settings.get("token_head", "bilstm")
    assert len(list((tmp_path / "cache").glob("*.npy"))) == 4  # train and eval: states and offsets, once


def test_choices_are_made_on_train_alone_and_recorded(korean_model_dir, tmp_path):
    sentences = fixture_sentences(40, seed=5)
    write_ner(tmp_path / "data", sentences)
    kwargs = dict(data_dir=tmp_path / "data", cache=FeatureCache(tmp_path / "cache"), **FAST)
    (clean,) = evaluate(str(korean_model_dir), output_dir=tmp_path / "clean", **kwargs).results
    # Poison every eval sentence's tags (all O): training and what it chooses must not change.
    plan = plan_splits(NER, {"validation": read_split(NER, "validation", tmp_path / "data")}, "holdout", 42)
    held = {int(ex["id"].split("_")[-1].split("-")[0]) for ex in plan.folds[0].eval}
    write_ner(tmp_path / "data", [plain(s) if i in held else s for i, s in enumerate(sentences)])
    (poisoned,) = evaluate(str(korean_model_dir), output_dir=tmp_path / "poisoned", **kwargs).results
    chosen = clean.provenance["hyperparameters"]["chosen"]
    assert poisoned.provenance["hyperparameters"]["chosen"] == chosen
    assert poisoned.scores != clean.scores  # the poison reached the eval rows
    assert chosen["token_head"] == "bilstm" and chosen["layers"] == "mix" and 1 <= chosen["epoch_kept"]
    assert chosen["inner_holdout"] == 3  # 10% of the 32 training sentences
    assert sum(chosen["layer_weights"]) == pytest.approx(1.0, abs=1e-3) and len(chosen["layer_weights"]) == 3


@pytest.mark.slow
def test_a_curves_token_sizes_read_one_extraction_of_the_train_split(korean_model_dir, tmp_path, monkeypatch):
    """Smaller train sizes read their rows of the whole train split's cached token states: one forward pass over
    the train split for every size, and the same states per sentence as a run on that subset alone."""
    write_ner(tmp_path / "data", fixture_sentences(30, seed=3))
    extracted = []
    real = features_module.extract_token_features
    monkeypatch.setattr(features_module, "extract_token_features",
                        lambda model, tokenizer, features, **kw: extracted.append(len(features)) or
                        real(model, tokenizer, features, **kw))
    results = evaluate(str(korean_model_dir), data_dir=tmp_path / "data", output_dir=tmp_path / "reports",
                       cache=FeatureCache(tmp_path / "cache"), head_epochs=1, train_sizes=[6, 12, None], **FAST).results
    assert [r.train_size for r in results] == [6, 12, None]
    assert sorted(extracted) == [6, 24]  # the holdout's eval part and the whole train split, once each


def test_a_drawn_subset_reads_the_same_token_states_as_its_own_extraction(korean_model_dir, tmp_path):
    from harness.config import RunConfig
    from harness.models import resolve_model
    from harness.runners.features import FeatureExtractor
    from harness.runners.frozen_tokens import FrozenTokenRunner

    write_ner(tmp_path / "data", fixture_sentences(20, seed=4))
    train = read_split(NER, "validation", tmp_path / "data").examples
    extractor = FeatureExtractor(resolve_model(str(korean_model_dir)), RunConfig(device="cpu", quiet=True),
                                 FeatureCache(tmp_path / "cache"))
    subset = train[3:9]
    alone = FrozenTokenRunner(NER, extractor)._items(subset, "train", with_labels=True)
    drawn = FrozenTokenRunner(NER, extractor)
    drawn.draws_from(train)
    sliced = drawn._items(subset, "train", with_labels=True)
    assert [f["labels"] for f in sliced[0]] == [f["labels"] for f in alone[0]]
    from harness.models import widened

    for mine, theirs in zip(sliced[2], alone[2]):  # cached in bfloat16: float32 noise may round one step apart
        np.testing.assert_allclose(widened(mine), widened(theirs), rtol=2 ** -7, atol=1e-4)


def test_bf16_bits_round_to_nearest_even_and_widen_back_exactly():
    from harness.models import bf16_bits, widened

    values = np.random.default_rng(0).normal(scale=10, size=(50, 3, 8)).astype(np.float32)
    bits = bf16_bits(values)
    assert bits.dtype == np.uint16 and bits.shape == values.shape and bits.nbytes * 2 == values.nbytes
    np.testing.assert_array_equal(widened(bits), torch.from_numpy(values).to(torch.bfloat16).float().numpy())
    np.testing.assert_allclose(widened(bits), values, rtol=2.0 ** -8)  # bfloat16's 8 significant bits
    assert widened(values) is values  # float32 passes through
    halfway = np.array([1 + 2.0 ** -8, 1 + 3 * 2.0 ** -8], dtype=np.float32)  # ties: to the even neighbour
    np.testing.assert_array_equal(widened(bf16_bits(halfway)), [1.0, 1 + 2.0 ** -6])


def test_layer_states_widen_bf16_bits_before_combining():
    from harness.models import bf16_bits, widened

    states = np.random.default_rng(1).normal(size=(6, 4, 3)).astype(np.float32)
    bits = bf16_bits(states)
    for layers in ("last", "1", "last2-concat", "last3-mean"):
        got = layer_states(bits, layers)
        assert got.dtype == np.float32
        np.testing.assert_array_equal(got, layer_states(widened(bits), layers))


def test_token_states_are_cached_in_bf16_and_read_back_as_the_extraction_rounded(korean_model_dir, tmp_path):
    """The cache holds every token's states in bfloat16 (half float32's bytes); the heads read them as the float32
    extraction rounded to bfloat16, whether computed now or read back."""
    from harness.config import RunConfig
    from harness.models import resolve_model, widened
    from harness.runners.features import FeatureExtractor
    from harness.runners.frozen_tokens import FrozenTokenRunner, pad_vectors

    write_ner(tmp_path / "data", fixture_sentences(12, seed=5))
    train = read_split(NER, "validation", tmp_path / "data").examples
    config = RunConfig(device="cpu", quiet=True)
    extractor = FeatureExtractor(resolve_model(str(korean_model_dir)), config, FeatureCache(tmp_path / "cache"))
    runner = FrozenTokenRunner(NER, extractor)
    features, _ = runner._encode(train, False)
    inputs = [{k: f[k] for k in ("input_ids", "attention_mask", "token_type_ids") if k in f} for f in features]
    computed, offsets = extractor.token_states(NER, train, "train", inputs)
    cached, _ = FeatureExtractor(resolve_model(str(korean_model_dir)), config,
                                 FeatureCache(tmp_path / "cache")).token_states(NER, train, "train", inputs)
    exact, _ = features_module.extract_token_features(extractor.encoder, extractor.tokenizer, inputs, batch_size=4,
                                                      device="cpu", quiet=True)
    assert computed.dtype == cached.dtype == np.uint16 and computed.shape == exact.shape
    np.testing.assert_array_equal(cached, computed)
    rounded = torch.from_numpy(exact).to(torch.bfloat16).float().numpy()
    np.testing.assert_array_equal(widened(np.asarray(cached)), rounded)
    padded, mask = pad_vectors([cached[offsets[i]:offsets[i + 1]] for i in range(2)])
    assert padded.dtype == torch.float32
    np.testing.assert_array_equal(padded[0, :offsets[1]].numpy(), rounded[:offsets[1]])
