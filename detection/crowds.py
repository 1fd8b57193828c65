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
4. Where the detector found too few people to make a crowd (a packed crowd seen from low and far:
   heads only), a whole-frame pass (``density.frame_pass``) counts the frame at the scale the
   pose gives people; ground where CSRNet finds at least ``crowd_m2`` people per square metre
   (averaged over ``window_m``) forms packed-crowd regions. Texture on sparse frames stays far
   below that (measured: under 0.5 per m^2 on every sparse real frame). Video uses the newest
   pass only while the camera holds still (hovering).
5. The frame's ``people_estimate`` is the box count plus, per crowd or region, what CSRNet adds
   over the boxes inside it (a crowd inside a region is counted once).
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
from detection.envelope import apparent_person_m
from detection.gatherings import cluster_positions
from detection.geometry import CameraIntrinsics, ground_offsets, gsd_cm_px
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


def _inside(xyxy: np.ndarray, crop) -> int:
    """Boxes whose centre lies inside a crop ``(x1, y1, x2, y2)``."""
    if len(xyxy) == 0:
        return 0
    cx = (xyxy[:, 0] + xyxy[:, 2]) / 2
    cy = (xyxy[:, 1] + xyxy[:, 3]) / 2
    x1, y1, x2, y2 = crop
    return int(np.count_nonzero((cx >= x1) & (cx < x2) & (cy >= y1) & (cy < y2)))


def _moved(a, b, metres: float = 2.0, degrees: float = 5.0) -> bool:
    """The camera moved or turned between two poses (more than ``metres`` / ``degrees``)."""
    from missions.geo import distance_m

    if distance_m(a.lat_deg, a.lon_deg, b.lat_deg, b.lon_deg) > metres:
        return True
    turned = abs((a.camera_yaw_deg - b.camera_yaw_deg + 180) % 360 - 180)
    return turned > degrees or abs(a.gimbal_pitch_deg - b.gimbal_pitch_deg) > degrees


def _holding(a, b, speed_m_s: float = 0.5) -> bool:
    """The camera holds still between two consecutive poses (slower than ``speed_m_s``, no turn)."""
    from missions.geo import distance_m

    dt = abs(b.t_s - a.t_s)
    if dt <= 0 or _moved(a, b, degrees=2.0):
        return dt <= 0 and not _moved(a, b, metres=0.05, degrees=0.5)
    return distance_m(a.lat_deg, a.lon_deg, b.lat_deg, b.lon_deg) / dt < speed_m_s


