"""The HTTP service of ``gankit serve``: exported ONNX files behind FastAPI.

FastAPI (on Starlette, served by uvicorn) because it is the well-kept ASGI stack that
gives multipart uploads, request validation with clear 422 messages, OpenAPI docs at
/docs and an in-process TestClient, with no code of ours for any of them.

    app = create_app([Path("detector.onnx")])        # one exported file (two for CycleGAN)
    POST /score      multipart "files" (one or many images), optional forms "threshold" and "maps"
    POST /sample     JSON {"n": 16, "seed": 0, "psi": 0.7}
    POST /translate  multipart "files", optional form "direction"
    GET  /health, /model (the sidecars), / (the web page)
"""

from __future__ import annotations

import asyncio
import base64
import io
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import torch
from fastapi import FastAPI, File, Form, HTTPException, Request, UploadFile
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel, Field
from torchvision.io import encode_png

from gankit.data.images import DECODE_ERRORS, TooLargeError, decode_file, read_header, to_signed
from gankit.deploy import load
from gankit.deploy.files import to_unit
from gankit.errors import GankitError
from gankit.report.overlay import heat_overlay
from gankit.serve.batching import Batcher, Busy

MAP_SCALE = 1.0  # heat maps: |x - reconstruction| of 1 (half the [-1, 1] range) and more is the top colour
# zlib's fastest level: as lossless as any, a little larger, and several times faster to write than
# the default 6, which took about as long as a 128 px detector's inference (docs/deploy.md, Speed).
PNG_COMPRESSION = 1
MAX_SAMPLES = 64


class Limits(BaseModel):
    max_upload_bytes: int = 8 << 20  # whole request body
    max_pixels: int = 16_000_000  # per image, checked in the header before decoding (a decompression bomb)
    max_batch: int = 16  # images per ONNX Runtime call
    max_queue: int = 256  # images waiting before new requests get 503
    max_files: int = 64  # images per request


class SampleRequest(BaseModel):
    n: int = Field(16, ge=1, le=MAX_SAMPLES)
    seed: int = Field(0, ge=0, lt=2**32)
    psi: float = Field(1.0, ge=-2.0, le=2.0)


def png(image: np.ndarray | torch.Tensor) -> str:
    """One [C, H, W] image in [0, 1] (C = 1 grey or 3 RGB) as a PNG data: URL."""
    pixels = torch.as_tensor(image).mul(255).add_(0.5).clamp_(0, 255).to(torch.uint8)  # as save_image rounds
    encoded = encode_png(pixels, compression_level=PNG_COMPRESSION).numpy().tobytes()
    return "data:image/png;base64," + base64.b64encode(encoded).decode()


