import base64
import io
import re
import shutil
import subprocess

import pytest
from PIL import Image

from gankit import api
from gankit.cli import main
from gankit.report.html import write_report
from tests.conftest import tiny_overrides

TINY_EVAL = ["train.eval_every=4", "train.sample_every=2", "train.eval_samples=200"]


@pytest.fixture(scope="module")
def toy_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "ring"
    api.train("gan", data="toy:ring8", steps=8, out=out, overrides=tiny_overrides("toy:ring8") + TINY_EVAL)
    return out


@pytest.fixture
def digits_run(tmp_path, with_digits_classifier):
    out = tmp_path / "digits"
    api.train("wgan_gp", data="digits", steps=8, out=out,
              overrides=tiny_overrides("digits") + TINY_EVAL + ["train.eval_metrics=[fid,pr,cls]"])
    return out


def images_of(page: str) -> list[str]:
    return re.findall(r'<img[^>]*src="([^"]*)"', page)


def test_training_writes_a_self_contained_report(toy_run):
    page = (toy_run / "report.html").read_text()
    for heading in ("Final metrics", "Mode plot", "Samples across training", "Loss curves", "Metric curves", "Config"):
        assert heading in page
    assert "modes_captured" in page and "floor (real vs real)" in page
    sources = images_of(page)
    assert len(sources) >= 5
    for source in sources:  # every picture is inlined and is a real PNG
        assert source.startswith("data:image/png;base64,")
        Image.open(io.BytesIO(base64.b64decode(source.split(",", 1)[1]))).verify()
    assert not re.search(r'(src|href)="(https?:|file:|//)', page)
    assert "<script" not in page


def test_image_run_report_has_feature_metrics_with_floors(digits_run):
    page = (digits_run / "report.html").read_text()
    for metric in ("fid", "precision", "recall", "cls_confident"):
        assert re.search(rf"<td>{metric}</td><td>[^<]+</td><td>[0-9.e+-]+</td>", page), metric
    assert "features: classifier" in page and "Mode plot" not in page


def test_report_verb(toy_run, tmp_path, capsys):
    out = tmp_path / "again.html"
    assert main(["report", str(toy_run), "--out", str(out)]) == 0
    assert out.is_file() and str(out) in capsys.readouterr().out
    assert main(["report", str(tmp_path)]) == 2
    assert "not a run directory" in capsys.readouterr().err


def find_chromium() -> str | None:
    return next((p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None)


CHECK = ('<script>window.addEventListener("load", () => { const all = [...document.images];'
         ' const broken = all.filter(i => !i.complete || i.naturalWidth === 0).length;'
         ' document.body.setAttribute("data-check", `images=${all.length} broken=${broken}`); });</script>')


def test_report_loads_in_a_headless_browser(toy_run, tmp_path):
    check_in_browser((toy_run / "report.html").read_text(), tmp_path)


@pytest.fixture(scope="module")
def scored_detector(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "ganomaly"
    api.train("ganomaly", data="digits", steps=4, out=out,
              overrides=tiny_overrides("digits") + ["data.anomaly_classes=[3]"])
    before = (out / "report.html").read_text()
    api.score(out, out=out.parent / "scores.csv")
    return out, before


def test_detector_report_shows_calibration_then_test_results(scored_detector):
    run, before = scored_detector
    assert "Held-out normal scores and the threshold" in before and "Run <code>gankit score</code>" in before
    assert "No metric applied" not in before
    page = (run / "report.html").read_text()
    for heading in ("Held-out normal scores", "Test scores", "ROC and precision-recall", "Test score histograms",
                    "Most and least anomalous test images"):
        assert heading in page, heading
    assert re.search(r"<td>auprc</td><td>[0-9.]+</td><td>0\.\d+</td>", page)  # beside its baseline
    assert "false-positive rate" in page and len(images_of(page)) >= len(images_of(before)) + 4


def check_in_browser(page: str, tmp_path) -> None:
    """Chromium (Debian's package; `make test` installs it when it can) opens the page: every image
    decodes and the console stays silent. The page has no scripts: the checker is added to a copy."""
    chromium = find_chromium()
    if chromium is None:
        pytest.skip("chromium not installed (apt-get install chromium)")
    checked = tmp_path / "checked.html"
    checked.write_text(page.replace("</body>", CHECK + "</body>"))
    command = [
        chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}", "--enable-logging=stderr", "--v=0",
        "--virtual-time-budget=5000", "--dump-dom", checked.as_uri(),
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=180)
    match = re.search(r'data-check="images=(\d+) broken=(\d+)"', result.stdout)
    assert match, f"the page did not finish loading: {result.stderr[-2000:]}"
    assert int(match.group(1)) == len(images_of(page)) and int(match.group(2)) == 0
    console = [line for line in result.stderr.splitlines() if ":CONSOLE" in line]
    assert console == []


def test_detector_report_loads_in_a_headless_browser(scored_detector, tmp_path):
    check_in_browser((scored_detector[0] / "report.html").read_text(), tmp_path)


def test_the_report_shows_the_run_and_why_metrics_are_missing(tmp_path):
    out = tmp_path / "quiet"
    api.train("gan", data="toy:ring8", steps=4, out=out, overrides=tiny_overrides("toy:ring8") + ["train.eval_metrics=[]"])
    page = (out / "report.html").read_text()
    assert "<h2>Run</h2>" in page and "training time" in page and "steps/s" in page and "device</td><td>cpu" in page
    assert "step-000000004.pt" in page
    assert "Not computed" in page and "train.eval_metrics is empty" in page


def test_one_evaluation_is_a_table_row_and_num_modes_never_a_curve(tmp_path):
    from gankit.report.plots import plot_metric_curves

    once = [{"kind": "eval", "step": 8, "fid": 3.0, "fid_floor": 1.0}]
    assert plot_metric_curves(once, tmp_path / "once.png") is None
    twice = [{"kind": "eval", "step": s, "num_modes": 8, "num_modes_floor": 8} for s in (4, 8)]
    assert plot_metric_curves(twice, tmp_path / "modes.png") is None


def test_eval_updates_the_report(toy_run, capsys):
    before = (toy_run / "report.html").stat().st_mtime_ns
    assert main(["eval", str(toy_run), "--n", "100", "--seed", "3"]) == 0
    assert "updated" in capsys.readouterr().out
    assert (toy_run / "report.html").stat().st_mtime_ns > before
    assert '"num_samples": 100' in (toy_run / "eval.json").read_text()
    assert "num_samples: 100" in (toy_run / "report.html").read_text()
