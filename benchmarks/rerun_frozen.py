"""Re-run committed frozen results with this checkout's code and tabulate old vs new: main score, the choices
the inner CV made (`chosen`) and the head's time. Writes under --output-dir, never into the reports folder.

    python -m benchmarks.rerun_frozen reports/minilm/glue/rte/frozen-seed42 ... --data-dir ../shared/data \
        --output-dir /tmp/rerun

Each result re-runs with its recorded hyperparameters (train size from its folder's -n suffix; the precision it
ran in, fp32 where it predates --precision); the feature cache serves what an earlier run extracted, and
inner-CV choices recorded in it are dropped first, so the search runs again. A model recorded by name resolves as the harness resolves it, else from
~/.cache/harness-models/<name>.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import re
import sys
from pathlib import Path

from harness import evaluate
from harness.config import RunConfig
from harness.precision import recorded_precision
from harness.runners.features import default_cache_dir

MODELS = Path.home() / ".cache" / "harness-models"
# the choices the table shows: pooled heads' layer, pair features, L2 strength and inner-CV scores; token heads'
# layers, the mix's top layer and the pass kept
SHOWN = ("layer", "layer_cv_score", "C", "alpha", "pair_features", "layers", "top_layer", "epoch_kept")


def rerun(folder: Path, data_dir: str, output_dir: Path) -> dict:
    old = json.loads((folder / "result.json").read_text())
    hyper = old["provenance"]["hyperparameters"]
    fields = {f.name for f in dataclasses.fields(RunConfig)}
    config = RunConfig(**{k: v for k, v in hyper.items() if k in fields and k != "chosen"}).replace(
        quiet=True, resume=False, precision=recorded_precision(hyper))  # not `auto`: a probe could pick bf16
    size = re.search(r"-n(\d+)$", folder.name)
    model = str(MODELS / old["model"]) if (MODELS / old["model"]).exists() else old["model"]
    for record in default_cache_dir().glob("search-*.json"):  # choices an earlier search recorded
        record.unlink()
    evaluation = evaluate(model, [f"{old['suite']}/{old['task']}"], mode="frozen", data_dir=data_dir,
                          output_dir=output_dir, config=config, train_sizes=[int(size[1])] if size else None)
    new = next(r for r in evaluation.results if r.task == old["task"] and r.mode == "frozen")
    new_chosen = new.provenance["hyperparameters"].get("chosen")
    return {"run": str(folder), "old_score": old["main_score"], "new_score": new.main_score,
            "old_chosen": hyper.get("chosen"), "new_chosen": new_chosen,
            "old_training_s": old["timings"].get("training_s"), "new_training_s": new.timings.get("training_s")}


def row(r: dict) -> str:
    def brief(chosen):
        items = chosen if isinstance(chosen, list) else [chosen]
        return "; ".join(",".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in (c or {}).items()
                                  if k in SHOWN or k.startswith("cv_")) for c in items)
    return (f"| {r['run'].split('reports/')[-1]} | {r['old_score']:.3f} | {r['new_score']:.3f} | "
            f"{r['new_score'] - r['old_score']:+.3f} | {brief(r['old_chosen'])} | {brief(r['new_chosen'])} | "
            f"{r['old_training_s']} | {r['new_training_s']} |")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", nargs="+", type=Path)
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--output-dir", type=Path, required=True)
    args = parser.parse_args(argv)
    print("| run | old score | new score | Δ | old chosen | new chosen | old head s | new head s |")
    print("|---|---|---|---|---|---|---|---|")
    for folder in args.folders:
        result = rerun(folder, args.data_dir, args.output_dir)
        print(row(result), flush=True)
        with (args.output_dir / "rerun.jsonl").open("a") as out:
            out.write(json.dumps(result) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
