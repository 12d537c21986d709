"""Every verb answers bad input in one line (issue 18's cases and more): exit 2, one line on
stderr, no traceback, and nothing written anywhere (the runs included). Then hypothesis
throws random argument vectors at every verb with the same promise for the errors."""

import os
import pickle
import shutil
import string

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from gankit.cli import main
from gankit.training.checkpoint import latest_checkpoint
from tests.conftest import TINY_CYCLEGAN, TINY_TRAIN, tiny_overrides
from tests.data.test_hostile_images import defects_layout
from tests.test_cli import TINY_STYLEGAN


def sets(items):
    return [arg for item in items for arg in ("--set", item)]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """Four tiny runs (gan on points, stylegan, cyclegan, ganomaly) and the files the cases use."""
    root = tmp_path_factory.mktemp("world")
    fast = {"train.eval_samples": 100}
    trainings = {
        "gan": ["gan", "--data", "toy:ring8", *sets(tiny_overrides(**fast))],
        "style": ["stylegan", "--data", "digits", *sets(TINY_STYLEGAN + TINY_TRAIN + ["train.eval_metrics=[]"])],
        "cycle": ["cyclegan", "--batch-size", "2", *sets(TINY_CYCLEGAN + TINY_TRAIN)],
        "detector": ["ganomaly", "--data", "digits", "--anomaly-classes", "3",
                     *sets(tiny_overrides("digits", **{"train.eval_metrics": "[]"}))],
    }
    paths = {}
    for name, argv in trainings.items():
        paths[name] = root / name
        assert main(["train", *argv, "--steps", "2", "--out", str(paths[name])]) == 0
    files = root / "files"
    files.mkdir()
    paths["tmp"] = files
    paths["file"] = files / "a-file.txt"
    paths["file"].write_text("I am a file")
    paths["img"] = files / "in.png"
    Image.new("L", (16, 16), 100).save(paths["img"])
    paths["fifo"] = files / "fifo.png"
    os.mkfifo(paths["fifo"])
    paths["binary"] = files / "binary.yaml"
    paths["binary"].write_bytes(bytes(range(256)) * 4)
    paths["big"] = files / "big.yaml"
    paths["big"].write_text("train:\n" + "  # padding\n" * 200_000)
    paths["defects"] = defects_layout(root / "defects", None)
    good = latest_checkpoint(paths["gan"] / "checkpoints")
    state = torch.load(good, weights_only=True)
    for name, change in {"nan": {"model": {k: v * float("nan") for k, v in state["model"].items()}},
                         "negative": {"step": -5}}.items():
        paths[name] = files / f"{name}.pt"
        torch.save({**state, **change}, paths[name])
    paths["pickle"] = files / "evil.pt"
    paths["pickle"].write_bytes(pickle.dumps(print))  # a global: the unpickler would have to call it
    paths["empty"] = files / "empty.pt"
    paths["empty"].write_bytes(b"")
    paths["truncated"] = files / "truncated.pt"
    paths["truncated"].write_bytes(good.read_bytes()[:500])
    paths["link"] = files / "link.pt"
    paths["link"].symlink_to("/etc/passwd")
    paths["goodlink"] = files / "goodlink.pt"
    paths["goodlink"].symlink_to(good)
    paths["gan_ckpt"] = good
    paths["style_ckpt"] = latest_checkpoint(paths["style"] / "checkpoints")
    return root, {k: str(v) for k, v in paths.items()}


