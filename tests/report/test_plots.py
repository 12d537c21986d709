"""Grids labelled on the image itself."""

import numpy as np
import torch
from PIL import Image

from gankit.report.plots import save_image_grid


def test_labels_are_drawn_in_margins_left_and_above(tmp_path):
    images = torch.zeros(6, 1, 16, 16)  # mid grey in [-1, 1]
    plain = np.asarray(Image.open(save_image_grid(images, tmp_path / "plain.png", nrow=3)))
    labelled = np.asarray(Image.open(save_image_grid(images, tmp_path / "labelled.png", nrow=3,
                                                     rows=["A", "G(A)"], cols=["one", "two", "three"])))
    top = labelled.shape[0] - plain.shape[0]
    left = labelled.shape[1] - plain.shape[1]
    assert top > 5 and left > 5
    assert (labelled[top:, left:] == plain).all()  # the grid itself is unchanged
    assert labelled[:top, left:].min() < 100 and labelled[top:, :left].min() < 100  # dark text in both margins


def test_only_columns_add_only_a_top_margin(tmp_path):
    images = torch.zeros(4, 1, 16, 16)
    plain = Image.open(save_image_grid(images, tmp_path / "plain.png", nrow=2))
    labelled = Image.open(save_image_grid(images, tmp_path / "cols.png", nrow=2, cols=["x", "y"]))
    assert labelled.width == plain.width and labelled.height > plain.height
