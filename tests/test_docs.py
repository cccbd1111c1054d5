"""The front page and docs/: every relative link resolves (file and #anchor), every page is reachable from README and
opens with what a reader comes for, and README's headline results are what reports/ gives."""
from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest

from harness.errors import ConfigError
from harness.headline import END, START, findings, headline_table, with_headline

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^```.*?^```", re.S | re.M)


def _prose(text: str) -> str:
    """The page without its code blocks, where brackets are code, not links."""
    return FENCE.sub("", text)


def _anchors(text: str) -> set[str]:
    """The anchors GitHub makes of a page's headings: lower case, punctuation dropped, spaces to hyphens, a repeated
    heading numbered -1, -2, ..."""
    seen: dict[str, int] = {}
    anchors = set()
    for heading in re.findall(r"^#{1,6} (.+)$", _prose(text), re.M):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        anchors.add(slug if slug not in seen else f"{slug}-{seen[slug]}")
        seen[slug] = seen.get(slug, 0) + 1
    return anchors


def _broken_links(page: Path) -> list[str]:
    broken = []
    for target in LINK.findall(_prose(page.read_text(encoding="utf-8"))):
        if re.match(r"[a-z]+:", target):  # http:, https:, mailto: are not checked offline
            continue
        path, _, anchor = target.partition("#")
        linked = (page.parent / path).resolve() if path else page
        if not linked.exists():
            broken.append(f"{target}: no such file")
        elif anchor and anchor not in _anchors(linked.read_text(encoding="utf-8")):
            broken.append(f"{target}: no heading makes #{anchor}")
    return broken


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.relative_to(ROOT).as_posix())
def test_every_relative_link_resolves(page):
    assert _broken_links(page) == []


def test_a_missing_file_or_anchor_is_reported(tmp_path):
    (tmp_path / "other.md").write_text("# Other\n\n## A section: here\n", encoding="utf-8")
    page = tmp_path / "page.md"
    page.write_text("[ok](other.md#a-section-here) [gone](missing.md) [bad](other.md#nowhere) [web](https://x.org)\n"
                    "```\n[code](not-a-link.md)\n```\n", encoding="utf-8")
    assert _broken_links(page) == ["missing.md: no such file", "other.md#nowhere: no heading makes #nowhere"]


def test_anchors_follow_githubs_slugs():
    assert _anchors("# Text to text (N2M)\n## `harness eval`\n## Notes\n## Notes\n") == {
        "text-to-text-n2m", "harness-eval", "notes", "notes-1"}


def test_every_docs_page_is_linked_from_readme_and_opens_with_a_title_and_what_it_is_for():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for page in PAGES[1:]:
        assert f"](docs/{page.name})" in readme, f"README links no docs/{page.name}"
        title, blank, lead = page.read_text(encoding="utf-8").splitlines()[:3]
        assert title.startswith("# ") and blank == "" and lead and not lead.startswith(("#", "|", "<!--", "```"))


def test_readme_stays_a_front_page():
    assert len((ROOT / "README.md").read_text(encoding="utf-8").splitlines()) <= 220


def test_readme_headline_results_are_what_reports_give():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert readme == with_headline(readme, headline_table(ROOT / "reports"), findings(ROOT / "reports")), (
        "README's headline results are stale: run python -m harness.headline")


def test_headline_follows_the_results_it_is_rendered_from(tmp_path):
    """A folder with MRPC's two committed runs alone: GLUE's score of each mode is MRPC's, one task each."""
    mrpc = Path("minilm/glue/mrpc")
    shutil.copytree(ROOT / "reports" / mrpc, tmp_path / mrpc)
    main = {mode: json.loads((tmp_path / mrpc / f"{mode}-seed42" / "result.json").read_text())["main_score"]
            for mode in ("frozen", "finetune")}
    table = headline_table(tmp_path)
    row = (f"| [GLUE](leaderboards/glue.md) | `minilm` | {main['frozen']:.2f} | {main['finetune']:.2f} | "
           f"{main['finetune'] - main['frozen']:+.2f} | 1 / 1 |")
    assert table.splitlines()[2:] == [row]
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert with_headline(readme, table) != readme  # the committed README is stale against this folder


def test_with_headline_rewrites_only_between_the_markers():
    assert with_headline(f"intro\n{START}\nold\n{END}\noutro\n", "| new |") == f"intro\n{START}\n| new |\n{END}\noutro\n"
    with pytest.raises(ConfigError, match="markers"):
        with_headline("no table here", "| new |")


def _main_scores(folder: Path) -> dict[tuple[str, str, str], float]:
    return {(path.parts[-5], path.parts[-2].split("-")[0], path.parts[-3]): json.loads(path.read_text())["main_score"]
            for path in folder.glob("*/glue/*/*-seed42/result.json")}


