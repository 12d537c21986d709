"""Checkpoints from another variant or another gankit version: one clear error each,
through resume, ``gankit.load`` and the CLI."""

import shutil

import pytest
import torch

from gankit import api
from gankit.cli import main
from gankit.errors import GankitError
from gankit.training.checkpoint import latest_checkpoint, load_checkpoint, save_checkpoint
from gankit.training.loop import Trainer
from tests.conftest import tiny_overrides


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("foreign")
    for model in ("gan", "wgan"):
        config = api.make_config(model, data="toy:ring8", overrides=tiny_overrides(**{"train.steps": 2}))
        Trainer(config, root / model).fit()
    return root


def rewrite(path, **changes):
    """The checkpoint at ``path`` with some of its entries changed."""
    checkpoint = load_checkpoint(path)
    for name, value in changes.items():
        setattr(checkpoint, name, value)
    return checkpoint


def test_resuming_with_another_variants_checkpoint_is_refused(runs, tmp_path):
    run = tmp_path / "gan"
    shutil.copytree(runs / "gan", run)
    foreign = latest_checkpoint(runs / "wgan" / "checkpoints")
    shutil.copy(foreign, run / "checkpoints" / "step-000000009.pt")
    with pytest.raises(GankitError, match=r"holds a 'wgan' model, not 'gan'"):
        api.resume(run, steps=12)


def test_a_checkpoint_whose_weights_do_not_fit_names_its_version(runs, tmp_path):
    path = latest_checkpoint(runs / "gan" / "checkpoints")
    state = rewrite(path, gankit_version="0.0.1")
    state.model = {f"renamed.{k}": v for k, v in state.model.items()}  # layers renamed since
    old = save_checkpoint(tmp_path, state, keep=1)
    with pytest.raises(GankitError, match=r"written by gankit 0\.0\.1.*does not fit") as caught:
        api.load(tmp_path, checkpoint=old)
    assert "\n" not in str(caught.value)


def test_an_unknown_variant_from_a_newer_version_is_one_error(runs, tmp_path, capsys):
    path = latest_checkpoint(runs / "gan" / "checkpoints")
    state = rewrite(path, gankit_version="9.0", model_name="diffusion_gan")
    state.config["model"]["name"] = "diffusion_gan"
    newer = save_checkpoint(tmp_path, state, keep=1)
    with pytest.raises(GankitError, match=r"written by gankit 9\.0.*unknown model 'diffusion_gan'"):
        api.load(tmp_path, checkpoint=newer)
    assert main(["sample", str(tmp_path), "--checkpoint", str(newer)]) == 2
    err = capsys.readouterr().err
    assert "diffusion_gan" in err and "Traceback" not in err and err.count("\n") == 1


@pytest.mark.parametrize("missing", ["config", "data_shape", "model", "model_name", "step", "optimizers", "stream"])
def test_a_checkpoint_missing_an_entry_is_one_error(runs, tmp_path, missing, capsys):
    state = rewrite(latest_checkpoint(runs / "gan" / "checkpoints")).payload()
    del state[missing]
    path = tmp_path / "step-000000002.pt"
    torch.save(state, path)
    with pytest.raises(GankitError, match=rf"lacks '{missing}'"):
        api.load(tmp_path, checkpoint=path)
    run = tmp_path / "gan"
    shutil.copytree(runs / "gan", run)
    for old in (run / "checkpoints").iterdir():
        old.unlink()
    shutil.copy(path, run / "checkpoints" / "step-000000099.pt")
    for argv in (["sample", str(run), "--checkpoint", str(path)], ["sample", str(run)], ["train", "--resume", str(run)]):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert f"lacks '{missing}'" in err and err.count("\n") == 1 and "Traceback" not in err


def test_a_newer_checkpoint_format_is_refused_everywhere(runs, tmp_path, capsys):
    run = tmp_path / "gan"
    shutil.copytree(runs / "gan", run)
    for path in (run / "checkpoints").glob("step-*.pt"):
        state = torch.load(path, weights_only=True)
        torch.save({**state, "format_version": 3}, path)
    assert main(["sample", str(run)]) == 2  # not "no complete checkpoint", nor an older one
    assert "has checkpoint format 3; this gankit reads format 2 and older" in capsys.readouterr().err
    with pytest.raises(GankitError, match="format 3"):
        api.resume(run, steps=4)
    assert main(["sample", str(run), "--checkpoint", str(next((run / "checkpoints").glob("step-*.pt")))]) == 2
    assert "has checkpoint format 3; this gankit reads format 2 and older" in capsys.readouterr().err
