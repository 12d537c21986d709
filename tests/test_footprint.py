"""Issue 18, sizes that exhaust memory: a training step (and a translation) that cannot fit is
refused before it starts, with an estimate and a hint, from the step's peak measured on the
meta device (gankit.footprint); a step whose cheap bound obviously fits skips that dry run.
The "available memory" is monkeypatched small, so nothing here allocates more than a tiny
network's step."""

import json
import logging
import os
import random
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from gankit import api, footprint
from gankit.cli import main
from gankit.config import DataConfig
from gankit.data import load_data, make_stream
from gankit.data.patches import PatchStream
from gankit.errors import GankitError
from gankit.footprint import META, largest_count, on_meta, peak_memory, step_bound
from gankit.models import MODELS, build_run_config
from gankit.training import loop
from gankit.training.loop import step_memory
from gankit.training.precision import Precision
from gankit.translation import CHUNK, images_per_chunk, translate_files, translation_memory
from tests.conftest import TINY_TRAIN, tiny_overrides, tiny_settings

CPU = torch.device("cpu")
FP32, BF16 = Precision("32", CPU), Precision("bf16", CPU)
MiB = 2**20
DEMO = Path(__file__).resolve().parents[1] / "examples" / "demo.yaml"


def small_memory(monkeypatch, available: int) -> None:
    """This machine seen by the step and translation estimates as having ``available`` bytes."""
    monkeypatch.setattr(footprint, "available_memory", lambda: (available, 4 * available))


def test_storages_count_while_they_are_alive_and_views_add_nothing():
    def work():
        a = torch.empty(1000, device=META)  # 4000 bytes
        view = a.view(10, 100)  # shares a's storage
        b = a * 2  # 8000 alive
        del a, view
        c = b + 1  # a was freed: still 8000
        c.add_(1)  # in place: nothing new
        return c

    assert peak_memory(work) == 8000


def test_a_dry_run_leaves_every_random_stream_where_it_was():
    random.seed(1), np.random.seed(1), torch.manual_seed(1)
    expected = random.random(), np.random.rand(), torch.rand(())
    random.seed(1), np.random.seed(1), torch.manual_seed(1)
    peak_memory(lambda: (random.random(), np.random.rand(), torch.rand(8), torch.randint(9, (3,))))
    on_meta(lambda: (random.random(), torch.nn.Linear(3, 4), torch.rand(8, device=CPU)))
    assert (random.random(), np.random.rand(), torch.rand(())) == expected


def test_largest_count_is_linear_between_one_and_many():
    assert largest_count(one=10, full=100, count=10, available=50) == 5  # 10 + 4 * 10
    assert largest_count(one=10, full=100, count=10, available=1000) == 10
    assert largest_count(one=10, full=100, count=10, available=5) == 1
    assert largest_count(one=10, full=10, count=1, available=5) == 1


class EmptyBatches:
    """A stream stand-in: the batch shapes of ``make_stream``'s streams, for any variant."""

    def __init__(self, shape, two_domains):
        self.shape, self.two_domains = shape, two_domains

    def empty_batch(self, size, device):
        x = torch.empty(size, *self.shape, device=device)
        return (x, torch.empty_like(x)) if self.two_domains else (x, torch.empty(size, dtype=torch.long, device=device))


def real_step_peak(name, config, shape, stream, batch_size, precision):
    """The same count for one real step on random data, its model built inside the count (its
    weights count from their creation, as in the dry run): what the estimate predicts."""
    counter = footprint._LiveBytes()
    with counter:
        model = MODELS[name](config.model, shape)
        model.prepare_training()
        batch = tuple(t.normal_() if t.is_floating_point() else t.zero_() for t in stream.empty_batch(batch_size, CPU))
        with precision.autocast():
            model.train_step(batch, 0)
    return counter.peak


# The estimate is of the busiest step (a truth value read on the meta device is True): the real
# first step is made one that updates the generator too.
BUSY_FIRST_STEP = {"critic_steps": 1, "warmup_critic_steps": 1}


def run_config(name, settings, batch_size):
    return build_run_config({"model": {"name": name, **settings}, "train": {"steps": 1, "batch_size": batch_size}})


