"""Anomaly-detection protocols: disjoint constant-seed splits, class roles, folder layouts, masks."""

import numpy as np
import pytest
import torch
from PIL import Image

from gankit.config import DataConfig
from gankit.data import load_data
from gankit.data.anomaly import load_anomaly
from gankit.errors import GankitError


def parts(config):
    return {part: load_anomaly(config, part) for part in ("fit", "calibration", "test")}


def test_one_vs_rest_on_digits():
    config = DataConfig(spec="digits", anomaly_classes=[3])
    fit, calibration, test = parts(config).values()
    for normal in (fit, calibration):
        assert not normal.is_anomaly.any() and 3 not in normal.data.y.tolist()
    names = [set(p.names) for p in (fit, calibration, test)]
    assert not (names[0] & names[1]) and not (names[0] & names[2]) and not (names[1] & names[2])
    normal_total = len(fit) + len(calibration) + int((~test.is_anomaly).sum())
    assert int((~test.is_anomaly).sum()) == pytest.approx(0.2 * normal_total, abs=1)
    assert len(calibration) == pytest.approx(0.1 * (len(fit) + len(calibration)), abs=1)
    assert int(test.is_anomaly.sum()) == 183  # every 3 of the 1797 digits
    assert set(test.data.y[test.is_anomaly].tolist()) == {3}
    # The loop's view: load_data gives the fit part; the split is the same whatever the run seed.
    assert torch.equal(load_data(config).x, fit.data.x)
    assert load_anomaly(DataConfig(spec="digits", anomaly_classes=[3], seed=7), "test").names == test.names


def test_one_class_protocol():
    test = load_anomaly(DataConfig(spec="digits", normal_classes=[5]), "test")
    assert set(test.data.y[~test.is_anomaly].tolist()) == {5}
    assert set(test.data.y[test.is_anomaly].tolist()) == set(range(10)) - {5}


def test_protocol_mistakes_are_one_line_errors():
    with pytest.raises(GankitError, match="both"):
        DataConfig(spec="digits", normal_classes=[1], anomaly_classes=[1])
    with pytest.raises(GankitError, match="not in"):
        load_anomaly(DataConfig(spec="digits", anomaly_classes=[12]), "fit")
    with pytest.raises(GankitError, match="no anomaly-detection protocol"):
        load_anomaly(DataConfig(spec="digits"), "test")


def write(path, array):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array.astype(np.uint8)).save(path)


def test_defects_layout_with_masks(tmp_path):
    rng = np.random.default_rng(0)
    for i in range(10):
        write(tmp_path / "train" / f"ok{i}.png", rng.integers(0, 60, (20, 30)))
    write(tmp_path / "test" / "good" / "g0.png", rng.integers(0, 60, (20, 30)))
    scratch = rng.integers(0, 60, (20, 30))
    scratch[5:10, 10:20] = 255
    write(tmp_path / "test" / "scratch" / "s0.png", scratch)
    mask = np.zeros((20, 30))
    mask[5:10, 10:20] = 200  # above 127: defect
    mask[0, 0] = 100  # a soft edge below the threshold
    write(tmp_path / "ground_truth" / "scratch" / "s0_mask.png", mask)
    config = DataConfig(spec=f"defects:{tmp_path}", image_size=8)
    fit, calibration, test = parts(config).values()
    assert (len(fit), len(calibration)) == (9, 1)
    assert test.kinds == ["good", "scratch"] and test.is_anomaly.tolist() == [False, True]
    assert test.data.shape == (1, 8, 8) and test.masks.shape == (2, 1, 8, 8)
    assert not test.masks[0].any() and test.masks[1].any() and not test.masks[1, 0, 0, 0]
    assert load_data(config).x.shape == (9, 1, 8, 8)


def test_unlabelled_folder_is_scored_without_labels(tmp_path):
    write(tmp_path / "a.png", np.zeros((8, 8)))
    test = load_anomaly(DataConfig(spec=f"defects:{tmp_path}", image_size=8), "test")
    assert test.is_anomaly is None and len(test) == 1
    with pytest.raises(GankitError, match="train/"):
        load_anomaly(DataConfig(spec=f"defects:{tmp_path}", image_size=8), "fit")


def test_magnetic_tile_layout(tmp_path):
    for i in range(10):
        write(tmp_path / "MT_Free" / "Imgs" / f"f{i}.jpg", np.full((12, 16), 100))
        write(tmp_path / "MT_Free" / "Imgs" / f"f{i}.png", np.zeros((12, 16)))
    write(tmp_path / "MT_Crack" / "Imgs" / "c0.jpg", np.full((12, 16), 100))
    crack = np.zeros((12, 16))
    crack[:, 8] = 255
    write(tmp_path / "MT_Crack" / "Imgs" / "c0.png", crack)
    config = DataConfig(spec=f"magnetic-tile:{tmp_path}", image_size=8, anomaly_classes=[0])  # class lists ignored
    fit, calibration, test = parts(config).values()
    assert len(fit) + len(calibration) == 8 and len(test) == 3
    assert test.kinds.count("Crack") == 1 and test.masks[test.is_anomaly].any()
    assert not test.masks[~test.is_anomaly].any()


def test_shared_magnetic_tile(shared_data):
    config = DataConfig(spec=f"magnetic-tile:{shared_data / 'magnetic-tile'}", image_size=16)
    test = load_anomaly(config, "test")
    assert int(test.is_anomaly.sum()) == 115 + 85 + 57 + 32 + 103
    assert int((~test.is_anomaly).sum()) == 952 - int(952 * 0.8 + 0.5)
    assert set(test.kinds) == {"good", "Blowhole", "Break", "Crack", "Fray", "Uneven"}
