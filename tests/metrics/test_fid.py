import numpy as np
import pytest
import torch
from scipy import linalg

from gankit.metrics.fid import frechet_distance, kernel_distance


def gaussians(seed, n=400, d=6, shift=0.0, scale=1.0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, d, generator=g, dtype=torch.float64) * scale + shift


def reference_fid(a: np.ndarray, b: np.ndarray) -> float:
    # The formula of Heusel et al. with scipy's matrix square root, as in the original TTUR code.
    mu_a, mu_b = a.mean(0), b.mean(0)
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    covmean = linalg.sqrtm(cov_a @ cov_b).real
    return float(((mu_a - mu_b) ** 2).sum() + np.trace(cov_a + cov_b - 2 * covmean))


def reference_kid(a: np.ndarray, b: np.ndarray) -> float:
    # Unbiased MMD^2 with the cubic polynomial kernel k(x, y) = (x.y / d + 1)^3 (Binkowski et al.).
    d = a.shape[1]
    k_aa, k_bb, k_ab = ((a @ a.T) / d + 1) ** 3, ((b @ b.T) / d + 1) ** 3, ((a @ b.T) / d + 1) ** 3
    m = a.shape[0]
    return float((k_aa.sum() - np.trace(k_aa)) / (m * (m - 1)) + (k_bb.sum() - np.trace(k_bb)) / (m * (m - 1))
                 - 2 * k_ab.mean())


@pytest.mark.parametrize("shift,scale", [(0.0, 1.0), (0.7, 1.0), (0.0, 2.0), (1.5, 0.5)])
def test_fid_matches_scipy_reference(shift, scale):
    a, b = gaussians(0), gaussians(1, shift=shift, scale=scale)
    assert frechet_distance(a, b) == pytest.approx(reference_fid(a.numpy(), b.numpy()), rel=1e-6, abs=1e-6)


def test_fid_of_known_gaussians_is_close_to_closed_form():
    # N(0, I) vs N(m, s^2 I) in d dims: |m|^2 d + d (1 - s)^2, up to sampling error.
    a, b = gaussians(0, n=20000, d=4), gaussians(1, n=20000, d=4, shift=1.0, scale=2.0)
    assert frechet_distance(a, b) == pytest.approx(4 * 1.0 + 4 * 1.0, rel=0.03)


def test_kid_on_full_sets_matches_reference_and_is_deterministic():
    a, b = gaussians(2, n=200), gaussians(3, n=200, shift=0.5)
    # One "subset" that is the whole set: the unbiased MMD of the two sets, with std 0.
    mean, std = kernel_distance(a, b, subsets=1, subset_size=200)
    assert mean == pytest.approx(reference_kid(a.numpy(), b.numpy()), rel=1e-6)
    assert std == 0.0
    assert kernel_distance(a, b, subsets=20, subset_size=50, seed=4) == kernel_distance(a, b, subsets=20, subset_size=50, seed=4)


def test_kid_of_equal_distributions_is_near_zero():
    mean, std = kernel_distance(gaussians(5, n=600), gaussians(6, n=600), subsets=20, subset_size=300)
    assert abs(mean) < 3 * std + 1e-3
