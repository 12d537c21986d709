"""benchmarks/demo.py's tables: the runs, and the truncation sweep's targets counted per run."""

from benchmarks import demo


def judged(confident: float, classes: int, tv: float) -> dict:
    return {"fid": 10.0, "fid_floor": 5.0, "cls_confident": confident, "cls_confident_floor": 0.99,
            "cls_classes": classes, "cls_tv": tv, "cls_tv_floor": 0.06}


def test_the_summary_has_a_truncation_table_that_counts_the_runs_meeting_every_target():
    runs = [{"seed": seed, "train_s": 60.0, "features_s": 3.0, "peak_rss_mb": 1200.0, "d_real": 0.55, "d_fake": 0.45,
             **judged(0.75, 10, 0.08), "truncated": {"0.8": judged(confident, classes, 0.09)}}
            for seed, confident, classes in ((0, 0.86, 10), (1, 0.90, 9))]
    report = {"command": "python benchmarks/demo.py", "machine": "2 cores", "peak_gflops": 100.0, "threads": 1,
              "date": "2026-12-07", "config": "examples/demo.yaml", "overrides": ["model.loss=hinge"], "runs": runs}
    lines = demo.summary(report).splitlines()
    assert lines[2] == "Date: 2026-12-07; config examples/demo.yaml --set model.loss=hinge; seeds 0, 1"
    assert "| 0 | 60 | 3 | 1200 | 0.55 / 0.45 | 10.0 (5.0) | 0.750 (0.990) | 10 | 0.080 (0.060) | 2 of 3 |" in lines
    assert lines[-1] == "| 0.8 | 2 | 10.0 ± 0.0 | 0.880 ± 0.028 | 9 | 0.090 ± 0.000 | 1 of 2 |"
