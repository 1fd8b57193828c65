"""Mask state per tracked person: looking for faces in person boxes and voting over frames.

A face-mask detector (:mod:`detection.faces`) runs once per frame on the region that covers the
heads of the people who need a look: people whose box could hold a face of ``min_face_px`` and
whose label is not settled yet (settled tracks, and tracks looked at ``2 * frames_to_confirm``
times without a usable face, are looked at again every ``recheck_frames``).
Each face at least ``min_face_px`` tall gives one vote to its person; smaller faces or none give
no vote, so the label stays ``unknown`` instead of a guess. A track's label is what more than
two thirds of its votes say once it has ``frames_to_confirm`` of them (one for still photos).
The model sees every face at least as big as it is in the frame (:func:`look_batches`): heads
far apart are looked at in separate runs rather than squeezed into one crop.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from detection.faces import FaceMask, FaceMaskDetector, MaskLabel
from detection.settings import MaskSettings


def head_region(xyxy: np.ndarray, image_shape: tuple[int, ...]) -> np.ndarray:
    """Where a person's face can be: the upper 65 % of the box (a head-and-shoulders photo has its chin low in the box), 10 % wider on each side.

    Returns:
        ``[x1, y1, x2, y2]`` integer pixels clipped to the image.
    """
    x1, y1, x2, y2 = (float(v) for v in xyxy)
    w, h = x2 - x1, y2 - y1
    H, W = image_shape[:2]
    return np.array(
        [max(0, x1 - 0.1 * w), max(0, y1 - 0.05 * h), min(W, x2 + 0.1 * w), min(H, y1 + 0.65 * h)]
    ).astype(int)


def could_show_face(xyxy: np.ndarray, min_face_px: int) -> bool:
    """True when a person box is big enough to contain a face of ``min_face_px`` pixels."""
    return (xyxy[3] - xyxy[1]) >= 2 * min_face_px and (xyxy[2] - xyxy[0]) >= min_face_px


MAX_RUNS_PER_FRAME = 2
"""Face-mask model runs per video frame at most (:func:`look_batches`, the batches of the biggest
people first); people left out are looked at on the next frames."""

MAX_UPSCALE = 2.0
"""A crop is never scaled up more than this into the model input: blown-up blur makes faces out
of nothing. A smaller crop is grown around its centre instead (more context, same scale)."""


def _fit(
    box: tuple[float, float, float, float], input_wh: tuple[int, int], image_shape
) -> tuple[tuple[int, int, int, int], float]:
    """The crop around ``box`` that the model sees at one scale on both axes.

    The crop has the model input's aspect ratio (the detectors resize their input to a fixed
    size: a crop of another shape would be squashed and its faces distorted), is at least
    ``input / MAX_UPSCALE`` and lies inside the image where the image is big enough.

    Returns:
        ``((x1, y1, x2, y2), scale)``: the crop in integer pixels and the model-input pixels per
        image pixel (< 1 when ``box`` is bigger than the model input).
    """
    H, W = image_shape[:2]
    iw, ih = input_wh
    x1, y1, x2, y2 = box
    scale = min(iw / max(1.0, x2 - x1), ih / max(1.0, y2 - y1), MAX_UPSCALE)
    cw, ch = min(W, iw / scale), min(H, ih / scale)
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    nx1 = min(max(0.0, cx - cw / 2), W - cw)
    ny1 = min(max(0.0, cy - ch / 2), H - ch)
    crop = (int(nx1), int(ny1), int(round(nx1 + cw)), int(round(ny1 + ch)))
    return crop, min(iw / max(1, crop[2] - crop[0]), ih / max(1, crop[3] - crop[1]))


def look_batches(
    person_xyxy: np.ndarray, image_shape: tuple[int, ...], input_wh: tuple[int, int]
) -> list[list[int]]:
    """Persons whose heads the face-mask model can look at in one run, without shrinking them.

    Every face the model judges must reach it at least as big as it is in the frame: a face of
    ``detection.mask.min_face_px`` squeezed to half that size in a crop of many heads is read
    "unmasked" whatever it wears (measured on the demo scene's masked market group, rendered
    from 160 poses with the RFB-640 model: faces of at least 24 px judged with the group's heads
    in one crop 50 masked / 192 unmasked, each person's heads alone 452 / 58). Heads are taken
    left to right; a head joins the current batch while the batch's bounding box still fits the
    model input at the scale its smallest member would get alone (at most 1: no shrinking a
    head that fits).

    Args:
        person_xyxy: (N, 4) person boxes, pixels.
        image_shape: The frame's shape.
        input_wh: The face-mask model's input size ``(w, h)``.

    Returns:
        Lists of indices into ``person_xyxy``; every person is in exactly one.
    """
    n = len(person_xyxy)
    if n == 0:
        return []
    regions = np.array([head_region(b, image_shape) for b in person_xyxy], dtype=float)
    iw, ih = input_wh
    own = [
        min(MAX_UPSCALE, iw / max(1.0, r[2] - r[0]), ih / max(1.0, r[3] - r[1])) for r in regions
    ]
    batches: list[list[int]] = []
    box = None
    for i in np.argsort(regions[:, 0], kind="stable"):
        i = int(i)
        if box is not None:
            u = (
                min(box[0], regions[i, 0]),
                min(box[1], regions[i, 1]),
                max(box[2], regions[i, 2]),
                max(box[3], regions[i, 3]),
            )
            need = min(own[j] for j in [*batches[-1], i])
            if (u[2] - u[0]) * need <= iw and (u[3] - u[1]) * need <= ih:
                batches[-1].append(i)
                box = u
                continue
        batches.append([i])
        box = tuple(regions[i])
    return batches


def find_faces(
    detector: FaceMaskDetector, image: np.ndarray, person_xyxy: np.ndarray
) -> list[FaceMask | None]:
    """Run the detector on the regions around the given persons' heads and assign faces.

    Heads are looked at in batches (:func:`look_batches`): one detector run per batch, on a crop
    of the model's aspect ratio that never shrinks a head which would fit alone.

    Args:
        detector: Face-mask detector.
        image: BGR frame.
        person_xyxy: (N, 4) person boxes in pixels.

    Returns:
        For each person, the best face whose centre lies in its head region, or None.
    """
    person_xyxy = np.asarray(person_xyxy, dtype=float).reshape(-1, 4)
    n = len(person_xyxy)
    out: list[FaceMask | None] = [None] * n
    for batch in look_batches(person_xyxy, image.shape, detector.input_wh):
        for i, face in zip(batch, faces_in_batch(detector, image, person_xyxy[batch]), strict=True):
            out[i] = face
    return out


def faces_in_batch(
    detector: FaceMaskDetector, image: np.ndarray, person_xyxy: np.ndarray
) -> list[FaceMask | None]:
    """One detector run on the crop around these persons' heads (one batch of
    :func:`look_batches`); the best face of each person, or None.

    Args:
        detector: Face-mask detector.
        image: BGR frame, shape (H, W, 3).
        person_xyxy: (N, 4) person boxes, pixels.
    """
    n = len(person_xyxy)
    regions = np.array([head_region(b, image.shape) for b in person_xyxy])
    x1, y1 = regions[:, :2].min(axis=0)
    x2, y2 = regions[:, 2:].max(axis=0)
    if x2 - x1 < 4 or y2 - y1 < 4:
        return [None] * n
    (x1, y1, x2, y2), _ = _fit((x1, y1, x2, y2), detector.input_wh, image.shape)
    crop = image[y1:y2, x1:x2]
    faces = detector.detect(crop)
    shift = np.array([x1, y1, x1, y1], dtype=np.float32)
    faces = [FaceMask(f.xyxy + shift, f.confidence, f.label, f.mask_score) for f in faces]
    taken: set[int] = set()
    # small persons first: a face inside a small box belongs to it rather than to a big box behind
    order = np.argsort(
        (person_xyxy[:, 2] - person_xyxy[:, 0]) * (person_xyxy[:, 3] - person_xyxy[:, 1])
    )
    best: dict[int, FaceMask | None] = {}
    for i in order:
        rx1, ry1, rx2, ry2 = regions[i]
        pw = person_xyxy[i, 2] - person_xyxy[i, 0]
        ph = person_xyxy[i, 3] - person_xyxy[i, 1]
        chosen, chosen_j = None, -1
        for j, f in enumerate(faces):
            if j in taken:
                continue
            cx = (f.xyxy[0] + f.xyxy[2]) / 2
            cy = (f.xyxy[1] + f.xyxy[3]) / 2
            if not (rx1 <= cx <= rx2 and ry1 <= cy <= ry2):
                continue
            if (f.xyxy[2] - f.xyxy[0]) > 1.3 * pw or f.height_px > 0.6 * ph:
                continue
            if chosen is None or f.confidence > chosen.confidence:
                chosen, chosen_j = f, j
        if chosen_j >= 0:
            taken.add(chosen_j)
        best[int(i)] = chosen
    return [best.get(i) for i in range(n)]


@dataclass
class _TrackVotes:
    votes: Counter = field(default_factory=Counter)
    last_look: int = -(10**9)
    looks: int = 0
    look_height_px: float = 0.0
    alerted: bool = False
    best_face: FaceMask | None = None


class MaskVoter:
    """Mask votes per track id.

    Args:
        settings: ``detection.mask`` section.
        stills: One vote settles a label (photos are judged alone).
    """

    def __init__(self, settings: MaskSettings, stills: bool = False) -> None:
        self.settings = settings
        self.stills = stills
        self._tracks: dict[int, _TrackVotes] = {}

    @property
    def votes_needed(self) -> int:
        """Votes needed before a label is settled."""
        return 1 if self.stills else self.settings.frames_to_confirm

    def needs_look(self, track_id: int, frame_index: int, height_px: float = 0.0) -> bool:
        """Whether this track's face should be looked at on this frame.

        Args:
            track_id: Track id.
            frame_index: Current frame index.
            height_px: The person's box height now: a person seen 25 % bigger than at the last
                look (walking towards the camera) is looked at again at once.
        """
        tv = self._tracks.get(track_id)
        if tv is None:
            return True
        unsettled = sum(tv.votes.values()) < self.votes_needed
        if unsettled and tv.looks < 2 * self.votes_needed:
            return True  # unsettled and not looked at much yet: every frame
        if unsettled and height_px >= 1.25 * tv.look_height_px:
            return True  # seen bigger now: the face may have become usable
        # settled, or looked at often without a usable face (turned away, too small): back off
        return frame_index - tv.last_look >= self.settings.recheck_frames

    def add(
        self, track_id: int, face: FaceMask | None, frame_index: int, height_px: float = 0.0
    ) -> None:
        """Record a look: a vote when the face is big enough, nothing otherwise."""
        tv = self._tracks.setdefault(track_id, _TrackVotes())
        tv.last_look = frame_index
        tv.looks += 1
        tv.look_height_px = height_px
        if face is None or face.height_px < self.settings.min_face_px:
            return
        tv.votes[face.label] += 1
        if tv.best_face is None or face.height_px > tv.best_face.height_px:
            tv.best_face = face

    def label(self, track_id: int) -> MaskLabel:
        """Settled label: at least ``votes_needed`` votes of which more than two thirds agree
        (3 of 3, 3 of 4, 4 of 5, ...), else ``unknown``. A split vote decides nothing: the
        model reads a masked face "unmasked" on about one frame in nine even alone (demo
        scene, RFB-640), and a reminder to a masked person is the error to avoid."""
        tv = self._tracks.get(track_id)
        if tv is None:
            return MaskLabel.UNKNOWN
        total = sum(tv.votes.values())
        if total < self.votes_needed:
            return MaskLabel.UNKNOWN
        label, n = tv.votes.most_common(1)[0]
        return label if 3 * n > 2 * total else MaskLabel.UNKNOWN

    def vote_share(self, track_id: int) -> float:
        """Share of the votes that agree with the settled label, 0..1."""
        tv = self._tracks.get(track_id)
        if tv is None or not tv.votes:
            return 0.0
        return tv.votes.most_common(1)[0][1] / sum(tv.votes.values())

    def take_alert(self, track_id: int) -> bool:
        """True once per track when its settled label is unmasked or incorrect."""
        tv = self._tracks.get(track_id)
        if tv is None or tv.alerted:
            return False
        if self.label(track_id) in (MaskLabel.UNMASKED, MaskLabel.INCORRECT):
            tv.alerted = True
            return True
        return False

    def look_again(self) -> None:
        """Look at every unsettled track on every frame again, as a new one (the camera moved
        closer: faces that were too small may now be usable). Votes are kept."""
        for tv in list(self._tracks.values()):
            tv.looks = 0
            tv.look_height_px = 0.0

    def keep_only(self, track_ids: set[int]) -> None:
        """Forget tracks that are gone (the tracker dropped them)."""
        for tid in list(self._tracks):
            if tid not in track_ids:
                del self._tracks[tid]

    def reset(self) -> None:
        """Forget every track."""
        self._tracks.clear()
