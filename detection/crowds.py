"""People estimates: detected boxes fused with CSRNet density counts on crowd crops.

Boxes saturate in a crowd (a nano detector finds eight of seventy packed heads), and density maps
count ground texture as people where there is no crowd. So the two are fused per crowd:

1. Crowds are DBSCAN clusters of the detected people on the ground (``gathering.eps_m``,
   ``density.min_boxes``); without ground positions (no pose) nothing is counted by density.
2. Each crowd's crop (its boxes plus a margin) is resized so that its people are
   ``density.target_person_px`` tall and counted by CSRNet on the density worker's thread
   (:class:`detection.density.DensityWorker`): photos wait for it, video never does (a count
   applies to the same crowd for ``density.max_age_s`` of frame time).
3. A crowd's estimate is the boxes in its crop, unless CSRNet counts at least
   ``saturation_ratio`` times more (the detector saturated in a packed crowd): then CSRNet's
   count, capped by what the crop's ground can physically hold (``max_people_m2``) and by
   ``max_ratio`` times the boxes.
4. The frame's ``people_estimate`` is the box count plus, per crowd, what CSRNet adds over the
   boxes inside its crop.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

import numpy as np

from detection.density import (
    DensityCounter,
    DensityRequest,
    DensityResult,
    DensityWorker,
    crowd_crop,
)
from detection.gatherings import cluster_positions
from detection.geometry import CameraIntrinsics, ground_offsets
from detection.settings import DetectionSettings

log = logging.getLogger(__name__)


@dataclass
class Crowd:
    """One crowd of a frame.

    Attributes:
        members: Indices of its detections in the frame's raw detections.
        crop_xyxy: The crop counted by density, frame pixels.
        boxes_in_crop: Detections whose centre lies in the crop.
        density_count: CSRNet's count (capped), or None when not (yet) counted.
        people_estimate: Fused estimate of people in the crop.
    """

    members: np.ndarray
    crop_xyxy: tuple[int, int, int, int]
    boxes_in_crop: int
    centroid_xy: tuple[float, float]
    radius_m: float
    density_count: float | None = None
    people_estimate: float = 0.0


@dataclass
class CrowdEstimate:
    """Crowds and the fused people estimate of one frame.

    Attributes:
        crowds: :class:`Crowd` list.
        people_estimate: People in the frame (boxes + what density adds in crowds).
        density_ms: Density time spent on this frame's thread (0 for video: it waits for nothing).
    """

    crowds: list[Crowd] = field(default_factory=list)
    people_estimate: float = 0.0
    density_ms: float = 0.0

    def estimate_for(self, members: np.ndarray) -> float:
        """Fused estimate of the crowd with these members (their count when none matches)."""
        key = frozenset(int(i) for i in members)
        for c in self.crowds:
            if frozenset(int(i) for i in c.members) == key:
                return c.people_estimate
        return float(len(members))


def _polygon_area_m2(en: np.ndarray) -> float:
    x, y = en[:, 0], en[:, 1]
    return float(0.5 * abs(np.dot(x, np.roll(y, 1)) - np.dot(y, np.roll(x, 1))))


def fuse(
    boxes_in_crop: int, density: float | None, saturation_ratio: float, max_ratio: float
) -> float:
    """A crowd's people estimate: the boxes, or CSRNet's count where the boxes saturated.

    Args:
        boxes_in_crop: Detected people in the crop.
        density: CSRNet's count (already capped by ground area), or None.
        saturation_ratio: CSRNet replaces the boxes when it counts at least this multiple.
        max_ratio: CSRNet is trusted up to this multiple of the boxes.

    Returns:
        ``min(density, max_ratio * boxes)`` when ``density >= saturation_ratio * boxes``, else
        the boxes.
    """
    if density is None or density < saturation_ratio * boxes_in_crop:
        return float(boxes_in_crop)
    return float(max(boxes_in_crop, min(density, max_ratio * boxes_in_crop)))


class CrowdCounter:
    """Finds crowds in a frame's detections and fuses density counts into people estimates.

    Args:
        settings: The ``detection`` section (``density`` and ``gathering.eps_m`` are used).
        stills: Photos: wait for the density counts of the same frame (up to
            ``density.timeout_s``). Video: never wait; use counts of earlier frames.
        counter_factory: Builds the :class:`DensityCounter` (default: from the settings).
        on_error: Called once if the density model cannot be loaded.
    """

    def __init__(
        self,
        settings: DetectionSettings,
        stills: bool = False,
        counter_factory=None,
        on_error=None,
    ) -> None:
        self.settings = settings
        self.stills = stills
        d = settings.density
        self._factory = counter_factory or (lambda: DensityCounter(d.weights, threads=d.threads))
        self._on_error = on_error
        self.worker: DensityWorker | None = None
        self._known: list[DensityResult] = []
        self._known_at: dict[int, tuple[tuple[float, float], float]] = {}
        self._next_key = 1
        self._last_submit = -1e18

    @property
    def enabled(self) -> bool:
        """Density counting is on and its model has not failed."""
        return self.settings.density.enabled and (self.worker is None or self.worker.failed is None)

    def _ensure_worker(self) -> DensityWorker:
        if self.worker is None:
            self.worker = DensityWorker(self._factory, on_error=self._on_error)
        return self.worker

    def estimate(
        self,
        image: np.ndarray,
        xyxy: np.ndarray,
        xy_m: np.ndarray,
        frame_index: int,
        t_s: float,
        intr: CameraIntrinsics | None = None,
        pose=None,
        ground_kw: dict | None = None,
    ) -> CrowdEstimate:
        """Crowds and the fused people estimate of one frame.

        Args:
            image: The BGR frame.
            xyxy: (N, 4) detected person boxes.
            xy_m: (N, 2) their ground positions (NaN where not projected).
            frame_index, t_s: The frame's index and time.
            intr, pose, ground_kw: Camera of the frame, to cap counts by the crop's ground area.

        Returns:
            :class:`CrowdEstimate`.
        """
        n = len(xyxy)
        out = CrowdEstimate(people_estimate=float(n))
        d = self.settings.density
        if n < d.min_boxes or not self.enabled:
            return out
        h, w = image.shape[:2]
        for members in cluster_positions(xy_m, self.settings.gathering.eps_m, d.min_boxes):
            crop, _scale = crowd_crop(
                xyxy[members], (w, h), d.pad_heights, d.target_person_px, d.max_pixels
            )
            cx = (xyxy[:, 0] + xyxy[:, 2]) / 2
            cy = (xyxy[:, 1] + xyxy[:, 3]) / 2
            inside = int(
                np.count_nonzero(
                    (cx >= crop[0]) & (cx < crop[2]) & (cy >= crop[1]) & (cy < crop[3])
                )
            )
            pts = xy_m[members]
            c = pts.mean(axis=0)
            radius = float(np.max(np.hypot(*(pts - c).T)))
            out.crowds.append(Crowd(members, crop, inside, (float(c[0]), float(c[1])), radius))
        if not out.crowds:
            return out
        requests = []
        for crowd in out.crowds:
            crop, scale = crowd_crop(
                xyxy[crowd.members], (w, h), d.pad_heights, d.target_person_px, d.max_pixels
            )
            cap = self._ground_cap(crop, intr, pose, ground_kw)
            key = self._next_key
            self._next_key += 1
            self._known_at[key] = (crowd.centroid_xy, crowd.radius_m)
            requests.append(DensityRequest(key, crop, scale, crowd.boxes_in_crop, cap))
        worker = self._ensure_worker()
        t0 = time.perf_counter()
        if self.stills:
            job = worker.submit(image, requests, frame_index, t_s)
            results = worker.wait(job, d.timeout_s) if job is not None else []
            by_key = {r.key: r for r in results}
            for crowd, req in zip(out.crowds, requests, strict=True):
                r = by_key.get(req.key)
                crowd.density_count = r.count if r is not None else None
            out.density_ms = (time.perf_counter() - t0) * 1000
        else:
            self._collect(t_s)
            due = worker.idle() and t_s - self._last_submit >= d.interval_s
            if due and worker.submit(image.copy(), requests, frame_index, t_s) is not None:
                self._last_submit = t_s
            for crowd in out.crowds:
                r = self._match(crowd)
                crowd.density_count = r.count if r is not None else None
        extra = 0.0
        for crowd in out.crowds:
            crowd.people_estimate = max(
                float(len(crowd.members)),
                fuse(crowd.boxes_in_crop, crowd.density_count, d.saturation_ratio, d.max_ratio),
            )
            extra += max(0.0, crowd.people_estimate - crowd.boxes_in_crop)
        out.people_estimate = float(n) + extra
        return out

    def _ground_cap(self, crop, intr, pose, ground_kw) -> float | None:
        if intr is None or pose is None:
            return None
        x1, y1, x2, y2 = crop
        corners = np.array([[x1, y1], [x2, y1], [x2, y2], [x1, y2]], float)
        en = ground_offsets(intr, pose, corners, **(ground_kw or {}))
        if np.isnan(en).any():
            return None
        return _polygon_area_m2(en) * self.settings.density.max_people_m2

    def _collect(self, t_s: float) -> None:
        if self.worker is not None:
            self._known.extend(self.worker.results())
        age = self.settings.density.max_age_s
        self._known = [r for r in self._known if t_s - r.t_s <= age]
        if len(self._known_at) > 256:  # requests whose results are gone or never came
            keep = {r.key for r in self._known} | set(sorted(self._known_at)[-64:])
            self._known_at = {k: v for k, v in self._known_at.items() if k in keep}

    def _match(self, crowd: Crowd) -> DensityResult | None:
        best, best_d = None, float("inf")
        for r in self._known:
            where = self._known_at.get(r.key)
            if where is None:
                continue
            (x, y), radius = where
            dist = float(np.hypot(crowd.centroid_xy[0] - x, crowd.centroid_xy[1] - y))
            if dist <= max(radius, crowd.radius_m, self.settings.gathering.eps_m) and dist < best_d:
                best, best_d = r, dist
        return best

    def reset(self) -> None:
        """Forget density counts of earlier frames."""
        self._known.clear()
        self._known_at.clear()

    def close(self) -> None:
        """Stop the density worker."""
        if self.worker is not None:
            self.worker.stop()
