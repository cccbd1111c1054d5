"""N2M: the text-to-text view of one-label tasks, the warm-started encoder-decoder, generation in both modes,
and scoring of generations (label words read back, unreadable ones counted as wrong)."""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from conftest import WORDS, write_glue_dir
from harness import evaluate
from harness.config import RunConfig
from harness.errors import ConfigError, TaskError
from harness.formats import n2m
from harness.metrics.klue import compute_wos_scores
from harness.models import load_tokenizer, resolve_model
from harness.shapes import shape_of
from harness.tasks import REGISTRY, generation_view

SST2 = REGISTRY.get("glue/sst2")
CONFIG = RunConfig(device="cpu")


@pytest.fixture(scope="module")
def tiny_words_model(tmp_path_factory) -> Path:
    """The tiny test BERT with SST-2's label words in its vocabulary, so targets are real tokens."""
    from transformers import BertConfig, BertModel, BertTokenizerFast

    folder = tmp_path_factory.mktemp("tiny-bert-words")
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS, "negative", "positive"]
    BertTokenizerFast(vocab={t: i for i, t in enumerate(vocab)}, do_lower_case=True,
                      model_max_length=64).save_pretrained(folder)
    torch.manual_seed(0)
    BertModel(BertConfig(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                         intermediate_size=64, max_position_embeddings=64)).save_pretrained(folder)
    return folder


def test_the_view_of_a_one_label_task():
    view = REGISTRY.get("sst2-n2m")
    assert view == REGISTRY.get("glue/sst2-n2m")
    assert (view.id, view.shape, view.formats, view.in_suite_score) == ("glue/sst2-n2m", "generation", ("n2m",), False)
    assert view.metrics == ("accuracy", "exact_match", "bleu", "chrf", "rouge_l", "bertscore_f1")
    assert view.main_score == ("accuracy",) and view.label_words == ("negative", "positive")
    assert REGISTRY.get("glue/rte-n2m").label_words == ("entailment", "not entailment")  # from the labels
    with pytest.raises(TaskError, match="klue/ner has no text-to-text view"):
        generation_view(REGISTRY.get("klue/ner"))
    with pytest.raises(ConfigError, match="--format 'n21'"):
        RunConfig(format="n21")


def test_labels_to_text_and_back():
    view, stsb = REGISTRY.get("sst2-n2m"), REGISTRY.get("stsb-n2m")
    assert n2m.generation_examples(view, [{"id": "a", "text": "fine film", "label": 1}]) == [
        {"id": "a", "source": "sst2: fine film", "target": "positive", "references": ["positive"]}]
    assert [n2m.read_label(view, t) for t in ("Positive.", " negative", "positive!", "")] == [1, 0, None, None]
    assert n2m.label_text(stsb, 3.25) == "3.2" and n2m.read_label(stsb, "4.0") == 4.0
    assert n2m.read_label(stsb, "four") is None
    assert n2m.wrong_label(view, 1, 0, 0) == 0 and n2m.wrong_label(stsb, 4.5, 0.0, 5.0) == 0.0


def test_unreadable_generations_count_as_wrong_and_are_reported():
    task = dataclasses.replace(REGISTRY.get("sst2-n2m"), metrics=("accuracy", "exact_match", "chrf"))
    examples = [{"id": str(i), "text": "x", "label": label} for i, label in enumerate([1, 0, 1, 0])]
    scores = shape_of(task).score(task, examples, ["positive", "banana", "negative", "negative"], CONFIG)
    assert scores["unparseable"] == 25.0
    assert scores["accuracy"] == 50.0 and scores["exact_match"] == 50.0  # "banana" is wrong, not skipped
    assert scores.signatures["chrf"].startswith("nrefs:1")