LONG = "a" * 300
CASES = [
    # section 1: output paths, every verb that writes
    ("sample {gan} --out /proc/x.png", "cannot write in /proc"),
    ("sample {gan} --out {tmp}", "is a folder"),
    ("sample {gan} --out {tmp}/noext", "has no extension"),
    ("sample {gan} --out {tmp}/x.xyz", "unknown extension '.xyz'"),
    ("sample {gan} --out {file}/x.png", "is a file, so the folder cannot be made"),
    ("sample {gan} --format folder --out {file}", "is a file, not a folder"),
    ("sample {gan} --format npy --out {tmp}/x.png", "ending in .npy"),
    (f"sample {{gan}} --out {{tmp}}/{LONG}.png", "bytes long"),
    ("sample {gan} --out {fifo}", "not a regular file"),
    ("score {detector} --out /proc/s.csv", "cannot write in /proc"),
    ("score {detector} --out {tmp}/s.txt", "unknown extension '.txt'"),
    ("score {detector} --maps {file}", "is a file, not a folder"),
    ("translate {cycle} {img} --direction a2b --out {file}", "is a file, not a folder"),
    ("translate {cycle} {img} --direction a2b --out /proc/t", "cannot write in /proc"),
    ("report {gan} --out {tmp}", "is a folder"),
    ("report {gan} --out {tmp}/r.pdf", "unknown extension '.pdf'"),
    ("data digits --preview {tmp}/p.jpg", "unknown extension '.jpg'"),
    ("data digits --preview /proc/p.png", "cannot write in /proc"),
    ("interpolate {style} --gif --out {tmp}/x.png", "ending in .gif"),
    ("style-mix {style} --out {tmp}/m", "has no extension"),
    ("noise {style} --out /proc/n.png", "cannot write in /proc"),
    ("project {gan} {img} --out /proc/p", "cannot write in /proc"),
    ("inpaint {gan} {img} --mask center:0.4 --out {file}", "is a file, not a folder"),
    ("interpolate {style} --latents {tmp}/a.safetensors,{tmp}/b.safetensors --out {tmp}/w.jpg", "unknown extension '.jpg'"),
    ("train gan --out {file}", "is a file, not a folder"),
    (f"train gan --out {{tmp}}/{LONG}", "bytes long"),
    # section 2: sizes that exhaust memory or disk
    ("sample {gan} --n 100000000000", "of memory needed"),
    ("sample {gan} --n 10000000000000 --format npy --out {tmp}/x.npy", "of disk needed"),
    ("train gan --set model.latent_dim=100000000 --steps 1", "of memory needed"),
    ("train stylegan --set data.image_size=4096 --steps 1", "of memory needed"),
    ("style-mix {style} --rows 0-99999999", "names 100,000,000 seeds"),
    ("interpolate {style} --steps 1000000000", "of memory needed"),
    ("noise {style} --draws 1000000000", "of memory needed"),
    ("translate {cycle} {img} --direction a2b --out {tmp}/t --size 100000", "up to 4096"),
    # section 3: configs and arguments
    ("train gan --config {binary}", "is not a text file"),
    ("train gan --config {big}", "a config file is at most 1024 KiB"),
    ("train gan --set data.classes=abc", "must be an integer"),
    ("score {detector} --batch-size -1", "must be > 0"),
    ("score {detector} --batch-size 0", "must be > 0"),
    ("eval {gan} --n 0", "must be > 0"),
    ("translate {cycle} {img} --direction a2b --out {tmp}/t --size 0", "must be > 0"),
    ("score {detector} --data defects:{defects} --anomaly-classes 3 --out {tmp}/d.csv", "defines its own normal"),
    # section 4: checkpoints that lie, through every reader
    ("sample {gan} --checkpoint {link}", "is a symbolic link (to /etc/passwd)"),
    ("sample {gan} --checkpoint {goodlink}", "is a symbolic link"),
    ("sample {gan} --checkpoint {style_ckpt}", "holds a 'stylegan' model, not 'gan'"),
    ("translate {cycle} {img} --direction a2b --out {tmp}/t --checkpoint {gan_ckpt}", "holds a 'gan' model, not 'cyclegan'"),
    ("style-mix {style} --checkpoint {gan_ckpt}", "holds a 'gan' model, not 'stylegan'"),
    ("interpolate {style} --checkpoint {nan}", "holds NaN"),
    ("sample {gan} --checkpoint {nan}", "holds NaN or infinite values"),
    ("sample {gan} --checkpoint {negative}", "claims step -5"),
    ("sample {gan} --checkpoint {pickle}", "is refused: loading it would run code from the file"),
    ("sample {gan} --checkpoint {empty}", "not a readable checkpoint"),
    ("sample {gan} --checkpoint {truncated}", "not a readable checkpoint"),
    ("sample {gan} --checkpoint {tmp}", "not a regular file"),
    ("sample {gan} --checkpoint /dev/zero", "not a regular file"),
    ("sample {gan} --checkpoint {tmp}/none.pt", "checkpoint not found"),
    # more of our own, across the verbs
    ("sample {gan} --seed -1", "must be in 0.."),
    ("sample {gan} --format gif", "invalid choice: 'gif'"),
    ("sample {gan} --cutoff 2", "do not take --cutoff"),
    ("sample {gan} --truncation nan", "truncation must be a finite number, got nan"),
    ("eval {cycle} --truncation 0.5", "draw no samples, so they take no --truncation"),
    ("sample {cycle}", "cannot sample"),
    ("train gan --steps abc", "invalid int value"),
    ("train --resume {tmp}/nothing", "config file not found"),
    ("eval {gan} --metrics nope", "nope"),
    ("report {tmp}", "not a run directory"),
    ("translate {cycle} {tmp}/none.png --direction a2b --out {tmp}/t", "input not found"),
    ("style-mix {gan}", "stylegan"),
    ("noise {style} --seeds a-b", "takes seeds like"),
    ("style-mix {style} --rows 5000000000", "seeds must be in 0.."),
    ("interpolate {style} --space q", "invalid choice: 'q'"),
    ("score {gan}", "do not score anomalies"),
    ("features train", "needs --data"),
    ("data toy:ring8 --classes x", "expects labels"),
    ("data digits --size 0", "image_size"),
    ("verb-that-does-not-exist", "invalid choice"),
    ("sample {gan} --n -5", "must be > 0"),
    ("translate {cycle} {img} --direction x2y --out {tmp}/t", "invalid choice: 'x2y'"),
    ("score {detector} --threshold 2 --out {tmp}/s.csv", "must be in (0, 1)"),
    ("score {detector} --threshold 0.5 --quantile 0.9", "not allowed with argument"),
    ("eval {gan} --set model.latent_dim=1", "changes only data.* settings"),
    (f"train --resume {{tmp}}/{LONG}", "File name too long"),
    (f"report {{tmp}}/{LONG}", "File name too long"),
    (f"translate {{cycle}} {{tmp}}/{LONG}.png --direction a2b --out {{tmp}}/t", "File name too long"),
    (f"sample {{gan}} --checkpoint {{tmp}}/{LONG}.pt", "File name too long"),
]


