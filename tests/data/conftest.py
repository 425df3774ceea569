"""Builders of small datasets and a local HTTP server, for the tests of repalign.data."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from repalign.data.peterson import DOMAINS, ORIGINAL_RELEASE


@pytest.fixture(autouse=True)
def _own_data_dir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh data folder (and so a fresh dataset registry) for every test of repalign.data."""
    folder = tmp_path_factory.mktemp("data-dir")
    monkeypatch.setenv("REPALIGN_DATA", str(folder))
    return folder


def random_similarity(n: int, rng: np.random.Generator, *, scale: float = 1.0, levels: int | None = None) -> np.ndarray:
    """A symmetric similarity matrix with ``scale`` on the diagonal (optionally rounded to ``levels`` steps)."""
    x = rng.normal(size=(n, 3))
    d = np.sqrt(((x[:, None] - x[None]) ** 2).sum(-1))
    s = np.exp(-d)
    if levels:
        s = np.round(s * levels) / levels
    np.fill_diagonal(s, 1.0)
    return s * scale


def write_labeled(path: Path, ids: Sequence[str], m: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(m, index=list(ids), columns=list(ids)).rename_axis("stimulus").to_csv(path)
    return path


def write_image(path: Path, color: tuple[int, int, int] = (200, 30, 30), size: int = 4) -> Path:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (size, size), color).save(path)
    return path


def domain_ids(domain: str, n: int) -> list[str]:
    stems = ["bar-stool", "arm-chair", "lamp"]
    return sorted(f"{stems[i % 3]}-{i:02d}.png" for i in range(n))


def make_folders_copy(root: Path, rng: np.random.Generator, *, n: int = 6, images: Sequence[str] = ("animals", "fruits"),
                      halves: Sequence[str] = ("animals",), domains: Sequence[str] = DOMAINS) -> dict[str, np.ndarray]:
    """A Peterson copy in the folders layout; returns the matrices by domain."""
    mats = {}
    for d in domains:
        ids = domain_ids(d, n)
        m = random_similarity(n, rng, levels=20)
        if d in halves:  # as in the real data: the full matrix is the mean of the halves, rescaled
            noise = rng.normal(0, 0.5, size=(2, n, n))
            hs = []
            for half, e in zip(("first", "second"), noise):
                h = np.round(10 * m + e + e.T, 1)
                np.fill_diagonal(h, 10.0)
                hs.append(h)
                write_labeled(root / "split_halves" / f"{d}_{half}_half.csv", ids, h)
            m = (hs[0] + hs[1]) / 20
        mats[d] = m
        write_labeled(root / "similarity" / f"{d}.csv", ids, m)
        if d in images:
            for i, x in enumerate(ids):
                write_image(root / "images" / d / x, (i * 20 % 256, 10, 10))
    return mats


def make_original_copy(root: Path, rng: np.random.Generator, *, n: int = 6, images: Sequence[str] = ("animals", "fruits"),
                       variables: dict[str, str] | None = None, domains: Sequence[str] = DOMAINS,
                       image_folder: str = "images") -> dict[str, tuple[list[str], np.ndarray]]:
    """A Peterson copy in the original release layout, .mat files written with scipy.io.savemat."""
    from scipy.io import savemat

    out = {}
    for d in domains:
        spec = ORIGINAL_RELEASE[d]
        var = (variables or {}).get(d) or spec.variable or f"simMatrix_{d}"
        m = random_similarity(n, rng, scale=10.0)
        folder = root / d
        folder.mkdir(parents=True)
        savemat(folder / spec.filename, {var: m})
        ids = [f"{d}{i + 1}.jpg" for i in range(n)]
        if d in images:
            for x in ids:
                write_image(folder / image_folder / x)
        out[d] = (sorted(ids), m)
    return out


@pytest.fixture
def folders_copy(tmp_path: Path, rng: np.random.Generator) -> tuple[Path, dict[str, np.ndarray]]:
    root = tmp_path / "peterson_folders"
    return root, make_folders_copy(root, rng)


# -- a local HTTP server ------------------------------------------------------------------


@dataclass
class ServerState:
    files: dict[str, bytes] = field(default_factory=dict)
    cut_first: dict[str, int] = field(default_factory=dict)  # path -> bytes sent before dropping the 1st request
    ignore_range: bool = False
    requests: list[tuple[str, str | None]] = field(default_factory=list)  # (path, Range header)


class _Handler(BaseHTTPRequestHandler):
    state: ServerState

    def log_message(self, *args: object) -> None:  # keep test output quiet
        pass

    def do_GET(self) -> None:  # noqa: N802 - http.server API
        state = self.server.state  # type: ignore[attr-defined]
        rng_header = self.headers.get("Range")
        state.requests.append((self.path, rng_header))
        body = state.files.get(self.path)
        if body is None:
            self.send_error(404, "Not Found")
            return
        start = 0
        if rng_header and not state.ignore_range:
            start = int(rng_header.split("=")[1].split("-")[0])
            if start >= len(body):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(body)}")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
        else:
            self.send_response(200)
        payload = body[start:]
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        cut = state.cut_first.pop(self.path, None)
        if cut is not None:
            self.wfile.write(payload[:cut])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(payload)


@pytest.fixture
def http_server() -> Iterator[tuple[str, ServerState]]:
    """A server on 127.0.0.1 (random port) serving ``state.files``; yields (base URL, state)."""
    state = ServerState()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.state = state  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