def test_warm_started_targets_end_with_sep_and_the_encoder_freezes(tiny_words_model):
    ref = resolve_model(str(tiny_words_model))
    tokenizer = load_tokenizer(ref)
    model = n2m.load_seq2seq(ref, tokenizer)
    assert n2m.warm_started(model) and model.config.decoder_start_token_id == tokenizer.cls_token_id
    (feature,) = n2m.encode(tokenizer, [{"source": "sst2: good film", "target": "positive"}], 32, 8, model)
    assert tokenizer.convert_ids_to_tokens(feature["labels"]) == ["positive", "[SEP]"]
    frozen = n2m.freeze_encoder(model)
    assert frozen == sum(p.numel() for p in model.get_encoder().parameters())
    assert all(p.requires_grad for p in model.get_decoder().parameters())


def test_text_to_text_in_both_modes_on_a_tiny_model(tiny_words_model, tmp_path):
    data = write_glue_dir(tmp_path / "data")
    results = evaluate(str(tiny_words_model), tasks=["glue/sst2"], mode="both", data_dir=data, format="n2m",
                       output_dir=tmp_path / "out", quiet=True, device="cpu", epochs=6, min_steps=0, learning_rate=3e-3,
                       batch_size=8, max_length=32, max_new_tokens=4).results
    assert [(r.task, r.mode) for r in results] == [("sst2-n2m", "frozen"), ("sst2-n2m", "finetune")]
    frozen, tuned = results
    assert frozen.timings["trainable_parameters"] < tuned.timings["trainable_parameters"]
    for result in results:
        assert set(result.scores) == {"accuracy", "exact_match", "bleu", "chrf", "rouge_l", "bertscore_f1", "unparseable"}
        assert set(result.provenance["metrics"]["signatures"]) == {"bleu", "chrf", "rouge_l", "bertscore_f1"}
        assert result.provenance["hyperparameters"]["bertscore_model"] == str(tiny_words_model)
    rows = [json.loads(line) for line in next((tmp_path / "out").rglob("finetune-seed42/predictions.jsonl")).open()]
    assert {"target", "generation", "prediction"} <= set(rows[0])
    readable = [r for r in rows if r["prediction"] is not None]
    assert len(rows) - len(readable) == round(tuned.scores["unparseable"] * len(rows) / 100)
    accuracy = np.mean([r["prediction"] == r["label"] for r in rows]) * 100
    assert tuned.scores["accuracy"] == pytest.approx(accuracy)
    from harness.report import render_report

    from harness.uncertainty import read_sample

    folder = next((tmp_path / "out").rglob("finetune-seed42"))
    sample = read_sample(folder / "predictions.jsonl", REGISTRY.get("glue/sst2-n2m"))
    full = sample.values(np.ones((1, len(sample))))
    for metric in ("accuracy", "bertscore_f1", "chrf", "bleu"):  # BERTScore per example, kept in the rows
        assert full[metric][0] == pytest.approx(tuned.scores[metric], abs=1e-9)
    page = render_report(folder, resamples=50)
    assert "## Worst generations" in page and "| bertscore_f1 |" in page
    accuracy_row = next(line for line in page.splitlines() if line.startswith("| accuracy |"))
    assert "[" in accuracy_row  # an interval, from the labels read back


FIXTURES = Path(__file__).parent / "fixtures"


def test_views_of_mrc_and_record_and_the_wos_state_as_text():
    from harness.data.files import read_split

    mrc = REGISTRY.get("klue/mrc-n2m")
    assert mrc.view_of == "spans" and mrc.metrics[:2] == ("mrc_exact_match", "mrc_rouge_w")
    questions = read_split(mrc, "validation", FIXTURES).examples  # read as MRC examples
    items = n2m.generation_examples(mrc, questions)
    answerable = next(i for i, q in zip(items, questions) if q["label"])
    assert answerable["target"] in answerable["source_pair"] and answerable["source"].startswith("mrc: ")
    assert any(i["references"] == [""] for i in items)  # an unanswerable question: generate nothing
    record = REGISTRY.get("superglue/record-n2m")
    (first, *_) = n2m.generation_examples(record, read_split(record, "validation", FIXTURES).examples)
    assert first["source"] == "record: @placeholder said fans would get their money back."
    assert first["target"] == "Sven Ekdal"
    wos = REGISTRY.get("klue/wos")
    turns = read_split(wos, "validation", FIXTURES).examples
    (last,) = [n2m.generation_examples(wos, turns)[2]]
    assert last["target"] == "식당-이름=한강-분식" and n2m.read_state(last["target"]) == turns[2]["label"]
    assert n2m.read_state("식당 이름 한강") is None and n2m.read_state("") == []


