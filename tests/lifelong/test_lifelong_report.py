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
