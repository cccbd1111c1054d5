"""Options declared once: the checks, the generated `harness` parser and the docs' generated options tables."""
import math

import pytest

from harness.cli import build_parser, main
from harness.config import (COMMANDS, EVAL_SETTINGS, OPTIONS_DOC, TABLED, Export, Leaderboards, Listing, RunConfig,
                            RunReport, Selection, options_of, options_table, table_markers, with_options_tables)
from harness.errors import ConfigError

ALL_OPTIONS = [declared for settings in EVAL_SETTINGS for declared in options_of(settings)]


def _parsed(*argv):
    return vars(build_parser().parse_args(["eval", *argv]))


# --- the declarations and their checks --------------------------------------------------------


def test_every_eval_option_is_declared_once():
    flags = [declared.flag for declared in ALL_OPTIONS]
    assert len(flags) == len(set(flags))
    assert {"--model", "--tasks", "--suite", "--seeds", "--leaderboard-dir", "--learning-rate", "--quiet"} <= set(flags)
    assert all(declared.help for declared in ALL_OPTIONS)


@pytest.mark.parametrize("changes, message", [
    ({"learning_rate": -1}, "--learning-rate must be positive, got -1"),
    ({"epochs": math.inf}, "--epochs must be a finite number, got inf"),
    ({"warmup_ratio": 1.0}, "--warmup-ratio must be at least 0 and below 1, got 1.0"),
    ({"weight_decay": -0.01}, "--weight-decay must be at least 0, got -0.01"),
    ({"seed": 2**32}, f"--seed must be at least 0 and below {2**32}, got {2**32}"),
    ({"max_eval_samples": 0}, "--max-eval-samples must be at least 1, got 0"),
    ({"head": "svm"}, "--head 'svm' is not one of linear, mlp"),
    ({"split_strategy": "random"}, "--split-strategy 'random' is not one of official, holdout, kfold"),
    ({"pooling": "max"}, "--pooling 'max' is not one of cls, mean"),
])
def test_run_config_checks_each_field_by_its_declaration(changes, message):
    with pytest.raises(ConfigError) as info:
        RunConfig(**changes)
    assert str(info.value) == message


def test_optional_fields_may_stay_unset_and_valid_values_pass():
    config = RunConfig(doc_stride=None, max_train_samples=None, format=None, warmup_ratio=0.0, weight_decay=0.0,
                       seed=0, epochs=0.5)
    assert config.replace(format="n2m", max_train_samples=1, seed=2**32 - 1).seed == 2**32 - 1
    with pytest.raises(ConfigError, match="--seeds must be at least 0 and below 4294967296, each, got"):
        Selection(seeds=[13, -1])


# --- the generated parser -----------------------------------------------------------------------


def test_parser_defaults_are_the_declared_defaults():
    values = _parsed("--suite", "glue")
    assert RunConfig.from_values(values) == RunConfig()
    assert Selection.from_values(values) == Selection(suite="glue")


def test_parser_converts_each_option_to_its_declared_type():
    values = _parsed("--tasks", "sst2, mrpc", "--seeds", "13,42", "--epochs", "2", "--max-train-samples", "32",
                     "--doc-stride", "16", "--format", "n2m", "--bertscore-idf", "--trust-remote-code",
                     "--learning-rate", "3e-5")
    config, selection = RunConfig.from_values(values), Selection.from_values(values)
    assert selection.tasks == ["sst2", "mrpc"] and selection.seeds == [13, 42] and selection.trust_remote_code
    assert (config.epochs, config.max_train_samples, config.doc_stride, config.format) == (2.0, 32, 16, "n2m")
    assert config.bertscore_idf and not config.bertscore_rescale and config.learning_rate == 3e-5


@pytest.mark.parametrize("argv", [[], ["--suite", "glue", "--tasks", "sst2"], ["--suite", "glue", "--mode", "half"],
                                  ["--suite", "glue", "--seed", "7", "--seeds", "1,2"]])
def test_parser_keeps_the_required_and_exclusive_groups_and_choices(argv):
    with pytest.raises(SystemExit) as info:
        _parsed(*argv)
    assert info.value.code == 2


def test_eval_help_shows_every_option_its_help_and_default(capsys):
    with pytest.raises(SystemExit):
        main(["eval", "--help"])
    out = " ".join(capsys.readouterr().out.split())  # argparse wraps lines
    for declared in ALL_OPTIONS:
        assert declared.flag in out
    assert "AdamW's peak learning rate" in out and "(default: chosen on train)" in out and "(default: --max-length / 4)" in out


@pytest.mark.parametrize("argv, message", [
    (["--epochs", "nan"], "--epochs must be a finite number, got nan"),
    (["--epochs", "inf"], "--epochs must be a finite number, got inf"),
    (["--epochs", "-1"], "--epochs must be positive, got -1.0"),
    (["--learning-rate", "nan"], "--learning-rate must be a finite number, got nan"),
    (["--warmup-ratio", "-1"], "--warmup-ratio must be at least 0 and below 1, got -1.0"),
    (["--weight-decay", "-1"], "--weight-decay must be at least 0, got -1.0"),
    (["--seed", str(2**40)], f"--seed must be at least 0 and below 4294967296, got {2**40}"),
    (["--max-length", "0"], "--max-length must be positive, got 0"),
    (["--learning-rate", "-1"], "--learning-rate must be positive, got -1.0"),
    (["--warmup-ratio", "1.5"], "--warmup-ratio must be at least 0 and below 1, got 1.5"),
    (["--weight-decay", "-0.1"], "--weight-decay must be at least 0, got -0.1"),
    (["--seed", "-1"], "--seed must be at least 0 and below 4294967296, got -1"),
    (["--seed", str(2**32)], "--seed must be at least 0 and below 4294967296, got 4294967296"),
    (["--eval-batch-size", "0"], "--eval-batch-size must be positive, got 0"),
    (["--seeds", "13,-1"], "--seeds must be at least 0 and below 4294967296, each, got [13, -1]"),
])
def test_cli_rejects_bad_values_with_one_line_naming_the_option(argv, message, capsys):
    assert main(["eval", "--tasks", "sst2", *argv]) == 2
    err = capsys.readouterr().err
    assert err == f"harness: error: {message}\n"


