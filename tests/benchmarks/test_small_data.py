"""benchmarks/small_data.py: one table from results files written in parts (one per seed)."""

import json
import sys

from benchmarks import small_data


def run(images, augment, seed, recall):
    return {"images": images, "augment": augment, "seed": seed, "train_s": 500.0, "fid": 30.0, "precision": 0.6,
            "recall": recall, "cls_confident": 0.75, "cls_tv": 0.1, "fid_floor": 1.0, "precision_floor": 0.9,
            "recall_floor": 0.89, "cls_confident_floor": 0.98, "cls_tv_floor": 0.02}


def test_summarise_merges_the_parts_of_a_table(tmp_path, monkeypatch, capsys):
    for seed, recall in ((0, 0.80), (1, 0.78)):
        runs = [run(500, True, seed, recall), run("full", False, seed, 0.88)]
        (tmp_path / f"part-{seed}.json").write_text(json.dumps({"runs": runs}))
    monkeypatch.setattr(sys, "argv", ["small_data.py", "--summarise", *map(str, sorted(tmp_path.glob("part-*.json")))])
    small_data.main()
    lines = capsys.readouterr().out.splitlines()
    assert "| 500 | translation,cutout | 2 | 30.0 ± 0.0 | 0.600 ± 0.000 | 0.790 ± 0.014 |" in lines[2]
    assert lines[3].startswith("| full | off | 2 |") and lines[4].startswith("| floor (real vs real) |")