def snapshot(root):
    return {str(p.relative_to(root)): (p.is_file() and not p.is_symlink() and p.stat().st_size)
            for p in root.rglob("*")}


@pytest.mark.parametrize("template, message", CASES, ids=[c[0][:60] for c in CASES])
def test_bad_input_is_one_line_and_writes_nothing(world, template, message, capsys, monkeypatch):
    root, paths = world
    monkeypatch.chdir(root / "files")  # the default runs/ of a train case would appear here
    before = snapshot(root)
    argv = template.format(**paths).split(" ")
    try:
        code = main(argv)
    except SystemExit as exit:  # argparse's own exit, after its one-line message
        code = exit.code
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.startswith("gankit: error: ") and err.count("\n") == 1 and "Traceback" not in err, err
    assert message in err, err
    assert "\x1b" not in err
    assert snapshot(root) == before


def test_the_table_counts():
    """docs/RELIABILITY.md quotes these counts."""
    assert len(CASES) == 85


# --- hypothesis: random argument vectors for every verb --------------------------------------
VERB_FLAGS = {
    "train": ["--steps", "--epochs", "--minutes", "--set", "--out", "--seed", "--batch-size", "--data", "--config",
              "--resume", "--device", "--precision"],
    "sample": ["--n", "--seed", "--out", "--format", "--checkpoint", "--truncation", "--cutoff", "--device"],
    "style-mix": ["--rows", "--cols", "--layers", "--out", "--truncation", "--checkpoint"],
    "interpolate": ["--space", "--steps", "--seeds", "--gif", "--out", "--truncation"],
    "noise": ["--seeds", "--draws", "--show", "--out", "--truncation"],
    "translate": ["--direction", "--out", "--grid", "--size", "--split", "--checkpoint", "--overwrite"],
    "eval": ["--metrics", "--features", "--data", "--set", "--n", "--seed"],
    "features": ["--data", "--size", "--channels", "--epochs", "--weights"],
    "report": ["--out"],
    "score": ["--data", "--out", "--maps", "--threshold", "--quantile", "--batch-size", "--anomaly-classes",
              "--normal-classes"],
    "project": ["--out", "--space", "--loss", "--restarts", "--batch-size", "--lr", "--seed", "--feature-weight"],
    "inpaint": ["--mask", "--out", "--space", "--blend", "--context", "--prior-weight", "--batch-size"],
    "models": [],
    "data": ["--size", "--channels", "--classes", "--split", "--seed", "--preview"],
}
RUN_OF = {"project": "style", "inpaint": "style", "sample": "gan", "style-mix": "style", "interpolate": "style", "noise": "style", "translate": "cycle",
          "eval": "gan", "report": "gan", "score": "detector"}