@pytest.mark.parametrize("name", list(MODELS))
def test_every_variant_is_estimated_exactly_in_fp32_and_from_above_in_bf16(name):
    shape = (3, 16, 16)
    settings = tiny_settings(name) | {k: v for k, v in BUSY_FIRST_STEP.items() if hasattr(MODELS[name].Config, k)}
    config, stream = run_config(name, settings, 4), EmptyBatches(shape, two_domains=name == "cyclegan")
    for precision in (FP32, BF16):
        torch.manual_seed(0)  # the same random choices (StyleGAN's style mixing) in both steps
        estimate = step_memory(config, shape, stream, precision, 4)
        torch.manual_seed(0)
        real = real_step_peak(name, config, shape, stream, 4, precision)
        if precision is FP32:
            assert estimate == real
        else:  # autocast's weight copies: at most the half of the trainable weights that is added
            assert real <= estimate, (real, estimate)


# Every variant, small and default networks, vectors, each option of the GAN family, and
# networks one channel wide (where the work on the image itself weighs most).
WIDTHS = ("latent_dim", "g_width", "d_width", "max_width", "joint_width", "mlp_width", "w_dim")
BOUND_CASES = (
    [(name, tiny_settings(name), (1, 8, 8) if name == "stylegan" else (1, 16, 16), 16) for name in MODELS]
    + [(name, {}, (3, 64, 64), 4) for name in ("gan", "stylegan", "cyclegan")]
    + [(name, {}, (2,), 64) for name in ("gan", "wgan_gp")]
    + [(name, tiny_settings(name) | {k: 2 for k in WIDTHS if hasattr(MODELS[name].Config, k)}, (3, 32, 32), 8)
       for name in MODELS]
    + [(name, tiny_settings(name) | option, (1, 16, 16), 16) for name in ("gan", "wgan_gp") for option in (
        {"d_norm": "spectral", "g_norm": "spectral"}, {"ema_kimg": 1}, {"augment": "color,translation,cutout"},
        {"pack": 4}, {"network": "cnn"}, {"network": "mlp"})]
    + [("gan", {"network": "cnn", "g_width": 32, "d_width": 32, "d_norm": "spectral", "ema_kimg": 4}, (1, 16, 16), 32)]
)


@pytest.mark.parametrize("name, settings, shape, batch_size", BOUND_CASES)
def test_the_bound_is_above_the_estimate(name, settings, shape, batch_size):
    """footprint.step_bound, with which a step that obviously fits skips the dry run, is at least
    twice the dry run's estimate (in bf16, the larger) for every variant and option: measured
    3.1x at the least (a GAN on 2-d vectors, whose weights dominate), 8x when activations do."""
    config, stream = run_config(name, settings, batch_size), EmptyBatches(shape, two_domains=name == "cyclegan")
    estimate = step_memory(config, shape, stream, BF16, batch_size)
    model = on_meta(lambda: MODELS[name](config.model, shape))
    assert 2 * estimate <= step_bound(model, stream.empty_batch(1, META), batch_size), estimate


def check_step(config, shape):
    """The training loop's check of one step of ``config`` on a CPU in fp32."""
    stream = EmptyBatches(shape, two_domains=config.model_name == "cyclegan")
    loop.check_step_fits(config, shape, stream, CPU, FP32, loop.meta_model(config, shape))


# Each variant's tiny networks, and the GAN family's norms and options (the demo's spectral
# norm and batch-norm EMA generator were once an error logged on stderr and no estimate).
QUIET_CASES = [(name, tiny_settings(name)) for name in MODELS] + [
    ("gan", tiny_settings("gan") | option) for option in (
        {"d_norm": "spectral", "ema_kimg": 4, "network": "cnn"}, {"g_norm": "spectral", "ema_kimg": 1},
        {"g_norm": "instance", "d_norm": "layer"}, {"augment": "color,translation,cutout", "pack": 2})
] + [("wgan_gp", tiny_settings("wgan_gp") | {"ema_kimg": 1, "augment": "translation", "pack": 2})]


def test_every_dry_run_gives_an_estimate_and_prints_nothing(monkeypatch, caplog, capfd):
    monkeypatch.setattr(loop, "OBVIOUSLY_FITS", 0.0)  # no step skips the dry run
    estimates = []
    monkeypatch.setattr(loop, "step_memory", lambda *args: estimates.append(step_memory(*args)) or estimates[-1])
    caplog.set_level(logging.DEBUG)
    for name, settings in QUIET_CASES:
        shape = (1, 8, 8) if name == "stylegan" else (1, 16, 16)
        check_step(run_config(name, settings, 8), shape)
    assert len(estimates) == len(QUIET_CASES) and all(estimates)  # none failed and was skipped
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []
    assert capfd.readouterr() == ("", "")


