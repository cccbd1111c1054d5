"""The Python API equals the CLI: `harness eval` is one evaluate() call, so the same evaluation run both ways
writes the same results folder, curves and leaderboards, byte for byte once what differs between any two runs
is masked: wall times and the folder each writes into (results record no timestamp or host)."""
from __future__ import annotations

import inspect
import json
import re
from pathlib import Path

import harness.api
from harness.api import evaluate
from harness.cli import main
from harness.config import RunConfig, Selection, options_of
from conftest import cli_flags

# a fixed learning rate: no search, so a few seconds a run
SETTINGS = dict(epochs=1, min_steps=0, batch_size=16, learning_rate=1e-3, max_train_samples=32,
                max_eval_samples=16, device="cpu", quiet=True)


def test_every_eval_option_is_a_keyword_of_evaluate():
    """A new `harness eval` option cannot be the CLI's alone: each Selection field is evaluate()'s keyword, and no
    keyword takes a RunConfig field's name, so each of those reaches the run's settings as an override."""
    keywords = set(inspect.signature(evaluate).parameters)
    assert {declared.name for declared in options_of(Selection)} <= keywords
    assert not keywords & {declared.name for declared in options_of(RunConfig)}


def test_the_same_evaluation_by_the_cli_and_by_the_api_writes_the_same_files(tiny_model_dir, glue_dir, tmp_path,
                                                                             monkeypatch, capsys):
    def run_by_cli(root: Path) -> None:
        assert main(["eval", "--model", str(tiny_model_dir), "--tasks", "glue/sst2", "--mode", "both",
                     "--data-dir", str(glue_dir), "--output-dir", str(root / "reports"), "--seeds", "1,2",
                     "--train-sizes", "16,all", "--leaderboard-dir", str(root / "boards"),
                     *cli_flags(SETTINGS)]) == 0

    def run_by_api(root: Path) -> harness.api.Evaluation:
        return evaluate(str(tiny_model_dir), tasks=["glue/sst2"], mode="both", data_dir=glue_dir,
                        output_dir=root / "reports", seeds=[1, 2], train_sizes=[16, None],
                        leaderboard_dir=root / "boards", **SETTINGS)

    by_cli, by_api = tmp_path / "cli", tmp_path / "api"
    monkeypatch.setenv("HARNESS_CACHE_DIR", str(tmp_path / "cache-cli"))  # each computes its own features
    run_by_cli(by_cli)
    printed = capsys.readouterr().out
    monkeypatch.setenv("HARNESS_CACHE_DIR", str(tmp_path / "cache-api"))
    evaluation = run_by_api(by_api)

    files = _files(by_cli)
    assert files == _files(by_api)
    assert len([name for name in files if name.endswith("result.json")]) == 8  # 2 seeds x 2 sizes x 2 modes
    assert {"boards/glue.md", "reports/" + _curve(files)} <= set(files)
    for name in files:
        assert _masked(name, by_cli) == _masked(name, by_api), name
    # what the CLI printed is what the API returned
    assert [f"wrote {path}" for path in evaluation.written] == [
        line.replace(str(by_cli), str(by_api)) for line in printed.splitlines() if line.startswith("wrote ")]
    assert [(r.seed, r.mode, r.train_size) for r in evaluation.results] == [
        (1, "frozen", 16), (1, "finetune", 16), (1, "frozen", None), (1, "finetune", None),
        (2, "frozen", 16), (2, "finetune", 16), (2, "frozen", None), (2, "finetune", None)]
    lines = printed.splitlines()
    assert lines[0].startswith("learning curve: 1 task(s) x 2 sizes (16, all) x 2 mode(s) x 2 seed(s) = 8 runs")
    assert [line.split()[:2] for line in lines if line.startswith(("seed", "glue/"))] == [
        ["seed", "1"], *[["glue/sst2", mode] for mode in ("frozen", "finetune")] * 2,
        ["seed", "2"], *[["glue/sst2", mode] for mode in ("frozen", "finetune")] * 2]


