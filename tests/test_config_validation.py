"""Bad settings, each a one-line GankitError before anything runs: unknown keys, wrong
types, negative sizes, zero budgets, learning rates <= 0 or NaN, Adam betas outside [0, 1),
huge images, seeds no RNG takes, a batch larger than the data, keys that try to climb out."""

import pytest

from gankit import api
from gankit.cli import main
from gankit.config import apply_overrides
from gankit.errors import GankitError
from gankit.models import MODELS

CASES = [
    ("gan", "train.batchsize=4", "unknown key train.batchsize"),
    ("gan", "model.latent_dim=abc", "must be an integer"),
    ("gan", "model.latent_dim=-8", "model.latent_dim must be > 0"),
    ("gan", "data.image_size=-16", "data.image_size must be > 0"),
    ("gan", "data.image_size=100000", "over the largest supported"),
    ("gan", "train.steps=0", "train.steps must be > 0"),
    ("gan", "train.steps=-5", "train.steps must be > 0"),
    ("gan", "train.epochs=.nan", "train.epochs must be a finite number"),
    ("gan", "train.minutes=.inf", "train.minutes must be a finite number"),
    ("gan", "train.seed=99999999999", "train.seed must be in 0..4294967295"),
    ("gan", "train.seed=-1", "train.seed must be in"),
    ("gan", "train.keep_checkpoints=0", "train.keep_checkpoints must be > 0"),
    ("gan", "model.lr_g=0", "model.lr_g must be > 0"),
    ("gan", "model.lr_d=nan", "model.lr_d must be a finite number"),
    ("gan", "model.d_steps=0", "model.d_steps must be > 0"),
    ("gan", "model.betas=[0.5,2]", r"model.betas must be two numbers in \[0, 1\)"),
    ("gan", "model.betas=\x1b,0.9", r"model.betas must be a number"),  # YAML cannot read a control character
    ("wgan", "model.lr=-1e-4", "model.lr must be > 0"),
    ("wgan", "model.clip=0", "model.clip must be > 0"),
    ("wgan", "model.critic_steps=0", "model.critic_steps must be > 0"),
    ("wgan_gp", "model.gp_weight=-10", "model.gp_weight must be >= 0"),
    ("wgan_gp", "model.pack=0", "model.pack must be > 0"),
    ("wgan_gp", "model.pack=3", "train.batch_size 64 is not a multiple of model.pack 3"),
    ("wgan_gp", "model.lr=0", "model.lr must be > 0"),
    ("stylegan", "model.lr=.nan", "finite number"),
    ("stylegan", "model.betas=[1.5,0.9]", "model.betas must be two numbers"),
    ("cyclegan", "model.lr=.inf", "finite number"),
    ("egbad", "model.lr=0", "model.lr must be > 0"),
    ("ganomaly", "model.lr=-2e-4", "model.lr must be > 0"),
    ("ganomaly", "data.patch_size=0", "data.patch_size must be > 0"),
    ("stylegan", "data.patch_size=64", "data.patch_size 64 is larger than data.image_size 32"),  # its preset sets 32 px
    ("ganomaly", "model.tile_stride=0", "model.tile_stride must be > 0"),
    ("ganomaly", "model.image_score=mean", "model.image_score must be one of detector, map_max, map_top_k"),
    ("egbad", "model.top_k=0", r"model.top_k must be in \(0, 1\]"),
    ("ganomaly", "model.map_sigma=-1", "model.map_sigma must be >= 0"),
    ("alad", "model.map_sigma=.nan", "model.map_sigma must be a finite number"),
    ("fanogan", "model.lr_encoder=0", "model.lr_encoder must be > 0"),
    ("fanogan", "model.betas_encoder=[0.5,1]", "model.betas_encoder must be two numbers"),
    ("anogan", "model.lr_g=-1", "model.lr_g must be > 0"),
]


@pytest.mark.parametrize("model, override, message", CASES, ids=[f"{m}:{o}" for m, o, _ in CASES])
def test_bad_settings_are_one_line_errors(model, override, message):
    with pytest.raises(GankitError, match=message) as caught:
        api.make_config(model, overrides=[override])
    assert "\n" not in str(caught.value)


def test_every_variant_refuses_a_nan_and_a_non_positive_learning_rate():
    for name, cls in MODELS.items():
        rates = [f for f in cls.Config.__dataclass_fields__ if f.startswith("lr")]
        assert rates, name
        for rate in rates:
            for value in ("0", "-1", ".nan"):
                with pytest.raises(GankitError, match=rf"model\.{rate}"):
                    api.make_config(name, overrides=[f"model.{rate}={value}"])


@pytest.mark.parametrize("key", ["../x", "train..steps", ".train.steps", "train.steps.", "/etc/passwd"])
def test_override_keys_cannot_climb_out_of_a_section(key):
    with pytest.raises(GankitError):
        apply_overrides({}, [f"{key}=1"])


@pytest.mark.parametrize("spec", ["../../etc", "/abs/path", "folder:../../x", "..", "a/../../b:c"])
def test_default_run_directory_stays_under_the_root(tmp_path, spec):
    config = api.make_config("gan")
    config.data.spec = spec
    run = api.default_run_dir(config, tmp_path / "runs")
    assert run.parent == tmp_path / "runs" and "/" not in run.name and run.name not in (".", "..")


def test_a_batch_larger_than_the_data_is_one_error(tmp_path, capsys):
    argv = ["train", "gan", "--data", "toy:ring8", "--set", "data.toy_samples=64", "--batch-size", "1000",
            "--steps", "2", "--out", str(tmp_path / "run"), "--no-progress"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "larger than toy:ring8 (64 examples)" in err and err.count("\n") == 1


@pytest.mark.parametrize(
    "argv, message",
    [
        (["train", "gan", "--set", "model.lr_g=nan"], "finite number"),
        (["train", "gan", "--steps", "-3"], "train.steps must be > 0"),
        (["train", "gan", "--set", "data.image_size=99999"], "largest supported"),
    ],
)
def test_cli_reports_bad_settings_in_one_line(argv, message, capsys, tmp_path):
    assert main([*argv, "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and err.count("\n") == 1
    assert not (tmp_path / "run").exists()  # refused before the run directory was made


def test_cli_seed_outside_every_rng_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["sample", "runs/none", "--seed", "99999999999999999999"])
    assert exit_.value.code == 2 and "must be in 0..4294967295" in capsys.readouterr().err