def test_the_demo_trains_with_a_dry_run_and_an_empty_stderr(tmp_path, monkeypatch, capfd):
    monkeypatch.setattr(loop, "OBVIOUSLY_FITS", 0.0)
    argv = ["train", "gan", "--config", str(DEMO), "--steps", "1", "--out", str(tmp_path / "run"), "--no-progress",
            "--set", "train.eval_metrics=[]"]
    assert main(argv) == 0
    assert capfd.readouterr().err == ""


def test_a_dry_run_changes_nothing_a_seeded_run_computes(tmp_path, monkeypatch):
    """The same weights after two steps with and without the dry run (the demo's EMA and
    spectral norm, on the tiny networks)."""
    def weights(out):
        extra = ["model.network=cnn", "model.d_norm=spectral", "model.ema_kimg=1"]
        train_tiny(out, *extra, steps=2)
        return torch.load(next((out / "checkpoints").glob("*.pt")), weights_only=True)["model"]

    plain = weights(tmp_path / "plain")
    monkeypatch.setattr(loop, "OBVIOUSLY_FITS", 0.0)
    monkeypatch.setattr(loop, "step_memory", lambda *args: estimates.append(step_memory(*args)) or estimates[-1])
    estimates = []
    dry = weights(tmp_path / "dry")
    assert len(estimates) == 1 and plain.keys() == dry.keys()
    assert all(torch.equal(plain[k], dry[k]) for k in plain)


def test_ordinary_steps_skip_the_dry_run(monkeypatch):
    """The demo's step and the tests' tiny steps fit in a quarter of 4 GiB by their bound alone."""
    small_memory(monkeypatch, 4 * 2**30)
    monkeypatch.setattr(loop, "step_memory", lambda *args: pytest.fail("a dry run"))
    demo = build_run_config({"model": {"name": "gan", "network": "cnn", "g_width": 32, "d_width": 32, "d_norm": "spectral",
                                       "ema_kimg": 4}, "train": {"steps": 1, "batch_size": 32}})
    check_step(demo, (1, 16, 16))
    for name in MODELS:
        shape = (1, 8, 8) if name == "stylegan" else (1, 16, 16)
        check_step(run_config(name, tiny_settings(name), 16), shape)


def test_streams_give_empty_batches_of_their_real_shapes():
    data = load_data(DataConfig(spec="digits", image_size=16))
    stream = make_stream(data, 8, seed=0, device=CPU)
    patches = PatchStream(make_stream(data, 8, seed=0, device=CPU), 8, seed=0)
    for s in (stream, patches):
        real, empty = next(s), s.empty_batch(8, META)
        assert [(t.shape, t.dtype) for t in real] == [(t.shape, t.dtype) for t in empty]


def train_tiny(out, *extra, steps=1):
    return api.train("gan", data="digits", steps=steps, out=out, progress=False,
                     overrides=tiny_overrides("digits", **{"train.eval_metrics": "[]"}) + ["data.image_size=16", *extra])


def estimate_of_tiny(batch_size):
    config = build_run_config({"model": {"name": "gan", **tiny_settings("gan")},
                               "train": {"steps": 1, "batch_size": batch_size}})
    return step_memory(config, (1, 16, 16), EmptyBatches((1, 16, 16), False), FP32, batch_size)


