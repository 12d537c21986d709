"""Nothing a user saved is lost: each case here lost or corrupted files before it was fixed."""

import os
import signal
import subprocess
import sys
import time

import pytest
from PIL import Image

from gankit.cli import main
from gankit.errors import GankitError
from gankit.report.html import write_report
from gankit.training.checkpoint import list_checkpoints
from tests.conftest import tiny_overrides


def sets(items):
    return [arg for item in items for arg in ("--set", item)]


def train(out, *extra, steps=10):
    argv = ["train", "gan", "--data", "toy:ring8", "--steps", str(steps), "--out", str(out),
            *sets(tiny_overrides(**{"train.checkpoint_every": 5, "train.eval_samples": 100})), *extra]
    return main(argv)


def one_line_error(capsys, *fragments):
    err = capsys.readouterr().err
    assert err.startswith("gankit: error: ") and err.count("\n") == 1 and "Traceback" not in err, err
    for fragment in fragments:
        assert fragment in err, err


@pytest.fixture(scope="module")
def gan_run(tmp_path_factory):
    run = tmp_path_factory.mktemp("loss") / "run"
    assert train(run) == 0
    return run


@pytest.mark.parametrize("damage", ["truncated", "empty"])
def test_a_damaged_newest_checkpoint_never_makes_a_resumed_run_delete_the_good_ones(gan_run, tmp_path, damage, capsys):
    run = tmp_path / "run"
    subprocess.run(["cp", "-r", str(gan_run), str(run)], check=True)
    good = list_checkpoints(run / "checkpoints")[-1]
    damaged = run / "checkpoints" / "step-000000999.pt"
    damaged.write_bytes(good.read_bytes()[:300] if damage == "truncated" else b"")
    assert main(["train", "--resume", str(run), "--steps", "30", "--set", "train.keep_checkpoints=1",
                 "--set", "train.checkpoint_every=5"]) == 0
    assert [p.name for p in list_checkpoints(run / "checkpoints")] == ["step-000000030.pt", damaged.name]
    assert main(["sample", str(run), "--n", "16", "--out", str(tmp_path / "s.png")]) == 0
    assert "skipped" in capsys.readouterr().err  # the damaged file is named, not silently passed over


@pytest.fixture(scope="module")
def cyclegan_run(tmp_path_factory):
    from tests.conftest import TINY_CYCLEGAN
    from tests.conftest import TINY_TRAIN

    run = tmp_path_factory.mktemp("cyclegan") / "run"
    argv = ["train", "cyclegan", "--steps", "2", "--batch-size", "2", "--out", str(run), *sets(TINY_CYCLEGAN + TINY_TRAIN)]
    assert main(argv) == 0
    return run


def test_translate_never_writes_over_its_inputs(cyclegan_run, tmp_path, capsys):
    inputs = tmp_path / "in"
    inputs.mkdir()
    Image.new("L", (16, 16), 200).save(inputs / "one.png")
    before = (inputs / "one.png").read_bytes()
    base = ["translate", str(cyclegan_run), "--direction", "a2b"]
    assert main([*base, str(inputs), "--out", str(inputs)]) == 2
    one_line_error(capsys, "is the input folder")
    assert main([*base, str(inputs / "one.png"), "--out", str(inputs)]) == 2
    one_line_error(capsys, "would write over the input")
    assert main([*base, str(inputs), "--out", str(tmp_path / "in" / ".")]) == 2
    one_line_error(capsys, "is the input folder")
    assert (inputs / "one.png").read_bytes() == before
    assert main([*base, str(inputs), "--out", str(inputs), "--overwrite"]) == 0  # asked for explicitly
    assert (inputs / "one.png").read_bytes() != before


HOLD = """
import sys, time
from gankit.rundir import RunDirectory
RunDirectory(sys.argv[1]).lock("train").acquire()
print("locked", flush=True)
time.sleep(600)
"""


def test_a_second_train_into_the_same_out_is_refused_and_a_dead_holder_is_taken_over(gan_run, tmp_path, capsys):
    run = tmp_path / "run"
    subprocess.run(["cp", "-r", str(gan_run), str(run)], check=True)
    before = sorted(p.name for p in run.rglob("*"))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(run)], stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert holder.stdout.readline().strip() == "locked"
        assert train(run) == 2
        one_line_error(capsys, f"{run} is in use by gankit train (pid {holder.pid} on ")
        assert main(["train", "--resume", str(run), "--steps", "20"]) == 2
        one_line_error(capsys, f"pid {holder.pid}")
        assert sorted(p.name for p in run.rglob("*")) == sorted(before + [".lock"])  # nothing written
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    assert (run / ".lock").exists()  # left behind by the killed holder: taken over, not obeyed
    assert main(["train", "--resume", str(run), "--steps", "20"]) == 0
    assert not (run / ".lock").exists()


@pytest.mark.slow  # two processes that import torch: ~30 s on a loaded machine
def test_two_trainings_started_together_into_one_out_give_one_run(tmp_path):
    run = tmp_path / "run"
    cmd = [sys.executable, "-m", "gankit", "train", "gan", "--data", "toy:ring8", "--steps", "40", "--out", str(run),
           *sets(tiny_overrides(**{"train.eval_samples": 100}))]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    first, second = (subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
                     for _ in range(2))
    results = [p.communicate(timeout=300) + (p.returncode,) for p in (first, second)]
    codes = sorted(code for _, _, code in results)
    refused = [err for _, err, code in results if code == 2]
    # Either the second saw the first's lock, or (started later) the first's finished run.
    assert codes == [0, 2], results
    assert "is in use by gankit train" in refused[0] or "already holds a run" in refused[0]
    steps = [line for line in (run / "metrics.jsonl").read_text().splitlines() if '"kind": "train"' in line]
    assert len(steps) == len(set(steps)) == 20  # every logged step once (log_every=2)


def test_a_full_disk_while_writing_the_report_keeps_the_previous_one(gan_run, tmp_path, file_size_limit, capsys):
    run = tmp_path / "run"
    subprocess.run(["cp", "-r", str(gan_run), str(run)], check=True)
    before = (run / "report.html").read_bytes()
    file_size_limit(100_000)  # the plots (~50 KB) fit, the report (~160 KB) does not
    with pytest.raises(GankitError, match=r"could not write .*report.html: File too large; the previous file is kept"):
        write_report(run)
    file_size_limit(2**62)
    assert (run / "report.html").read_bytes() == before
    assert not [p for p in run.iterdir() if ".tmp-" in p.name]


def test_a_full_disk_while_writing_the_config_is_one_line(tmp_path, file_size_limit, capsys):
    file_size_limit(400)  # the lock file (~100 bytes) fits; config.yaml (~900) does not
    try:
        code = train(tmp_path / "run")
    finally:
        file_size_limit(2**62)
    assert code == 2
    one_line_error(capsys, "config.yaml: File too large")
    assert not (tmp_path / "run").exists()


def test_data_too_small_for_the_final_evaluation_is_refused_before_the_first_step(tmp_path, capsys):
    run = tmp_path / "run"
    argv = ["train", "gan", "--data", "toy:ring8", "--steps", "4", "--out", str(run),
            *sets(tiny_overrides(**{"data.toy_samples": 18, "train.batch_size": 4}))]
    started = time.perf_counter()
    assert main(argv) == 2
    one_line_error(capsys, "holds 18 examples; the end-of-training evaluation needs at least 20")
    assert not run.exists()  # no half run that the same --out would then refuse
    assert time.perf_counter() - started < 60