def test_a_generated_slot_none_is_dropped_when_the_state_is_read_back():
    # KLUE's baseline drops a slot predicted "none": the state below is exactly its gold one.
    read = n2m.read_state("관광-종류=박물관, 숙소-지역=none")
    assert read == ["관광-종류-박물관"]
    assert compute_wos_scores(["wos_joint_goal_accuracy"], [read], [["관광-종류-박물관"]]) == {
        "wos_joint_goal_accuracy": 100.0}


def test_generated_states_and_answers_are_scored_by_the_tasks_own_metrics():
    from harness.data.files import read_split

    wos = dataclasses.replace(REGISTRY.get("klue/wos"), metrics=("wos_joint_goal_accuracy", "wos_slot_micro_f1"))
    turns = read_split(wos, "validation", FIXTURES).examples
    generations = ["관광-종류=박물관, 관광-지역=서울 중앙", "관광-종류=박물관", "no idea"]
    scores = shape_of(wos).score(wos, turns, generations, CONFIG)
    assert scores["wos_joint_goal_accuracy"] == pytest.approx(100 / 3)  # only the first turn is exact
    assert scores["unparseable"] == pytest.approx(100 / 3)
    # turn 2: 1 of 4 gold items, precision 1 -> F1 0.4; turn 3: unreadable -> empty -> 0
    assert scores["wos_slot_micro_f1"] == pytest.approx(100 * (1 + 0.4 + 0) / 3)


def test_mrc_and_wos_generation_run_end_to_end_on_the_fixture_files(tmp_path):
    from conftest import build_korean_bert
    from harness.data.files import read_split

    texts = [ex["context"] + ex["question"] for ex in read_split(REGISTRY.get("klue/mrc"), "validation",
                                                                 FIXTURES).examples]
    texts += [ex["text"] + "=, " + ", ".join(ex["label"]) for ex in read_split(REGISTRY.get("klue/wos"), "validation",
                                                                                FIXTURES).examples]
    model = build_korean_bert(tmp_path / "model", texts)
    for task, mode in (("klue/mrc", "both"), ("klue/wos", "both")):
        results = evaluate(str(model), tasks=[task], mode=mode, data_dir=FIXTURES, format="n2m",
                           output_dir=tmp_path / "out", split_strategy="holdout", quiet=True, device="cpu",
                           epochs=1, min_steps=0, batch_size=4, max_length=64, max_new_tokens=8).results
        assert [r.mode for r in results] == ["frozen", "finetune"]
        for result in results:
            own = REGISTRY.get(task).main_score
            assert set(own) <= set(result.scores) and "bertscore_f1" in result.scores
            bleu = result.provenance["metrics"]["signatures"]["bleu"]
            assert "|tok:ko-mecab" in bleu or "|tok:char|" in bleu  # Korean: MeCab-ko, or characters with a note


@pytest.fixture(scope="module")
def tiny_bart(tmp_path_factory) -> Path:
    """A 1-layer BART with random weights and a byte-level BPE learnt on the test words: a checkpoint's own
    seq2seq model, used as it is."""
    from tokenizers import ByteLevelBPETokenizer
    from transformers import BartConfig, BartForConditionalGeneration, BartTokenizerFast

    folder = tmp_path_factory.mktemp("tiny-bart")
    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator([" ".join(WORDS + ["negative", "positive", "sst2:"])] * 4, vocab_size=300,
                            special_tokens=["<s>", "<pad>", "</s>", "<unk>", "<mask>"])
    merges = [tuple(line.split()) for line in Path(bpe.save_model(str(folder))[1]).read_text().splitlines()[1:]
              if line]
    tokenizer = BartTokenizerFast(vocab=bpe.get_vocab(), merges=merges, model_max_length=64)
    tokenizer.save_pretrained(folder)
    torch.manual_seed(0)
    config = BartConfig(vocab_size=len(tokenizer), d_model=32, encoder_layers=1, decoder_layers=1,
                        encoder_attention_heads=2, decoder_attention_heads=2, encoder_ffn_dim=64, decoder_ffn_dim=64,
                        max_position_embeddings=64)
    BartForConditionalGeneration(config).save_pretrained(folder)
    return folder