class BodyLimit:
    """ASGI middleware: a 413 for bodies over the limit, by Content-Length or while streaming in."""

    def __init__(self, app: Any, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        too_large = JSONResponse({"detail": f"request body over the limit of {self.max_bytes} bytes"}, 413)
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_bytes:
            return await too_large(scope, receive, send)
        seen = 0

        async def counted() -> dict:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.max_bytes:
                raise _TooLarge
            return message

        try:
            await self.app(scope, counted, send)
        except _TooLarge:
            await too_large(scope, receive, send)


class _TooLarge(Exception):
    pass


def create_app(paths: list[Path], limits: Limits | None = None, *, threads: int | None = None) -> FastAPI:
    """The service for exported ONNX files: one job, or CycleGAN's two directions; ``threads`` per
    ONNX Runtime call (default: ``gankit.deploy.load``'s)."""
    limits = limits or Limits()
    models = [load(path, threads=threads) for path in paths]
    jobs = {m.job for m in models}
    if len(jobs) != 1:
        raise GankitError(f"serve one job at a time; these files do {', '.join(sorted(jobs))}")
    if len(models[0].data_shape) != 3:
        raise GankitError(f"gankit serve shows images; {models[0].path.name} makes points of shape {models[0].data_shape}")
    by_direction = {m.info.get("direction"): m for m in models}
    batchers = {key: Batcher(lambda x, m=m: m.run({"x": x}), limits.max_batch, limits.max_queue)
                for key, m in by_direction.items() if m.job != "sample"}
    sampling = asyncio.Semaphore(1)  # sample calls run one at a time: psi is per call, so they cannot share one
    samples_waiting = 0

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        for batcher in batchers.values():
            batcher.start()
        yield
        for batcher in batchers.values():
            await batcher.stop()

    app = FastAPI(title=f"gankit serve: {models[0].info['model']}", lifespan=lifespan)
    app.add_middleware(BodyLimit, max_bytes=limits.max_upload_bytes)
    page = resources.files("gankit.serve").joinpath("page.html").read_text()
    model = models[0]
    shape = model.data_shape

    @app.exception_handler(Busy)
    async def busy(request: Request, error: Busy) -> JSONResponse:
        return JSONResponse({"detail": str(error)}, 503, headers={"Retry-After": "1"})

    @app.exception_handler(GankitError)
    async def bad_input(request: Request, error: GankitError) -> JSONResponse:
        return JSONResponse({"detail": str(error)}, 422)

    def require(job: str) -> None:
        if model.job != job:
            raise HTTPException(404, f"this service runs a {model.info['model']} '{model.job}' file; POST /{model.job}")

    async def read_uploads(files: list[UploadFile]) -> tuple[list[str], np.ndarray]:
        """Names and images [N, C, H, W] in [-1, 1], decoded as training images are; 4xx for bad uploads."""
        if not files:
            raise HTTPException(422, "no image uploaded (multipart field 'files')")
        if len(files) > limits.max_files:
            raise HTTPException(413, f"{len(files)} images in one request; the limit is {limits.max_files}")
        names, images = [], []
        for upload in files:
            name = upload.filename or f"image{len(names)}"
            data = io.BytesIO(await upload.read())
            try:
                header = read_header(data, limits.max_pixels)
                if header.grey != (shape[0] == 1):
                    wanted = "grey (1 channel)" if shape[0] == 1 else "colour (RGB, 3 channels)"
                    raise HTTPException(422, f"{name}: the model takes {wanted} images; this one is "
                                             f"{'grey' if header.grey else 'colour'}")
                data.seek(0)
                images.append(to_signed(decode_file(data, shape[0], shape[-1], limits.max_pixels)))
            except TooLargeError as error:
                raise HTTPException(413, f"{name}: {error}") from None
            except DECODE_ERRORS:
                raise HTTPException(415, f"{name} is not an image this service can read (PNG, JPEG, BMP, GIF, "
                                         "TIFF or WebP)") from None
            names.append(name)
        return names, torch.stack(images).numpy()

    @app.get("/", response_class=HTMLResponse)
    async def index() -> str:
        return page

    @app.get("/health")
    async def health() -> dict[str, Any]:
        return {"status": "ok", "model": model.info["model"], "job": model.job,
                "waiting": samples_waiting + sum(b.waiting for b in batchers.values()), "calls": sum(b.calls for b in batchers.values())}

    @app.get("/model")
    async def info() -> dict[str, Any]:
        return {"job": model.job, "files": [m.info for m in models]}

    @app.post("/score")
    async def score(files: list[UploadFile] = File(default=[]), threshold: float | None = Form(None),
                    maps: bool = Form(True)) -> dict[str, Any]:
        require("score")
        if threshold is not None and not 0 < threshold < 1:
            raise HTTPException(422, f"threshold is normalised and must be in (0, 1), got {threshold}")
        names, x = await read_uploads(files)
        out = await batchers[None].submit(x)
        threshold = model.info["calibration"]["threshold"] if threshold is None else threshold
        results = [{"name": name, "raw_score": float(out["raw_score"][i]), "score": float(out["score"][i]),
                    "decision": bool(out["score"][i] >= threshold)} for i, name in enumerate(names)]
        if maps:  # the pictures cost more than the scores for small models: a client may go without
            overlays = heat_overlay(torch.from_numpy(x), torch.from_numpy(out["map"]), MAP_SCALE)  # [N, 3, H, W]
            for i, result in enumerate(results):
                result.update(image=png(to_unit(x[i])), reconstruction=png(to_unit(out["reconstruction"][i])),
                              map=png(overlays[i]))
        return {"threshold": threshold, "results": results}

    @app.post("/translate")
    async def translate(files: list[UploadFile] = File(default=[]), direction: str | None = Form(None)) -> dict[str, Any]:
        require("translate")
        direction = direction or next(iter(by_direction))
        if direction not in by_direction:
            raise HTTPException(422, f"direction {direction!r} is not served; served: {', '.join(by_direction)}")
        names, x = await read_uploads(files)
        out = await batchers[direction].submit(x)
        return {"direction": direction, "results": [
            {"name": name, "image": png(to_unit(x[i])), "translation": png(to_unit(out["image"][i]))}
            for i, name in enumerate(names)]}

    @app.post("/sample")
    async def sample(request: SampleRequest) -> dict[str, Any]:
        nonlocal samples_waiting
        require("sample")
        if samples_waiting + request.n > limits.max_queue:
            raise Busy(f"busy: {samples_waiting} samples are waiting (limit {limits.max_queue}); retry shortly")
        samples_waiting += request.n
        try:
            async with sampling:
                images = await asyncio.to_thread(model.sample, request.n, request.seed, request.psi)
        finally:
            samples_waiting -= request.n
        return {"n": request.n, "seed": request.seed, "psi": request.psi, "images": [png(to_unit(i)) for i in images]}

    return app
