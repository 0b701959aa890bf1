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
