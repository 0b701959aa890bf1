import json

from leanagent.lifelong.report import ReportData, write_report


def test_report_has_summary_metrics_and_plots(tmp_path):
    data = ReportData(title="run 1", repos=["a", "b"], matrices={"R@10": [[50.0, 10.0], [40.0, 60.0]]},
                      baselines={"R@10": [5.0, 8.0]}, proved={"a": {"proved": 1, "attempted": 3}})
    summary = write_report(data, tmp_path / "report")
    text = summary.read_text()
    assert "replay" in text and "| a | 50.0 | 10.0 |" in text and "![proved](proved.png)" in text
    metrics = json.loads((tmp_path / "report" / "metrics.json").read_text())
    life = metrics["lifelong"]["R@10"]
    assert life["average_accuracy"] == 50.0 and life["forgetting"] == 10.0 and life["forward_transfer"] == 2.0
    for png in ("heatmap_Rat10.png", "sequence_Rat10.png", "proved.png"):
        assert (tmp_path / "report" / png).read_bytes()[:4] == b"\x89PNG"


def test_report_says_what_was_learned_and_is_readable_by_others(tmp_path):
    import os
    import stat

    data = ReportData(title="run 2", repos=["nat", "list"],
                      matrices={"R@10": [[80.0, 50.0], [80.0, 90.0]], "tactic_acc": [[20.0, None], [10.0, 30.0]]},
                      baselines={"R@10": [30.0, 40.0], "tactic_acc": [0.0, None]},
                      proved={"nat": {"proved": 3, "attempted": 9}, "list": {"proved": 1, "attempted": 6}},
                      targets="held-out test theorems")
    old = os.umask(0o022)
    try:
        summary = write_report(data, tmp_path / "report")
    finally:
        os.umask(old)
    text = summary.read_text()
    learned = text.split("## What was learned\n\n", 1)[1].split("\n\n", 1)[0].splitlines()
    assert learned == [
        "- From the starting models to after the last repository (mean over repositories, percent): "
        "premise retrieval R@10 35.0 → 85.0; tactic accuracy (exact match) 0.0 → 10.0.",
        "- Proved 4 of 15 held-out test theorems (95% interval 11–52%) (nat 3/9, list 1/6), checked by replay."]
    # mkstemp's 0600 used to hide summary.md and metrics.json from everyone but the owner.
    for name in ("summary.md", "metrics.json", "heatmap_tactic_acc.png"):
        assert stat.S_IMODE((tmp_path / "report" / name).stat().st_mode) == 0o644, name


def test_the_report_says_why_theorems_were_not_attempted(tmp_path):
    """Issue 27: algebra had 80 test theorems but 36 were attempted, and nothing said why."""
    from leanagent.lifelong.report import ReportData, write_report

    data = ReportData("t", ["algebra"], {"R@10": [[50.0]]}, proved={"algebra": {
        "proved": 3, "attempted": 36, "left_out": {"no_steps": 44, "sorry": 0}}}, targets="held-out test theorems")
    text = write_report(data, tmp_path).read_text()
    assert "Proved 3 of 36 held-out test theorems" in text
    assert "Not attempted: 44 have no recorded tactic step (term-mode proofs: replay cannot judge them)." in text
    assert "| 1 | algebra | 3 / 36 (3–22%) | n/a | n/a | n/a | 44 have no recorded tactic step" in text


def test_cells_carry_their_denominators_an_interval_under_30_and_the_frequency_baseline(tmp_path):
    """Issue 27: R@10 and tactic-accuracy cells say how many test steps they are over (metrics.json, the
    matrices and the summary's first lines), an interval where fewer than 30, and frequency beside accuracy."""
    from leanagent.lifelong.report import cell_text

    data = ReportData(title="t", repos=["algebra", "std"],
                      matrices={"R@10": [[40.0, 50.0], [45.0, 62.5]], "tactic_acc": [[10.0, 0.0], [8.0, 5.9]]},
                      baselines={"R@10": [26.0, 50.0], "tactic_acc": [0.0, 0.0]},
                      counts={"R@10": [[50, 8], [50, 8]], "tactic_acc": [[50, 17], [50, 17]]},
                      baseline_counts={"R@10": [50, 8], "tactic_acc": [50, 17]},
                      frequency={"tactic_acc": [[10.0, 5.9], [10.0, 5.9]]})
    text = write_report(data, tmp_path).read_text()
    assert "| std | 45.0 of 50 | 62.5 of 8 (31–86%) |" in text  # 5 of 8 steps
    assert "| std | 8.0 of 50 [freq 10.0] | 5.9 of 17 (1–27%) [freq 5.9] |" in text
    assert "| (start) | 26.0 of 50 | 50.0 of 8 (22–78%) |" in text
    assert "tactic accuracy (exact match) 0.0 → 7.0 (last row: 67 steps evaluated; frequency baseline 8.0 on " \
           "the same steps)" in text
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["steps_evaluated"]["matrices"]["tactic_acc"] == [[50, 17], [50, 17]]
    assert metrics["steps_evaluated"]["baselines"]["R@10"] == [50, 8]
    assert metrics["frequency"]["tactic_acc"][1] == [10.0, 5.9]
    assert cell_text(None, 5) == "–" and cell_text(12.5, None) == "12.5" and cell_text(0.0, 30) == "0.0 of 30"