# --- the other commands -----------------------------------------------------------------------


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_command_declares_each_option_once_and_its_help_shows_the_declared_defaults(command, capsys):
    declared = [option for settings in COMMANDS[command] for option in options_of(settings)]
    assert len({option.flag for option in declared}) == len(declared) and all(option.help for option in declared)
    with pytest.raises(SystemExit):
        main([command, "--help"])
    out = " ".join(capsys.readouterr().out.split())  # argparse wraps lines
    for option in declared:
        shown = option.default_text()
        assert option.flag in out and (option.kind is bool or not shown or f"(default: {shown})" in out)


def test_leaderboard_report_and_export_parse_into_their_settings():
    def parsed(*argv):
        return vars(build_parser().parse_args(list(argv)))

    assert Leaderboards.from_values(parsed("leaderboard")) == Leaderboards()
    assert Leaderboards().resamples == 1000 and Leaderboards().reports == "reports" and not Leaderboards().check
    board = Leaderboards.from_values(parsed("leaderboard", "runs", "--out", "boards", "--check", "--resamples", "200"))
    assert (board.reports, board.out, board.check, board.resamples) == ("runs", "boards", True, 200)
    report = RunReport.from_values(parsed("report", "runs/a", "runs/b"))
    assert report.run_dirs == ["runs/a", "runs/b"] and report.resamples == 1000
    export = Export.from_values(parsed("export", "--format", "csv"))
    assert (export.reports, export.format, export.model, export.out) == ("reports", "csv", None, None)
    assert Listing.from_values(parsed("list", "tasks", "--suite", "klue")) == Listing(what="tasks", suite="klue")


@pytest.mark.parametrize("argv", [["export"], ["export", "--format", "pdf"], ["report"], ["list"], ["list", "tests"],
                                  ["leaderboard", "--resamples", "many"]])
def test_required_arguments_and_choices_stop_the_parser(argv):
    with pytest.raises(SystemExit) as info:
        build_parser().parse_args(argv)
    assert info.value.code == 2


@pytest.mark.parametrize("argv, message", [
    (["leaderboard", "--resamples", "0"], "--resamples must be positive, got 0"),
    (["report", "runs/x", "--resamples", "-3"], "--resamples must be positive, got -3"),
])
def test_a_bad_resamples_value_is_one_line_naming_the_option(argv, message, capsys):
    assert main(argv) == 2
    assert capsys.readouterr().err == f"harness: error: {message}\n"


@pytest.mark.parametrize("settings, message", [
    (lambda: Export(format=None), "--format is required"),
    (lambda: Export(format="pdf"), "--format 'pdf' is not one of model-index, card, csv"),
    (lambda: RunReport(), "RUN_DIR is required"),
    (lambda: Leaderboards(resamples=0), "--resamples must be positive, got 0"),
])
def test_settings_built_in_python_are_checked_as_the_command_line_is(settings, message):
    with pytest.raises(ConfigError) as info:
        settings()
    assert str(info.value) == message


# --- the docs' tables ---------------------------------------------------------------------------


def test_docs_options_tables_are_current():
    text = OPTIONS_DOC.read_text(encoding="utf-8")
    assert text == with_options_tables(text), "docs/options.md's tables are stale: run python -m harness.config"


def test_options_table_has_one_row_per_option_with_choices_and_groups():
    rows = options_table().splitlines()[2:]
    assert [row.split(" | ")[0] for row in rows] == [f"| `{declared.flag}`" for declared in ALL_OPTIONS]
    assert "| `--mode` | `both` |" in options_table() and "one of `frozen`, `finetune`, `both`" in options_table()
    assert "not with `--tasks` (one of them is required)" in options_table()
    assert "| `--max-train-samples` | all |" in options_table() and "| `--quiet` | off |" in options_table()


def test_other_commands_tables_show_positionals_required_options_and_defaults():
    assert "| `REPORTS` | `reports` |" in options_table("leaderboard") and "| `--resamples` | 1000 |" in options_table("leaderboard")
    assert "; positional, one or more; required |" in options_table("report")
    assert "one of `model-index`, `card`, `csv`; required |" in options_table("export")


def test_with_options_tables_rewrites_only_between_the_markers():
    stale = "".join(f"intro {command}\n{table_markers(command)[0]}\n| old |\n{table_markers(command)[1]}\n"
                    for command in TABLED) + "outro\n"
    fresh = "".join(f"intro {command}\n{table_markers(command)[0]}\n{options_table(command)}\n"
                    f"{table_markers(command)[1]}\n" for command in TABLED) + "outro\n"
    assert with_options_tables(stale) == fresh
    with pytest.raises(ConfigError, match="markers"):
        with_options_tables("no table here")
