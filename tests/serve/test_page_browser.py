"""The served web page in a real browser (Debian's headless Chromium, driven by Playwright):
pick images, see image | reconstruction | heat map with scores and decisions, move the threshold
slider and see the decisions change. Writes a screenshot. Skips without Chromium or Playwright."""

import socket
import threading
import time

import numpy as np
import pytest
from PIL import Image

from tests.report.test_html import find_chromium

pytest.importorskip("fastapi")
pytest.importorskip("onnxruntime")
uvicorn = pytest.importorskip("uvicorn")

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(export_of):
    from gankit.serve.app import create_app

    config = uvicorn.Config(create_app(export_of("ganomaly")), host="127.0.0.1", port=free_port(), log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "uvicorn did not start"
    yield f"http://127.0.0.1:{config.port}/"
    server.should_exit = True
    thread.join(timeout=10)


def test_page_scores_picked_images_and_the_slider_moves_decisions(server, tmp_path):
    chromium = find_chromium()
    if chromium is None:
        pytest.skip("chromium not installed (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    images = []
    for i in range(4):
        path = tmp_path / f"digit{i}.png"
        Image.fromarray(np.random.default_rng(i).integers(0, 256, (16, 16), np.uint8), "L").save(path)
        images.append(str(path))
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch_persistent_context(
            str(tmp_path / "profile"), executable_path=chromium, headless=True, args=FLAGS,
            viewport={"width": 1000, "height": 800},
        )
        try:
            page = browser.new_page()
            console = []
            page.on("console", lambda message: console.append(message.text) if message.type == "error" else None)
            page.goto(server)
            page.wait_for_selector("body[data-ready=true]", timeout=30_000)
            assert page.inner_text("#title") == "gankit serve: ganomaly"
            page.set_input_files("#files", images)
            page.wait_for_selector("tr.result >> nth=3", timeout=30_000)
            assert page.eval_on_selector_all("tr.result img", "all => all.filter(i => i.naturalWidth > 0).length") == 12
            scores = [float(s.split()[0]) for s in page.eval_on_selector_all("tr.result td:nth-child(5)", "c => c.map(e => e.textContent)")]

            def decisions_at(value: float) -> list[str]:
                page.eval_on_selector("#threshold", "(e, v) => { e.value = v; e.dispatchEvent(new Event('input')); }", str(value))
                return page.eval_on_selector_all("td.decision", "c => c.map(e => e.textContent)")

            assert decisions_at(0.01) == ["anomalous" if s >= 0.01 else "normal" for s in scores]
            assert decisions_at(0.99) == ["anomalous" if s >= 0.99 else "normal" for s in scores]
            assert decisions_at(0.01) != decisions_at(0.99) or len(set(scores)) == 1
            decisions_at(0.5)
            page.screenshot(path=str(tmp_path / "serve-page.png"), full_page=True)
            assert console == []
        finally:
            browser.close()
    assert Image.open(tmp_path / "serve-page.png").size[0] == 1000
