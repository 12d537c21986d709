"""Model tests run on one intra-op thread: their tensors are tiny, and on a small shared CPU
extra threads only contend (tiny convolutions ran 10x slower with two)."""

import pytest
import torch


@pytest.fixture(autouse=True, scope="session")
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
