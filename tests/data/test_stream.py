"""BatchStream and make_stream: the documented permutation, epochs, resuming, rank shards,
the streaming path giving the same batches as the in-memory one, and two-domain data (paired
domains shuffled together, unpaired ones apart)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from gankit.config import DataConfig
from gankit.data import BatchStream, Data, TwoDomainData, load_data, make_stream
from gankit.data.stream import TwoDomainStream
from gankit.errors import GankitError

CPU = torch.device("cpu")


def numbered(count: int, labelled: bool = True) -> Data:
    """Points whose first coordinate is their own index, so batches show which examples they hold."""
    x = torch.arange(count, dtype=torch.float32)[:, None].repeat(1, 2)  # [N, 2]
    y = torch.arange(count) % 3 if labelled else None
    return Data(name="numbered", kind="points", shape=(2,), class_names=[], x=x, y=y, source=None)


def indices(stream: BatchStream, batches: int) -> list[list[int]]:
    return [next(stream)[0][:, 0].long().tolist() for _ in range(batches)]


def test_batches_follow_the_documented_permutation() -> None:
    stream = BatchStream(numbered(10), 3, seed=5, device=CPU)
    assert stream.steps_per_epoch == 3  # the tenth example is dropped
    x, y = next(stream)
    assert x.shape == (3, 2) and x.dtype == torch.float32 and y.dtype == torch.int64
    permutation = torch.randperm(10, generator=torch.Generator().manual_seed(5 * 1_000_003 + 0))
    assert x[:, 0].long().tolist() == permutation[:3].tolist()
    assert y.tolist() == (permutation[:3] % 3).tolist()


def test_same_seed_same_batches_other_seed_other_batches() -> None:
    data = numbered(50)
    first = indices(BatchStream(data, 8, seed=1, device=CPU), 12)
    assert first == indices(BatchStream(data, 8, seed=1, device=CPU), 12)
    assert first != indices(BatchStream(data, 8, seed=2, device=CPU), 12)


def test_epochs_roll_over_with_a_new_order() -> None:
    stream = BatchStream(numbered(10), 3, seed=0, device=CPU)
    epoch0 = indices(stream, 3)
    assert (stream.epoch, stream.position) == (1, 0)
    assert len({i for batch in epoch0 for i in batch}) == 9  # no example twice in an epoch
    epoch1 = indices(stream, 2)
    assert (stream.epoch, stream.position) == (1, 2)
    assert epoch1 != epoch0[:2]


@pytest.mark.parametrize("stop", [0, 2, 3, 7])  # before, inside, at and after an epoch boundary
def test_resuming_from_state_continues_exactly(stop: int) -> None:
    data = numbered(17)
    uninterrupted = indices(BatchStream(data, 4, seed=3, device=CPU), 12)
    interrupted = BatchStream(data, 4, seed=3, device=CPU)
    before = indices(interrupted, stop)
    state = interrupted.state_dict()
    assert set(state) == {"epoch", "position"} and all(isinstance(v, int) for v in state.values())
    resumed = BatchStream(data, 4, seed=3, device=CPU)
    resumed.load_state_dict(state)
    assert before + indices(resumed, 12 - stop) == uninterrupted


def test_loading_state_mid_run_restarts_the_order() -> None:
    stream = BatchStream(numbered(20), 5, seed=0, device=CPU)
    expected = indices(BatchStream(numbered(20), 5, seed=0, device=CPU), 3)
    indices(stream, 2)
    stream.load_state_dict({"epoch": 0, "position": 0})
    assert indices(stream, 3) == expected


def test_state_that_does_not_fit_is_an_error() -> None:
    stream = BatchStream(numbered(20), 5, seed=0, device=CPU)
    with pytest.raises(GankitError, match=r"does not fit 4 batches per epoch; was train.batch_size"):
        stream.load_state_dict({"epoch": 2, "position": 4})


def test_ranks_take_disjoint_equal_shards() -> None:
    data = numbered(23)
    streams = [BatchStream(data, 2, seed=4, device=CPU, rank=r, world_size=3) for r in range(3)]
    assert [s.steps_per_epoch for s in streams] == [3, 3, 3]  # 23 // 3 = 7 each, 3 batches of 2
    for _ in range(2):  # two epochs
        shards = [{i for batch in indices(s, 3) for i in batch} for s in streams]
        assert all(len(shard) == 6 for shard in shards)
        assert not (shards[0] & shards[1] or shards[0] & shards[2] or shards[1] & shards[2])
    permutation = torch.randperm(23, generator=torch.Generator().manual_seed(4 * 1_000_003))
    rank1 = BatchStream(data, 2, seed=4, device=CPU, rank=1, world_size=3)
    assert indices(rank1, 1) == [permutation[[1, 4]].tolist()]  # perm[rank::world_size]


def test_unlabelled_data_gives_minus_one() -> None:
    _, y = next(BatchStream(numbered(8, labelled=False), 4, seed=0, device=CPU))
    assert y.tolist() == [-1] * 4


def test_batch_larger_than_the_data_suggests_a_smaller_one() -> None:
    with pytest.raises(GankitError, match=r"batch_size=11 is larger than numbered \(10 examples\); use a smaller"):
        BatchStream(numbered(10), 11, seed=0, device=CPU)
    with pytest.raises(GankitError, match=r"\(10 examples, 5 per process for 2 processes\); use a smaller train"):
        BatchStream(numbered(10), 6, seed=0, device=CPU, world_size=2)
    with pytest.raises(GankitError, match=r"rank 2 is outside 0\.\.1"):
        BatchStream(numbered(10), 2, seed=0, device=CPU, rank=2, world_size=2)


@pytest.fixture(scope="module")
def image_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("stream-images")
    rng = np.random.default_rng(0)
    for k in range(26):
        path = root / f"class{k % 2}" / f"{k:02d}.png"
        path.parent.mkdir(exist_ok=True)
        Image.fromarray(rng.integers(0, 256, (6, 6, 3), dtype=np.uint8)).save(path)
    return root


@pytest.mark.parametrize("num_workers", [0, 2])
def test_streaming_gives_the_in_memory_batches(image_folder: Path, num_workers: int) -> None:
    memory = load_data(DataConfig(spec=f"folder:{image_folder}"))
    streamed = load_data(DataConfig(spec=f"folder:{image_folder}", in_memory="never"))
    assert memory.x is not None and streamed.x is None and len(memory) == len(streamed) == 20
    a = BatchStream(memory, 6, seed=9, device=CPU)
    b = BatchStream(streamed, 6, seed=9, device=CPU, num_workers=num_workers)
    for _ in range(7):  # crosses two epoch boundaries (3 batches per epoch)
        (xa, ya), (xb, yb) = next(a), next(b)
        assert torch.equal(xa, xb) and torch.equal(ya, yb)
    resumed = BatchStream(streamed, 6, seed=9, device=CPU, num_workers=num_workers)
    resumed.load_state_dict(b.state_dict())
    assert torch.equal(next(resumed)[0], next(a)[0])


def test_a_file_that_breaks_in_a_worker_gives_a_one_line_error(tmp_path: Path) -> None:
    for split in ["train", "test"]:
        (tmp_path / split).mkdir()
        Image.new("L", (8, 8)).save(tmp_path / split / "0.png")
    buffer = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (8, 8), dtype=np.uint8)).save(buffer, format="PNG")
    (tmp_path / "train" / "1.png").write_bytes(buffer.getvalue()[:-30])  # the header reads, the pixels do not
    data = load_data(DataConfig(spec=f"folder:{tmp_path}", in_memory="never"))
    with pytest.raises(GankitError, match=r"^cannot decode .*1\.png \(image file is truncated\)") as error:
        next(BatchStream(data, 2, seed=0, device=CPU, num_workers=1))
    assert "\n" not in str(error.value)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_batches_equal_cpu_batches(image_folder: Path) -> None:
    cuda = torch.device("cuda")
    for in_memory in ["always", "never"]:  # gathered on the device / pinned and copied
        data = load_data(DataConfig(spec=f"folder:{image_folder}", in_memory=in_memory))
        on_gpu = BatchStream(data, 4, seed=2, device=cuda, num_workers=1)
        on_cpu = BatchStream(data, 4, seed=2, device=CPU)
        for _ in range(6):
            (xg, yg), (xc, yc) = next(on_gpu), next(on_cpu)
            assert xg.device.type == "cuda" and yg.device.type == "cuda"
            assert torch.equal(xg.cpu(), xc) and torch.equal(yg.cpu(), yc)


def two_domains(paired: bool, sizes: tuple[int, int] = (12, 12)) -> TwoDomainData:
    a, b = numbered(sizes[0]), numbered(sizes[1])
    return TwoDomainData(name="two", kind="points", shape=(2,), class_names=[], x=None, y=None, source=None,
                         parts=(a, b), paired=paired)


def test_paired_domains_are_shuffled_together_and_unpaired_ones_apart() -> None:
    paired = make_stream(two_domains(paired=True), 4, seed=3, device=CPU, world_size=2, rank=1)
    unpaired = make_stream(two_domains(paired=False), 4, seed=3, device=CPU)
    assert isinstance(paired, TwoDomainStream) and isinstance(unpaired, TwoDomainStream)
    for _ in range(5):  # across an epoch boundary
        a, b = next(paired)
        assert torch.equal(a, b)  # example i of A stays with example i of B
    batches = [next(unpaired) for _ in range(3)]
    assert any(not torch.equal(a, b) for a, b in batches)


def test_two_domain_data_is_declared_not_probed() -> None:
    assert isinstance(make_stream(numbered(8), 4, seed=0, device=CPU), BatchStream)
    with pytest.raises(TypeError, match="make_stream"):
        BatchStream(two_domains(paired=False), 4, seed=0, device=CPU)
    with pytest.raises(GankitError, match="paired domains differ in size"):
        two_domains(paired=True, sizes=(12, 10))
    pairs = two_domains(paired=True).subset(torch.tensor([5, 2]))
    assert [part.x[:, 0].tolist() for part in pairs.parts] == [[5.0, 2.0], [5.0, 2.0]]
    with pytest.raises(GankitError, match="no common index"):
        two_domains(paired=False).subset([0])