values = st.one_of(
    st.integers(-3, 40).map(str),
    st.sampled_from(["0", "-1", "1e400", "nan", "10000000000000", "", "a2b", "b2a", "w", "z", "png", "npy",
                     "folder", "coarse", "1-3", "0,1", "toy:ring8", "digits", "x.png", "x.npy", "x.gif", "d/",
                     "/proc/x.png", "train.steps=-1", "data.x=1", "model.latent_dim=abc", "../../etc/passwd",
                     "\x1b[31mred", "a" * 300, "list", "train", "inception"]),
    st.text(string.printable, max_size=12),
)


@st.composite
def argument_vectors(draw, verb):
    argv = []
    for _ in range(draw(st.integers(0, 4))):
        argv.append(draw(st.sampled_from(VERB_FLAGS[verb])) if VERB_FLAGS[verb] else draw(values))
        if draw(st.booleans()):
            argv.append(draw(values))
    return argv


@pytest.mark.parametrize("verb", list(VERB_FLAGS))
def test_random_argument_vectors_end_in_success_or_one_line(world, verb, tmp_path_factory, capsys):
    root, paths = world
    scratch = tmp_path_factory.mktemp(f"hyp-{verb}")

    @settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
    @given(argv=argument_vectors(verb))
    def check(argv):
        os.chdir(root)
        shutil.rmtree(scratch, ignore_errors=True)
        scratch.mkdir()
        os.chdir(scratch)
        head = [verb] + ([paths[RUN_OF[verb]]] if verb in RUN_OF else [])
        if verb in ("translate", "project", "inpaint"):
            head.append(paths["img"])
        if verb in ("project", "inpaint"):
            argv = [*argv, "--steps", "2", "--no-progress"]  # random flags, but a search that ends quickly
        if verb == "train":
            argv = ["gan", *argv, "--set", "train.steps=-1"]  # every path up to the config, never a real run
        if verb == "features":
            argv = ["list", *argv]
        if verb == "data":
            argv = ["toy:ring8", *argv]
        try:
            code = main(head + argv)
        except SystemExit as exit:
            code = exit.code
        err = capsys.readouterr().err
        assert code in (0, 2), (argv, err)
        if code == 2:
            assert err.startswith("gankit: error: ") and err.count("\n") == 1, (argv, err)
        assert "Traceback" not in err and "\x1b" not in err, (argv, err)

    before = {k: v for k, v in snapshot(root).items() if not k.startswith("files")}
    try:
        check()
    finally:
        os.chdir(root)
    after = {k: v for k, v in snapshot(root).items() if not k.startswith("files")}
    # Runs gain files only where a verb writes by default (eval.json, report.html, figures), never lose any.
    assert set(before) <= set(after)
