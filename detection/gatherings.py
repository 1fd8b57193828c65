"""Gatherings: DBSCAN clusters of people on the ground, in metres, that persist.

Each frame, the ground positions of the tracked people are clustered with DBSCAN (Ester et al.,
KDD 1996; scikit-learn) with ``eps_m`` as the neighbourhood radius and ``min_people`` as
``min_samples``. A cluster is matched to a candidate of the previous frames by shared track ids,
else by centroid distance; a candidate that stays for ``persist_s`` seconds of frame time becomes
an alert. Passers-by who meet for a moment never reach ``persist_s``. After an alert, a cluster
around the same place (within ``eps_m`` of the alerted radius) is not alerted again for
``cooldown_s`` seconds, even with new track ids (the drone flew away and came back).

For still photos (``stills=True``) every call is independent: a cluster alerts at once.

With crowd density counting (:mod:`detection.density`) the pipeline clusters with a smaller
``min_samples`` and passes each cluster's fused ``people_estimate``: a crowd the detector only
partly resolves (three boxes over a packed crowd of seventy) is a gathering when its estimate
reaches ``min_people``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from detection.settings import GatheringSettings


@dataclass
class Gathering:
    """One cluster of people.

    Attributes:
        id: Candidate id, stable while the gathering is followed across frames.
        member_index: Indices of the members in this frame's person arrays, shape (N,).
        track_ids: Tracker ids of the members (empty for stills).
        count: Number of members in the current frame.
        centroid_xy: Mean ground position ``(east_m, north_m)`` in the pipeline's local frame.
        radius_m: Largest member distance from the centroid, metres.
        first_seen_s: Frame time the candidate first appeared (UNIX seconds).
        last_seen_s: Frame time of the latest frame it was seen in.
        alerted: An alert was raised for it.
        confidence: Mean detection confidence of the members.
        people_estimate: People in the cluster after density fusion (``count`` without it).
        crop_xyxy: For a packed crowd found by density alone (no member boxes): its pixel
            region; else None.
    """

    id: int
    member_index: np.ndarray
    track_ids: list[int]
    count: int
    centroid_xy: tuple[float, float]
    radius_m: float
    first_seen_s: float
    last_seen_s: float
    alerted: bool = False
    confidence: float = 1.0
    centroid_lat_lon: tuple[float, float] | None = None
    people_estimate: float = 0.0
    crop_xyxy: tuple[int, int, int, int] | None = None

    @property
    def duration_s(self) -> float:
        """Seconds from first to last seen."""
        return self.last_seen_s - self.first_seen_s


@dataclass
class _Recent:
    t_s: float
    xy: tuple[float, float]
    radius_m: float


def cluster_positions(xy: np.ndarray, eps_m: float, min_people: int) -> list[np.ndarray]:
    """DBSCAN clusters of ground positions.

    Args:
        xy: (N, 2) positions in metres; rows with NaN are ignored.
        eps_m: Neighbourhood radius, metres.
        min_people: DBSCAN ``min_samples`` (a core point has this many people within eps,
            itself included) and the smallest cluster reported.

    Returns:
        One index array (into ``xy``) per cluster with at least ``min_people`` members.
    """
    xy = np.asarray(xy, dtype=float).reshape(-1, 2)
    valid = np.flatnonzero(~np.isnan(xy).any(axis=1))
    if len(valid) < min_people:
        return []
    from sklearn.cluster import DBSCAN

    labels = DBSCAN(eps=eps_m, min_samples=min_people).fit(xy[valid]).labels_
    clusters = []
    for lab in sorted(set(labels.tolist()) - {-1}):
        members = valid[labels == lab]
        if len(members) >= min_people:
            clusters.append(members)
    return clusters


class GatheringDetector:
    """Follows clusters over frames and decides when they are gatherings to alert.

    Args:
        settings: ``detection.gathering`` section.
        stills: Judge every call alone (photos): no persistence, no cooldown.
    """

    def __init__(self, settings: GatheringSettings, stills: bool = False) -> None:
        self.settings = settings
        self.stills = stills
        self._candidates: list[Gathering] = []
        self._recent: list[_Recent] = []
        self._next_id = 1

    def update(
        self,
        t_s: float,
        xy: np.ndarray,
        track_ids: np.ndarray | None = None,
        confidence: np.ndarray | None = None,
        min_samples: int | None = None,
        estimate=None,
        packed: list | None = None,
    ) -> tuple[list[Gathering], list[Gathering]]:
        """Process one frame.

        Args:
            t_s: Frame time, UNIX seconds.
            xy: (N, 2) ground positions in metres (NaN rows: not on the ground).
            track_ids: (N,) tracker ids, or None (stills).
            confidence: (N,) detection confidences, or None.
            min_samples: DBSCAN ``min_samples`` (default ``min_people``).
            estimate: ``f(members) -> people`` for a cluster's member indices (density
                fusion); a cluster is a gathering when it reaches ``min_people``. Default: the
                number of members.
            packed: Packed crowds found by density alone (:class:`detection.crowds.Crowd` with
                no members: ground centroid, radius, people estimate, pixel region); each one
                farther than ``eps_m`` from every box cluster is a cluster of its own.

        Returns:
            ``(current, to_alert)``: the clusters of this frame (as followed candidates) and the
            ones that became alerts on this frame.
        """
        s = self.settings
        xy = np.asarray(xy, dtype=float).reshape(-1, 2)
        ids = np.asarray(track_ids, dtype=int) if track_ids is not None else None
        conf = np.asarray(confidence, dtype=float) if confidence is not None else None
        if self.stills:
            self._candidates = []
        # forget candidates not seen for a while (short gaps are tolerated: missed detections)
        self._candidates = [g for g in self._candidates if t_s - g.last_seen_s <= s.gap_s]
        clusters = cluster_positions(xy, s.eps_m, min_samples or s.min_people)
        current: list[Gathering] = []
        used: set[int] = set()
        for members in clusters:
            people = float(estimate(members)) if estimate is not None else float(len(members))
            if people < s.min_people:
                continue
            pts = xy[members]
            c = pts.mean(axis=0)
            radius = float(np.max(np.hypot(*(pts - c).T)))
            member_ids = [int(i) for i in ids[members]] if ids is not None else []
            cand = self._match(member_ids, c, radius, used)
            mean_conf = float(conf[members].mean()) if conf is not None else 1.0
            if cand is None:
                cand = Gathering(
                    id=self._next_id,
                    member_index=members,
                    track_ids=member_ids,
                    count=len(members),
                    centroid_xy=(float(c[0]), float(c[1])),
                    radius_m=radius,
                    first_seen_s=t_s,
                    last_seen_s=t_s,
                    confidence=mean_conf,
                    people_estimate=people,
                )
                self._next_id += 1
                self._candidates.append(cand)
            else:
                cand.member_index = members
                cand.track_ids = member_ids
                cand.count = len(members)
                cand.centroid_xy = (float(c[0]), float(c[1]))
                cand.radius_m = radius
                cand.last_seen_s = t_s
                cand.confidence = mean_conf
                cand.people_estimate = people
            used.add(cand.id)
            current.append(cand)
        for crowd in packed or []:
            c = np.asarray(crowd.centroid_xy, float)
            if np.isnan(c).any() or crowd.people_estimate < s.min_people:
                continue
            near = [
                g
                for g in current
                if math.hypot(c[0] - g.centroid_xy[0], c[1] - g.centroid_xy[1])
                <= g.radius_m + crowd.radius_m + s.eps_m
            ]
            if near:
                continue
            cand = self._match([], c, crowd.radius_m, used)
            if cand is None:
                cand = Gathering(
                    id=self._next_id,
                    member_index=np.zeros(0, int),
                    track_ids=[],
                    count=0,
                    centroid_xy=(float(c[0]), float(c[1])),
                    radius_m=crowd.radius_m,
                    first_seen_s=t_s,
                    last_seen_s=t_s,
                )
                self._next_id += 1
                self._candidates.append(cand)
            cand.member_index, cand.track_ids, cand.count = np.zeros(0, int), [], 0
            cand.centroid_xy = (float(c[0]), float(c[1]))
            cand.radius_m = crowd.radius_m
            cand.last_seen_s = t_s
            cand.people_estimate = float(crowd.people_estimate)
            cand.crop_xyxy = tuple(int(v) for v in crowd.crop_xyxy)
            used.add(cand.id)
            current.append(cand)
        self._recent = [r for r in self._recent if t_s - r.t_s < s.cooldown_s]
        to_alert = []
        for g in current:
            if g.alerted:
                continue
            if not self.stills and g.duration_s < s.persist_s:
                continue
            if not self.stills and self._in_cooldown(g):
                g.alerted = True  # the same place was alerted recently: treat as already done
                continue
            g.alerted = True
            to_alert.append(g)
            if not self.stills:
                self._recent.append(_Recent(t_s, g.centroid_xy, g.radius_m))
        return current, to_alert

    def _match(
        self, member_ids: list[int], c: np.ndarray, radius: float, used: set[int]
    ) -> Gathering | None:
        best, best_score = None, 0.0
        mine = set(member_ids)
        for g in self._candidates:
            if g.id in used:
                continue
            shared = len(mine & set(g.track_ids))
            if shared and shared >= 0.5 * min(len(mine), len(g.track_ids)):
                score = 1.0 + shared
            else:
                d = math.hypot(c[0] - g.centroid_xy[0], c[1] - g.centroid_xy[1])
                if d > max(self.settings.eps_m, g.radius_m, radius):
                    continue
                score = 1.0 / (1.0 + d)
            if score > best_score:
                best, best_score = g, score
        return best

    def _in_cooldown(self, g: Gathering) -> bool:
        for r in self._recent:
            d = math.hypot(g.centroid_xy[0] - r.xy[0], g.centroid_xy[1] - r.xy[1])
            if d <= r.radius_m + self.settings.eps_m:
                return True
        return False

    def reset(self) -> None:
        """Forget all candidates and cooldowns."""
        self._candidates.clear()
        self._recent.clear()