def _overlaps(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


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
        origin: ``f(pose) -> (east_m, north_m)`` of the camera in the caller's local frame (the
            whole-frame pass places its crowds with it); None: relative to the camera.
        idle: The density worker runs only on spare CPU (:class:`DensityWorker`); default: for
            video (not ``stills``).
    """

    def __init__(
        self,
        settings: DetectionSettings,
        stills: bool = False,
        counter_factory=None,
        on_error=None,
        origin=None,
        idle: bool | None = None,
    ) -> None:
        self.settings = settings
        self.stills = stills
        self.spare_cpu_only = (not stills) if idle is None else idle
        d = settings.density
        self._factory = counter_factory or (lambda: DensityCounter(d.weights, threads=d.threads))
        self._on_error = on_error
        self.worker: DensityWorker | None = None
        self._known: list[DensityResult] = []
        self._known_at: dict[int, tuple[tuple[float, float], float]] = {}
        self._next_key = 1
        self._last_submit = -1e18
        self._frame_keys: set[int] = set()
        self._frame_pose: dict = {}
        self._last_pose = None
        self._origin = origin

    @property
    def enabled(self) -> bool:
        """Density counting is on and its model has not failed."""
        return self.settings.density.enabled and (self.worker is None or self.worker.failed is None)

    def _ensure_worker(self) -> DensityWorker:
        if self.worker is None:
            self.worker = DensityWorker(
                self._factory, on_error=self._on_error, idle=self.spare_cpu_only
            )
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
            intr, pose, ground_kw: Camera of the frame (ground areas: the cap of a crop, the
                people per square metre of the whole-frame pass).

        Returns:
            :class:`CrowdEstimate`.
        """
        n = len(xyxy)
        out = CrowdEstimate(people_estimate=float(n))
        d = self.settings.density
        if not self.enabled:
            return out
        h, w = image.shape[:2]
        requests = []
        if n >= d.min_boxes:
            for members in cluster_positions(xy_m, self.settings.gathering.eps_m, d.min_boxes):
                crop, scale = crowd_crop(
                    xyxy[members], (w, h), d.pad_heights, d.target_person_px, d.max_pixels
                )
                pts = xy_m[members]
                c = pts.mean(axis=0)
                radius = float(np.max(np.hypot(*(pts - c).T)))
                crowd = Crowd(
                    members, crop, _inside(xyxy, crop), (float(c[0]), float(c[1])), radius
                )
                out.crowds.append(crowd)
                cap = self._ground_cap(crop, intr, pose, ground_kw)
                key = self._new_key(crowd.centroid_xy, crowd.radius_m)
                requests.append(DensityRequest(key, crop, scale, crowd.boxes_in_crop, cap))
        frame_req = self._frame_request(w, h, intr, pose, ground_kw)
        if frame_req is not None:
            requests.append(frame_req)
        if not requests:
            return out
        worker = self._ensure_worker()
        t0 = time.perf_counter()
        frame_result = None
        if self.stills:
            job = worker.submit(image, requests, frame_index, t_s)
            results = worker.wait(job, d.timeout_s) if job is not None else []
            by_key = {r.key: r for r in results}
            for crowd, req in zip(out.crowds, requests, strict=False):
                r = by_key.get(req.key)
                crowd.density_count = r.count if r is not None else None
            if frame_req is not None:
                frame_result = by_key.get(frame_req.key)
            out.density_ms = (time.perf_counter() - t0) * 1000
        else:
            self._collect(t_s)
            due = worker.idle() and t_s - self._last_submit >= d.interval_s
            if due and worker.submit(image.copy(), requests, frame_index, t_s) is not None:
                self._last_submit = t_s
            for crowd in out.crowds:
                r = self._match(crowd)
                crowd.density_count = r.count if r is not None else None
            frame_result = self._latest_frame_result(pose)
        for crowd in out.crowds:
            crowd.people_estimate = max(
                float(len(crowd.members)),
                fuse(crowd.boxes_in_crop, crowd.density_count, d.saturation_ratio, d.max_ratio),
            )
        regions = []
        if frame_result is not None and frame_result.density_map is not None:
            regions = self._regions(frame_result, xyxy, intr, pose, ground_kw)
        extra = 0.0
        for crowd in out.crowds:
            if not any(_overlaps(crowd.crop_xyxy, r.crop_xyxy) for r in regions):
                extra += max(0.0, crowd.people_estimate - crowd.boxes_in_crop)
        for region in regions:
            inner = [c for c in out.crowds if _overlaps(c.crop_xyxy, region.crop_xyxy)]
            region.people_estimate = max(
                region.people_estimate, *(c.people_estimate for c in inner), 0.0
            )
            extra += max(0.0, region.people_estimate - region.boxes_in_crop)
        out.crowds.extend(regions)
        out.people_estimate = float(n) + extra
        return out

    def _new_key(self, centroid_xy, radius_m) -> int:
        key = self._next_key
        self._next_key += 1
        self._known_at[key] = (centroid_xy, radius_m)
        return key

    def _frame_request(self, w, h, intr, pose, ground_kw) -> DensityRequest | None:
        """The whole frame at the scale the pose gives people (``target_person_px`` tall)."""
        d = self.settings.density
        if not d.frame_pass or intr is None or pose is None or pose.alt_m <= 0:
            return None
        last, self._last_pose = self._last_pose, pose
        if not self.stills and (last is None or not _holding(last, pose)):
            return None  # video: only while the camera holds still (its counts apply then)
        gsd = gsd_cm_px(intr, pose, **(ground_kw or {}))
        if gsd is None:
            return None
        native = apparent_person_m(pose.gimbal_pitch_deg) / (gsd / 100.0)
        scale = min(d.target_person_px / native, (d.max_pixels / (w * h)) ** 0.5)
        key = self._next_key
        self._next_key += 1
        self._frame_keys.add(key)
        self._frame_pose[key] = pose
        return DensityRequest(key, (0, 0, w, h), float(scale), 0, None, keep_map=True)

    def _latest_frame_result(self, pose) -> DensityResult | None:
        """Video: the newest whole-frame count, if the camera has not moved since (hovering)."""
        best = None
        for r in self._known:
            if r.key in self._frame_keys and (best is None or r.t_s > best.t_s):
                best = r
        if best is None or pose is None:
            return None
        then = self._frame_pose.get(best.key)
        if then is None:
            return None
        return None if _moved(then, pose) else best

    def _regions(self, r: DensityResult, xyxy, intr, pose, ground_kw) -> list[Crowd]:
        """Packed crowds of a whole-frame density map: ground where people per m^2 (averaged
        over ``window_m``) reach ``crowd_m2``, in connected regions of at least
        ``gathering.min_people`` people."""
        import cv2

        d = self.settings.density
        dmap = r.density_map
        gh, gw = dmap.shape
        cell = 8.0 / r.scale
        xs, ys = np.meshgrid(np.arange(gw + 1) * cell, np.arange(gh + 1) * cell)
        en = ground_offsets(
            intr, pose, np.column_stack([xs.ravel(), ys.ravel()]), **(ground_kw or {})
        ).reshape(gh + 1, gw + 1, 2)
        a, b, c, e = en[:-1, :-1], en[:-1, 1:], en[1:, 1:], en[1:, :-1]
        area = 0.5 * np.abs(
            (a[..., 0] * b[..., 1] - b[..., 0] * a[..., 1])
            + (b[..., 0] * c[..., 1] - c[..., 0] * b[..., 1])
            + (c[..., 0] * e[..., 1] - e[..., 0] * c[..., 1])
            + (e[..., 0] * a[..., 1] - a[..., 0] * e[..., 1])
        )
        ok = ~np.isnan(area)
        gsd = gsd_cm_px(intr, pose, **(ground_kw or {})) or 1.0
        k = max(1, round(d.window_m / (gsd / 100.0) / cell))
        dens_sum = cv2.blur(np.where(ok, dmap, 0).astype(np.float32), (k, k))
        area_sum = cv2.blur(np.where(ok, area, 0).astype(np.float32), (k, k))
        per_m2 = np.where(area_sum > 0, dens_sum / np.maximum(area_sum, 1e-9), 0.0)
        mask = ((per_m2 >= d.crowd_m2) & ok).astype(np.uint8)
        n_lab, labels = cv2.connectedComponents(mask, connectivity=8)
        regions = []
        for lab in range(1, n_lab):
            sel = labels == lab
            people = float(dmap[sel].sum())
            if people < self.settings.gathering.min_people:
                continue
            rows, cols = np.nonzero(sel)
            crop = (
                int(cols.min() * cell),
                int(rows.min() * cell),
                int(min((cols.max() + 1) * cell, intr.width_px)),
                int(min((rows.max() + 1) * cell, intr.height_px)),
            )
            boxes = _inside(xyxy, crop)
            g = en[rows, cols]
            g = g[~np.isnan(g).any(axis=1)]
            cx, cy = g.mean(axis=0) if len(g) else (np.nan, np.nan)
            if pose is not None and self._origin is not None:
                ox, oy = self._origin(pose)
                cx, cy = cx + ox, cy + oy
            radius = float(np.max(np.hypot(g[:, 0] - g[:, 0].mean(), g[:, 1] - g[:, 1].mean())))
            crowd = Crowd(
                np.zeros(0, int),
                crop,
                boxes,
                (float(cx), float(cy)),
                radius if len(g) else 0.0,
                people,
            )
            crowd.people_estimate = people if people >= d.saturation_ratio * boxes else float(boxes)
            regions.append(crowd)
        return regions

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
        if len(self._known_at) + len(self._frame_keys) > 256:  # results gone or never came
            keep = {r.key for r in self._known} | set(sorted(self._known_at)[-64:])
            keep |= set(sorted(self._frame_keys)[-8:])
            self._known_at = {k: v for k, v in self._known_at.items() if k in keep}
            self._frame_keys = {k for k in self._frame_keys if k in keep}
            self._frame_pose = {k: v for k, v in self._frame_pose.items() if k in keep}

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
        self._frame_keys.clear()
        self._frame_pose.clear()

    def close(self) -> None:
        """Stop the density worker."""
        if self.worker is not None:
            self.worker.stop()
