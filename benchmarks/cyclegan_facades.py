"""Benchmark: CycleGAN between CMP facade label maps (coloured with a fixed palette) and
facade photos at 64 px, strictly unpaired: the 378 pairs are split into 50 withheld
test pairs and two disjoint training halves, label maps from one half and photos from
the other, so no training image's partner is ever in training. On the test pairs it
reports the L1 between each translation and its true partner, beside returning the
input unchanged and beside the mean training image of the target domain.

    PYTHONPATH=src:. python benchmarks/cyclegan_facades.py --steps 2000
    # -> docs/benchmarks/cyclegan_facades.{json,md}, docs/figures/cyclegan_facades.png
"""

from __future__ import annotations

import argparse
import datetime
import json
import resource
import shutil
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

import gankit
from gankit.config import DataConfig
from gankit.data import load_data
from gankit.metrics.translation import cycle_l1
from gankit.report.plots import save_image_grid

ROOT = Path(__file__).resolve().parents[1]
SIZE = 64
TEST_PAIRS = 50
# The CMP database's own colours for labels 1..12 (background dark blue, ... pillar dark red).
PALETTE = np.array(
    [(0, 0, 0), (0, 0, 170), (0, 0, 255), (0, 85, 255), (0, 170, 255), (0, 255, 255), (85, 255, 170),
     (170, 255, 85), (255, 255, 0), (255, 170, 0), (255, 85, 0), (255, 0, 0), (170, 0, 0)],
    dtype=np.uint8,
)
# Stated for the benchmark: narrower nets than the paper's (64 channels, 6 blocks) to fit a shared CPU.
NETWORK = {"model.g_width": 16, "model.blocks": 4, "model.d_width": 32, "model.d_layers": 3}


def label_image(path: Path) -> Image.Image:
    """The label map resized with nearest neighbours (labels never blend), coloured by PALETTE."""
    labels = np.array(Image.open(path).resize((SIZE, SIZE), Image.NEAREST))  # [H, W] values 1..12
    return Image.fromarray(PALETTE[labels])


def photo_image(path: Path) -> Image.Image:
    # Squashed to a square like pix2pix's 256x256 facades, so a photo and its label map stay aligned.
    return Image.open(path).convert("RGB").resize((SIZE, SIZE), Image.BICUBIC)


