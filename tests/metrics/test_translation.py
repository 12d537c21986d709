"""Cycle L1 and label preservation, checked against direct computation."""

import torch

from gankit.metrics.translation import accuracy, cycle_l1, fit_classifier, label_preservation
from gankit.models.cyclegan.model import CycleGAN, CycleGANConfig


def tiny_cyclegan():
    torch.manual_seed(0)
    return CycleGAN(CycleGANConfig(g_width=4, d_width=4, blocks=1, d_layers=2), (1, 16, 16)).eval()


def test_cycle_l1_is_the_mean_absolute_reconstruction_error():
    model = tiny_cyclegan()
    a, b = torch.rand(3, 1, 16, 16) * 2 - 1, torch.rand(70, 1, 16, 16) * 2 - 1  # b spans two batches
    values = cycle_l1(model, a, b)
    with torch.no_grad():
        expected_a = (model.generator_ba(model.generator_ab(a)) - a).abs().mean().item()
        expected_b = (model.generator_ab(model.generator_ba(b)) - b).abs().mean().item()
    assert abs(values["cycle_l1_a"] - expected_a) < 1e-6 and abs(values["cycle_l1_b"] - expected_b) < 1e-6


def test_label_preservation_counts_translations_the_classifier_labels_right():
    # Two classes, dark and bright images, that a classifier separates after a few steps.
    y = torch.arange(40) % 2
    x = torch.where(y.view(-1, 1, 1, 1).bool(), 0.8, -0.8) + 0.1 * torch.randn(40, 1, 16, 16)
    classifier = fit_classifier(x, y, classes=2, steps=30, batch_size=16, zoom=1.3)
    assert accuracy(classifier, x, y) == 1.0
    model = tiny_cyclegan()
    with torch.no_grad():
        translated = model.generator_ab(x)
    expected = (classifier(translated).argmax(1) == y).float().mean().item()
    assert label_preservation(model, x, y, classifier, "a2b") == expected