def test_findings_are_the_differences_of_the_results_they_name(tmp_path):
    """MRPC and RTE, pretrained, random-weights control and majority: the control's gap is the mean of the
    pretrained-minus-control differences of the two result files, and fine-tuning's count is theirs too."""
    for model in ("minilm", "random_minilm", "majority"):
        for task in ("mrpc", "rte"):
            for mode in ("frozen", "finetune") if model == "minilm" else ("frozen",):
                run = Path(model, "glue", task, f"{mode}-seed42")
                shutil.copytree(ROOT / "reports" / run, tmp_path / run)
    score = _main_scores(tmp_path)
    gaps = [score[("minilm", "frozen", task)] - score[("random_minilm", "frozen", task)] for task in ("mrpc", "rte")]
    ahead = [task for task in ("mrpc", "rte") if score[("minilm", "finetune", task)] > score[("minilm", "frozen", task)]]
    between = [task for task in ("mrpc", "rte") if score[("majority", "frozen", task)]
               <= score[("random_minilm", "frozen", task)] <= score[("minilm", "frozen", task)]]
    lines = findings(tmp_path).splitlines()
    # all three ran both tasks frozen: ranked by their GLUE score, each against the best with the paired interval
    suite = {model: (score[(model, "frozen", "mrpc")] + score[(model, "frozen", "rte")]) / 2
             for model in ("minilm", "random_minilm", "majority")}
    assert lines[0].startswith(f"- GLUE, frozen, ranked on the full set of 2 tasks (mrpc, rte): `minilm` "
                               f"{suite['minilm']:.2f}, `random:minilm` (control) {suite['random_minilm']:.2f} (")
    assert f"`majority` (baseline) {suite['majority']:.2f} (" in lines[0]
    assert (f"- GLUE, `minilm`: fine-tuning beats its frozen features on {len(ahead)} of 2 tasks "
            f"({', '.join(ahead) or 'none'})") in lines[1]
    assert lines[2] == (f"- GLUE, frozen: pretraining buys `minilm` {sum(gaps) / 2:+.2f} over `random:minilm` on "
                        f"average over 2 tasks ({min(gaps):+.2f} to {max(gaps):+.2f}); the control sits between the "
                        f"majority baseline and the pretrained model on {len(between)} of 2 ({', '.join(between)}).")
    assert len(lines) == 3  # one pretrained model: no leader line, one model fine-tuned: no ranking of it; no fit line


def test_a_model_that_ran_some_of_the_tasks_gets_no_suite_score_on_the_front_page(tmp_path):
    """minilm frozen on MRPC and STS-B, all-mpnet-base-v2 on STS-B alone (where it scores higher): the table gives
    mpnet no GLUE score but how many of the two tasks it ran, and the ranking finding ranks minilm alone and names
    mpnet unranked, never comparing its one-task mean with minilm's two-task one."""
    for run in ("minilm/glue/mrpc/frozen-seed42", "minilm/glue/stsb/frozen-seed42",
                "all-mpnet-base-v2/glue/stsb/frozen-seed42"):
        shutil.copytree(ROOT / "reports" / run, tmp_path / run)
    score = _main_scores(tmp_path)
    minilm = (score[("minilm", "frozen", "mrpc")] + score[("minilm", "frozen", "stsb")]) / 2
    assert score[("all-mpnet-base-v2", "frozen", "stsb")] > minilm
    rows = headline_table(tmp_path).splitlines()[2:]
    assert rows == ["| [GLUE](leaderboards/glue.md) | `all-mpnet-base-v2` | partial | – | – | 1 of 2 / – |",
                    f"| [GLUE](leaderboards/glue.md) | `minilm` | {minilm:.2f} | – | – | 2 / – |"]
    ranking = findings(tmp_path).splitlines()[0]
    assert ranking == (f"- GLUE, frozen, ranked on the full set of 2 tasks (mrpc, stsb): `minilm` {minilm:.2f}; "
                       "unranked, having run only some of them: `all-mpnet-base-v2` 1 of 2.")


def test_a_model_whose_tokenizer_misfits_is_compared_with_the_one_that_fits():
    from harness.headline import _misfits

    frame = pd.DataFrame({"suite": "klue", "task": ["nli", "sts", "nli", "sts"], "mode": "frozen",
                          "model": ["english", "english", "korean", "korean"], "model_kind": "pretrained",
                          "main_score": [40.0, 60.0, 70.0, 80.0], "fit_warning": [True, True, False, False]})
    assert _misfits(frame, "KLUE") == [
        "KLUE, frozen: `english`, whose tokenizer fits these texts badly (the leaderboard's fit columns), scores "
        "-25.00 against `korean` on average over 2 tasks (nli -30.00, sts -20.00)."]


def test_a_tied_best_is_said_tied_and_counted_for_no_one():
    from harness.headline import _leaders

    frame = pd.DataFrame({"suite": "glue", "task": ["rte", "rte", "mrpc", "mrpc"], "mode": "frozen",
                          "model": ["a", "b", "a", "b"], "model_kind": "pretrained",
                          "main_score": [58.84, 58.84, 80.0, 81.0], "fit_warning": False})
    assert _leaders(frame, "GLUE") == [
        "GLUE, frozen: of the 2 tasks more than one pretrained model ran, the best score is `b` 1 (1 tied) "
        "(rte `a` = `b`, mrpc `b`)."]