def prepare(source: Path, cache: Path) -> dict[str, list[str]]:
    """Write trainA (label maps), trainB (photos), testA, testB as 64 px PNGs under ``cache``."""
    names = sorted(p.stem for p in source.glob("cmp_b*.jpg"))
    order = torch.randperm(len(names), generator=torch.Generator().manual_seed(0)).tolist()
    test = [names[i] for i in order[:TEST_PAIRS]]
    rest = [names[i] for i in order[TEST_PAIRS:]]
    split = {"trainA": rest[: len(rest) // 2], "trainB": rest[len(rest) // 2 :], "testA": test, "testB": test}
    shutil.rmtree(cache, ignore_errors=True)
    for folder, members in split.items():
        (cache / folder).mkdir(parents=True)
        for name in members:
            image = label_image(source / f"{name}.png") if folder.endswith("A") else photo_image(source / f"{name}.jpg")
            image.save(cache / folder / f"{name}.png")
    return split


def load_folder_images(folder: Path) -> torch.Tensor:
    files = sorted(folder.glob("*.png"))
    arrays = [np.array(Image.open(f).convert("RGB")) for f in files]
    return torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).float().div(127.5).sub(1)  # [N, 3, H, W]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--facades", default=str(ROOT.parent / "shared" / "data" / "cmp-facades" / "base"))
    parser.add_argument("--cache", default="/tmp/gankit-facades-64", help="where the 64 px PNGs are written")
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--out", default=str(ROOT / "runs" / "bench-cyclegan-facades"))
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    cache = Path(args.cache)
    split = prepare(Path(args.facades), cache)
    assert not set(split["trainA"]) & set(split["trainB"]) and not set(split["testA"]) & set(split["trainA"] + split["trainB"])
    spec = f"unpaired:{cache / 'trainA'},{cache / 'trainB'}"
    shutil.rmtree(args.out, ignore_errors=True)

    start = time.time()
    overrides = {**NETWORK, "data.image_size": SIZE, "data.channels": 3, "model.constant_steps": args.steps // 2,
                 "model.decay_steps": args.steps - args.steps // 2, "train.sample_every": 500,
                 "train.checkpoint_every": 1000, "train.log_every": 50}
    run = gankit.train("cyclegan", data=spec, steps=args.steps, batch_size=1, out=args.out,
                       overrides=overrides, progress=False)
    train_seconds = time.time() - start
    model = gankit.load(run.run_dir)
    used = load_data(DataConfig(spec=spec, image_size=SIZE, channels=3))

    labels, photos = load_folder_images(cache / "testA"), load_folder_images(cache / "testB")  # true pairs, same order
    train_photos = load_folder_images(cache / "trainB")
    train_labels = load_folder_images(cache / "trainA")
    fake_photos, fake_labels = model.translate(labels, "a2b"), model.translate(photos, "b2a")

    def l1(x: torch.Tensor, y: torch.Tensor) -> float:
        return (x - y).abs().mean().item()

    results = {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "steps": args.steps, "batch_size": 1, "size": SIZE, "network": NETWORK, "threads": args.threads,
        "torch": torch.__version__, "train_minutes": train_seconds / 60,
        "train_labels_seen": len(used.parts[0]), "train_photos_seen": len(used.parts[1]), "test_pairs": len(labels),
        "l1_labels_to_photo": l1(fake_photos, photos),
        "l1_identity_labels_to_photo": l1(labels, photos),
        "l1_mean_photo": l1(train_photos.mean(0, keepdim=True).expand_as(photos), photos),
        "l1_photo_to_labels": l1(fake_labels, labels),
        "l1_identity_photo_to_labels": l1(photos, labels),
        "l1_mean_labels": l1(train_labels.mean(0, keepdim=True).expand_as(labels), labels),
        **cycle_l1(model, labels, photos),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }
    k = 8
    rows = [labels[:k], fake_photos[:k], photos[:k], photos[:k], fake_labels[:k], labels[:k]]
    figure = save_image_grid(torch.cat(rows), ROOT / "docs" / "figures" / "cyclegan_facades.png", nrow=k)
    out = ROOT / "docs" / "benchmarks"
    out.mkdir(parents=True, exist_ok=True)
    (out / "cyclegan_facades.json").write_text(json.dumps(results, indent=2) + "\n")
    (out / "cyclegan_facades.md").write_text(markdown(results, figure.relative_to(ROOT / "docs")))
    print(json.dumps(results, indent=2))


def markdown(r: dict, figure: Path) -> str:
    return f"""L1 to the withheld true partner (mean absolute error per pixel on the [-1, 1] scale, lower is better),
{r['test_pairs']} test pairs never used in training:

| | label map -> photo (A -> B) | photo -> label map (B -> A) |
|---|---|---|
| CycleGAN translation | **{r['l1_labels_to_photo']:.4f}** | **{r['l1_photo_to_labels']:.4f}** |
| identity baseline (input returned unchanged) | {r['l1_identity_labels_to_photo']:.4f} | {r['l1_identity_photo_to_labels']:.4f} |
| mean training image of the target domain | {r['l1_mean_photo']:.4f} | {r['l1_mean_labels']:.4f} |
| cycle L1 (reconstruction of the input) | {r['cycle_l1_a']:.4f} | {r['cycle_l1_b']:.4f} |

Training: {r['train_labels_seen']} label maps and {r['train_photos_seen']} photos from disjoint halves of the
remaining pairs (the folder loader's train split, 80% of each half), {r['size']} px, batch {r['batch_size']},
{r['steps']} steps ({r['train_minutes']:.1f} min), peak memory {r['peak_rss_mb']:.0f} MB; torch {r['torch']},
{r['threads']} thread; {r['date']}.

![facades: label maps to photos and back]({figure})

Rows: test label maps, their translations to photos, the true photos; test photos, their
translations to label maps, the true label maps.
"""


if __name__ == "__main__":
    main()