def test_a_step_that_does_not_fit_is_refused_with_the_batch_size_that_would(tmp_path, monkeypatch):
    one, sixteen = estimate_of_tiny(1), estimate_of_tiny(16)
    small_memory(monkeypatch, (one + sixteen) // 2)
    with pytest.raises(GankitError) as refused:
        train_tiny(tmp_path / "run")
    message = str(refused.value)
    assert re.fullmatch(r"training gan at batch size 16 on 1x16x16 examples: about \S+ \S+ of memory needed; "
                        r"this machine has \S+ \S+ available \(\S+ \S+ in all\); lower train.batch_size to (\d+) "
                        r"or less, or data.image_size or the networks' widths \(model.g_width, model.d_width, "
                        r"model.mlp_width\)", message), message
    fits = int(re.search(r"batch_size to (\d+)", message).group(1))
    assert 1 <= fits < 16 and estimate_of_tiny(fits) <= (one + sixteen) // 2  # the suggestion fits
    assert not (tmp_path / "run").exists()  # refused in set-up: nothing left behind


def test_a_network_too_large_for_one_example_says_so(tmp_path, monkeypatch):
    small_memory(monkeypatch, estimate_of_tiny(1) - 1)
    with pytest.raises(GankitError, match=r"even a batch of 1 needs about .*; lower data.image_size or the networks'"):
        train_tiny(tmp_path / "run")


def test_a_step_that_fits_trains(tmp_path, monkeypatch):
    small_memory(monkeypatch, estimate_of_tiny(16))  # exactly enough
    assert train_tiny(tmp_path / "run").step == 1


def test_the_command_line_refusal_is_one_line(tmp_path, monkeypatch, capsys):
    small_memory(monkeypatch, MiB // 4)
    argv = ["train", "gan", "--data", "digits", "--steps", "1", "--out", str(tmp_path / "run")]
    for item in tiny_overrides("digits") + ["data.image_size=16"]:
        argv += ["--set", item]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("gankit: error: training gan at batch size 16 on 1x16x16 examples: about ")
    assert err.count("\n") == 1 and "Traceback" not in err, err


def test_cuda_room_counts_the_free_memory_and_what_this_process_caches(monkeypatch):
    monkeypatch.setattr(torch.cuda, "mem_get_info", lambda index: (5 * MiB, 80 * MiB))
    monkeypatch.setattr(torch.cuda, "memory_reserved", lambda index: 3 * MiB)
    monkeypatch.setattr(torch.cuda, "memory_allocated", lambda index: 1 * MiB)
    assert footprint.device_memory(torch.device("cuda", 1)) == (7 * MiB, 80 * MiB, "cuda:1")


# --- gankit translate ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def cyclegan(deploy_run):
    return api.load(deploy_run("cyclegan"))


def test_a_translation_too_large_for_memory_is_translated_fewer_at_a_time(cyclegan, tmp_path, monkeypatch):
    shape, directions = (cyclegan.data_shape[0], 64, 64), ["a2b", "b2a"]
    state = {k: v.clone() for k, v in cyclegan.state_dict().items()}
    assert images_per_chunk(cyclegan, shape, directions) == CHUNK
    assert all(torch.equal(v, state[k]) for k, v in cyclegan.state_dict().items())  # the dry run wrote nothing
    one, full = (translation_memory(cyclegan, shape, directions, n) for n in (1, CHUNK))
    for i in range(3):
        Image.new("RGB", (64, 64), (60 * i, 100, 200)).save(tmp_path / f"{i}.png")
    whole = translate_files(cyclegan, [tmp_path], "a2b", tmp_path / "whole", size=64, grid=True)

    small_memory(monkeypatch, 2 * one)
    assert 1 <= images_per_chunk(cyclegan, shape, directions) < CHUNK
    pieces = translate_files(cyclegan, [tmp_path], "a2b", tmp_path / "pieces", size=64, grid=True)
    for a, b in zip(whole, pieces):  # the same translations (up to a rounding of the last bit)
        assert np.abs(np.asarray(Image.open(a), dtype=int) - np.asarray(Image.open(b), dtype=int)).max() <= 1

    small_memory(monkeypatch, one // 2)
    with pytest.raises(GankitError, match=r"translating one image of 64 x 64 pixels: about .* of memory needed; "
                                          r"this machine has .*; lower --size"):
        images_per_chunk(cyclegan, shape, directions)
    assert full > one


# --- how close the estimate is to the process's real peak ------------------------------------------
MEASURE = """
import json, resource, sys, torch
from gankit.models import MODELS, build_run_config
config = build_run_config({"model": {"name": "gan"}, "train": {"steps": 1, "batch_size": 64}})
with open("/proc/self/statm") as f:
    before = int(f.read().split()[1]) * resource.getpagesize()
model = MODELS["gan"](config.model, (3, 64, 64))
model.prepare_training()
model.train_step((torch.randn(64, 3, 64, 64), torch.zeros(64, dtype=torch.long)), 0)
print(json.dumps(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - before))
"""


@pytest.mark.slow
def test_the_estimate_is_within_two_of_the_real_peak_of_a_default_gan():
    """The growth of the process's peak resident memory from building the default GAN (64 px) to
    the end of its first step at batch 64, against the estimate. Measured 1.4-1.8x: the CPU
    allocator, libraries loaded on first use and oneDNN's layout copies are not tensors."""
    config = build_run_config({"model": {"name": "gan"}, "train": {"steps": 1, "batch_size": 64}})
    estimate = step_memory(config, (3, 64, 64), EmptyBatches((3, 64, 64), False), FP32, 64)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src"), "OMP_NUM_THREADS": "1"}
    output = subprocess.run([sys.executable, "-c", MEASURE], capture_output=True, text=True, env=env, check=True)
    real = json.loads(output.stdout.strip().splitlines()[-1])
    assert estimate <= real <= 2 * estimate, (estimate, real)