def test_a_shard_of_the_api_runs_the_share_the_cli_runs(tiny_model_dir, glue_dir, tmp_path, monkeypatch, capsys):
    """--shard goes through evaluate(): the CLI and the API run the same share, and say so the same way."""
    ran = []
    one_seed = harness.api._evaluate_seed

    def recorded(*args, units, config, **kwargs):
        ran.append((config.seed, [unit for unit in units if unit.seed == config.seed]))
        return one_seed(*args, units=units, config=config, **kwargs)

    monkeypatch.setattr(harness.api, "_evaluate_seed", recorded)
    said = []
    common = dict(tasks=["glue/sst2", "glue/stsb"], mode="frozen", data_dir=glue_dir, seeds=[1, 2], **SETTINGS)
    evaluation = evaluate(str(tiny_model_dir), output_dir=tmp_path / "api", shard=(1, 2), say=said.append, **common)
    by_api, ran[:] = list(ran), []
    assert main(["eval", "--model", str(tiny_model_dir), "--tasks", "glue/sst2,glue/stsb", "--mode", "frozen",
                 "--data-dir", str(glue_dir), "--output-dir", str(tmp_path / "cli"), "--seeds", "1,2", "--shard", "1/2",
                 *cli_flags(SETTINGS)]) == 0
    assert ran == by_api == [(2, [unit for unit in harness.api.plan_units(**common).units if unit.seed == 2])]
    assert said == ["shard 1/2: 2 of the plan's 4 work units"] and said[0] in capsys.readouterr().out.splitlines()
    assert [(r.seed, r.task) for r in evaluation.results] == [(2, "sst2"), (2, "stsb")]
    assert _files(tmp_path / "api") == _files(tmp_path / "cli")


def _files(root: Path) -> list[str]:
    """Every file under `root`, relative to it (the run locks, a process's own, left out)."""
    return sorted(str(path.relative_to(root)) for path in root.rglob("*") if path.is_file() and
                  not path.name.endswith(".lock"))


def _curve(files: list[str]) -> str:
    (curve,) = [name.removeprefix("reports/") for name in files if name.endswith("curve.md")]
    return curve


# What differs between any two runs of the same evaluation: how long things took (a result's timings in seconds
# and examples per second; the leaderboards' wall-time columns), and the folder each was told to write into.
WALL_TIME = re.compile(r"_s$|_per_s$")
WALL_TIME_COLUMN = re.compile(r"\bwall\b")


def _masked(name: str, root: Path) -> bytes | str:
    """The file's bytes; a text file's text with the run-specific values masked."""
    content = (root / name).read_bytes()
    if name.endswith(".png"):  # drawn from scores and compute alone: equal byte for byte
        return content
    text = content.decode("utf-8").replace(str(root), "<root>")
    if name.endswith(".json"):
        return json.dumps(_mask(json.loads(text)), sort_keys=True)
    if name.endswith(".jsonl"):
        return "\n".join(json.dumps(_mask(json.loads(line)), sort_keys=True) for line in text.splitlines())
    return _mask_columns(text)


def _mask(value, key: str = ""):
    if isinstance(value, dict):
        return {name: _mask(item, name) for name, item in value.items()}
    if isinstance(value, list):
        return [_mask(item, key) for item in value]
    return "<masked>" if WALL_TIME.search(key) else value


def _mask_columns(markdown: str) -> str:
    """The markdown with the cells of every table's wall-time columns (their header says wall) masked."""
    masked, columns, header = [], set(), True
    for line in markdown.split("\n"):
        if not line.startswith("|"):
            masked.append(line)
            header = True  # the next table starts with its header
            continue
        cells = line.split("|")
        if header:
            columns, header = {i for i, cell in enumerate(cells) if WALL_TIME_COLUMN.search(cell)}, False
        else:
            cells = ["<masked>" if i in columns else cell for i, cell in enumerate(cells)]
        masked.append("|".join(cells))
    return "\n".join(masked)