def test_a_seq2seq_checkpoint_is_used_as_it_is_and_its_shared_embeddings_keep_training(tiny_bart, tmp_path):
    ref = resolve_model(str(tiny_bart))
    tokenizer = load_tokenizer(ref)
    model = n2m.load_seq2seq(ref, tokenizer)
    assert not n2m.warm_started(model) and model.config.is_encoder_decoder
    (feature,) = n2m.encode(tokenizer, [{"source": "sst2: good film", "target": "positive"}], 32, 8, model)
    assert tokenizer.decode(feature["labels"], skip_special_tokens=True) == "positive"
    assert feature["labels"][-1] == tokenizer.eos_token_id
    n2m.freeze_encoder(model)
    assert model.get_encoder().embed_tokens.weight.requires_grad  # shared with the decoder: it trains there
    assert not any(p.requires_grad for p in model.get_encoder().layers.parameters())
    data = write_glue_dir(tmp_path / "data", n_train=16, n_dev=8)
    results = evaluate(str(tiny_bart), tasks=["glue/sst2"], mode="both", data_dir=data, format="n2m",
                       output_dir=tmp_path / "out", quiet=True, device="cpu", epochs=1, min_steps=0, batch_size=8, max_length=32,
                       max_new_tokens=4, bertscore_layer=1).results
    assert [r.num_eval for r in results] == [8, 8]


def test_a_suite_as_text_to_text_skips_the_tasks_without_a_view(tiny_words_model, tmp_path):
    from harness.tasks import TaskRegistry

    root = tmp_path / "tasks" / "glue"
    root.mkdir(parents=True)
    for name in ("sst2", "ner"):
        source = REGISTRY.get("glue/sst2" if name == "sst2" else "klue/ner").source
        text = Path(source).read_text(encoding="utf-8")
        (root / f"{name}.yaml").write_text(text.replace("suite: klue", "suite: glue"), encoding="utf-8")
    evaluation = evaluate(str(tiny_words_model), suite="glue", mode="frozen", data_dir=write_glue_dir(tmp_path / "d"),
                          format="n2m", registry=TaskRegistry(tmp_path / "tasks"), output_dir=tmp_path / "out",
                          quiet=True, device="cpu", epochs=1, min_steps=0, max_length=32, max_new_tokens=2)
    assert [r.task for r in evaluation.results] == ["sst2-n2m"]
    assert "no text-to-text view" in evaluation.skipped["glue/ner"]


def test_run_report_reads_rows_written_before_they_carried_every_reference():
    view = generation_view(REGISTRY.get("glue/sst2"))
    rows = [{"id": "b", "target": "negative", "generation": "negative"},
            {"id": "a", "target": "positive", "generation": "negative"}]
    (table,) = shape_of(view).report_tables(view, rows)
    assert table.title == "Worst generations"
    assert [row[:3] for row in table.rows] == [["`a`", "positive", "negative"], ["`b`", "negative", "negative"]]
    assert table.rows[1][3] == "100.00"


def test_a_bertscore_layer_beyond_the_model_stops_before_any_compute(tiny_model_dir, glue_dir, tmp_path, monkeypatch):
    """Cut beyond its last layer, the model would load with random layers added and score with them."""
    from harness import api

    monkeypatch.setattr(api, "plan_splits", lambda *a, **k: pytest.fail("data was planned before the check"))
    with pytest.raises(ConfigError, match=r"--bertscore-layer 99 is beyond the \d+ layers of .*; use 0"):
        evaluate(str(tiny_model_dir), tasks=["glue/sst2"], mode="frozen", format="n2m", data_dir=glue_dir,
                 output_dir=tmp_path, bertscore_layer=99, quiet=True, device="cpu")
    with pytest.raises(ConfigError, match="--bertscore-layer must be at least 0, got -100"):
        RunConfig(bertscore_layer=-100)
