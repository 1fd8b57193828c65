"""Anonymisation of every frame dronepatrol writes or streams (config section ``privacy``).

What is hidden (``privacy.blur``):

* ``faces`` (default): the head of every person the detector found on the frame (before
  tracking, so a person seen once is covered too), every face the face-mask check found (after
  the check: the check sees the clear frame, the outputs never do), and every face a full-frame
  pass of the project's face detector finds (:class:`detection.faces.FaceMaskDetector`, the
  same weights as the mask check) on the frames ``privacy.face_pass`` says (by default every
  third video frame, carried to the frames between: :class:`FacePass`).
* ``persons``: every person box and every face found, whole.
* ``off``: nothing; callers print a warning (:data:`OFF_WARNING`).

The drawing is supervision's ``BlurAnnotator`` / ``PixelateAnnotator`` (roboflow/supervision),
with a kernel / cell size that grows with each region so a large face is as unrecognisable as a
small one. Alert snapshots are the one exception and are written apart (``docs/privacy.md``).
"""

from __future__ import annotations

import logging
from typing import Literal

import numpy as np
import supervision as sv
from pydantic import Field

from missions.settings import StrictModel

log = logging.getLogger(__name__)

BlurMode = Literal["faces", "persons", "off"]

OFF_WARNING = (
    "warning: privacy.blur is off: faces are recorded and streamed in the clear "
    "(see docs/privacy.md)"
)
"""The line printed by every command that writes or streams frames when blurring is off."""

FACE_PAD = 0.25
"""A face box found by a face detector is grown by this fraction of its size on each side
(hair, ears and the chin are outside the detectors' tight boxes)."""


class PrivacySettings(StrictModel):
    """Anonymisation of recorded and streamed frames (``docs/privacy.md``)."""

    blur: BlurMode = "faces"
    """``faces``: heads of detected persons and every face found; ``persons``: whole persons;
    ``off``: nothing (a warning is printed)."""
    style: Literal["blur", "pixelate"] = "blur"
    """supervision's BlurAnnotator (box filter) or PixelateAnnotator."""
    face_pass: Literal["always", "every", "stills", "never"] = "every"
    """Run the face detector on the whole frame to find faces of people the person detector
    missed (a person cut by the frame's edge, body out of view): ``always`` on every frame
    (one more face-detector run per frame: 16-22 % of the frame rate on 2 cores), ``every``
    (default) on every ``face_pass_every``-th video frame with its faces carried, grown by the
    expected motion, to the frames between (:class:`FacePass`), ``stills`` on photos only, or
    ``never``. Photos always get the pass unless ``never``."""
    face_pass_every: int = Field(default=3, ge=1)
    """With ``face_pass: every``: the full-frame pass runs on one video frame in this many."""
    face_pass_motion: float = Field(default=0.04, ge=0.0)
    """With ``face_pass: every``: how far a carried face may have moved per frame since the
    pass, as a fraction of the frame's long side (0.04 of 1280 px: 51 px per frame; the demo
    patrol's ground moves about 30 px per processed frame near the bottom of the picture)."""
    face_pass_px: int = Field(default=640, ge=160)
    """Long side, pixels, the frame is scaled to for the full-frame face pass (faces smaller
    than about 10 px there are not found; heads of detected persons are covered anyway)."""


EDGE_MARGIN = 0.01
"""A person box whose side lies within this fraction of the frame's short side of the frame's
border (at least 2 px) touches the edge: the person is cut by it (box regression puts the side
of a cut person on the border, give or take a few pixels)."""


def touches_edge(person_xyxy: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Which person boxes touch the frame's border (the person is cut by the frame).

    Args:
        person_xyxy: Person boxes ``[x1, y1, x2, y2]``, pixels, shape (N, 4).
        shape: The frame's shape ``(H, W, ...)``.

    Returns:
        Boolean array, shape (N,).
    """
    b = np.asarray(person_xyxy, dtype=float).reshape(-1, 4)
    h, w = shape[:2]
    m = max(2.0, EDGE_MARGIN * min(h, w))
    return (b[:, 0] <= m) | (b[:, 1] <= m) | (b[:, 2] >= w - m) | (b[:, 3] >= h - m)


def head_boxes(
    person_xyxy: np.ndarray, stills: bool = False, shape: tuple[int, ...] | None = None
) -> np.ndarray:
    """Where the head of each person box is, generously.

    A standing person (box at least 1.6x as tall as wide) has the head in the top quarter; a
    person cut by the frame or seen from above (squarer box) may have it anywhere in the upper
    two thirds. In photos people sit, lean and are cut anywhere: the upper two thirds always
    (measured on ``../shared/data/real/masks``: seated people in tall boxes had the face at a
    third of the box height). A box touching the frame's border (:func:`touches_edge`, when
    ``shape`` is given) is a person cut by the frame, whose visible part may be anything from
    the head alone to the body without it: the whole box (issue 16: a face cut in half by the
    bottom edge lay below the upper two thirds of its person box; at the left or right edge a
    tall box of a cut close-up had the face below its top quarter).

    Args:
        person_xyxy: Person boxes ``[x1, y1, x2, y2]``, pixels, shape (N, 4).
        stills: Photos (the upper two thirds of every box).
        shape: The frame's shape ``(H, W, ...)``; None: no box is taken as cut.

    Returns:
        Head regions, pixels, shape (N, 4) (not clipped to the image).
    """
    b = np.asarray(person_xyxy, dtype=float).reshape(-1, 4)
    w = b[:, 2] - b[:, 0]
    h = b[:, 3] - b[:, 1]
    tall = (h >= 1.6 * w) & (not stills)
    frac = np.where(tall, 0.28, 0.7)
    if shape is not None:
        frac = np.where(touches_edge(b, shape), 1.0, frac)
    return np.column_stack(
        [b[:, 0] - 0.1 * w, b[:, 1] - 0.05 * h, b[:, 2] + 0.1 * w, b[:, 1] + frac * h]
    )


def pad_boxes(xyxy: np.ndarray, frac: float = FACE_PAD) -> np.ndarray:
    """Boxes grown by ``frac`` of their width/height on each side, shape (N, 4)."""
    b = np.asarray(xyxy, dtype=float).reshape(-1, 4)
    dw = frac * (b[:, 2] - b[:, 0])
    dh = frac * (b[:, 3] - b[:, 1])
    return np.column_stack([b[:, 0] - dw, b[:, 1] - dh, b[:, 2] + dw, b[:, 3] + dh])


def privacy_regions(
    mode: BlurMode,
    person_xyxy: np.ndarray,
    face_xyxy: np.ndarray | None = None,
    stills: bool = False,
    shape: tuple[int, ...] | None = None,
) -> np.ndarray:
    """The regions to hide on one frame.

    Args:
        mode: ``faces``, ``persons`` or ``off``.
        person_xyxy: Every person box found on the frame, pixels, shape (N, 4).
        face_xyxy: Face boxes found on the frame (tight detector boxes), shape (M, 4).
        stills: The frame is a photo (:func:`head_boxes`).
        shape: The frame's shape ``(H, W, ...)``: persons cut by its border are hidden whole
            (:func:`head_boxes`); None: no box is taken as cut.

    Returns:
        Regions ``[x1, y1, x2, y2]`` in pixels, float, shape (K, 4); empty when ``off``.
    """
    if mode == "off":
        return np.zeros((0, 4))
    persons = np.asarray(person_xyxy, dtype=float).reshape(-1, 4)
    faces = pad_boxes(face_xyxy if face_xyxy is not None else np.zeros((0, 4)))
    people = head_boxes(persons, stills, shape) if mode == "faces" else persons
    return np.concatenate([people, faces])


def anonymise(
    image: np.ndarray, regions: np.ndarray, style: str = "blur", *, copy: bool = False
) -> np.ndarray:
    """Blur or pixelate regions of a frame with supervision's annotators.

    Each region gets its own kernel (blur: a third of its short side; pixelate: a sixth), so a
    face is hidden whatever its size.

    Args:
        image: BGR uint8 frame, shape (H, W, 3); changed in place unless ``copy``.
        regions: ``[x1, y1, x2, y2]`` pixels, shape (K, 4); clipped to the image here.
        style: ``blur`` or ``pixelate``.
        copy: Work on a copy and leave ``image`` as it is.

    Returns:
        The anonymised frame (``image`` itself unless ``copy``).
    """
    out = image.copy() if copy else image
    r = np.asarray(regions, dtype=float).reshape(-1, 4)
    if not len(r):
        return out
    h, w = out.shape[:2]
    r = sv.clip_boxes(r, (w, h))
    r = r[(r[:, 2] - r[:, 0] >= 1) & (r[:, 3] - r[:, 1] >= 1)]
    for box in r:
        side = float(min(box[2] - box[0], box[3] - box[1]))
        dets = sv.Detections(xyxy=box[None])
        if style == "pixelate":
            ann = sv.PixelateAnnotator(pixel_size=max(3, int(side / 6)))
        else:
            k = max(3, int(side / 3)) | 1
            ann = sv.BlurAnnotator(kernel_size=k)
        # two passes of a box filter approach a Gaussian: no ghost of the eyes and mouth
        out = ann.annotate(out, dets)
        if style != "pixelate":
            out = ann.annotate(out, dets)
    return out


def full_frame_faces(detector, image: np.ndarray, long_side_px: int = 640) -> np.ndarray:
    """Every face the project's face detector finds on the whole frame.

    Args:
        detector: A :class:`detection.faces.FaceMaskDetector` (its ``detect`` takes any size).
        image: BGR uint8 frame, shape (H, W, 3).
        long_side_px: The frame is downscaled to this long side first when larger.

    Returns:
        Face boxes in ``image`` pixels, shape (M, 4).
    """
    import cv2

    h, w = image.shape[:2]
    scale = min(1.0, long_side_px / max(h, w))
    small = image if scale >= 1.0 else cv2.resize(image, (int(w * scale), int(h * scale)))
    faces = detector.detect(small)
    if not faces:
        return np.zeros((0, 4))
    return np.array([f.xyxy for f in faces], dtype=float) / scale


class FacePass:
    """The full-frame face pass of a video: every ``face_pass_every``-th frame, carried between.

    Faces found on a pass frame are hidden on the frames after it too, each grown by
    ``face_pass_motion`` x the frame's long side x the frames since the pass (the picture moves
    with the drone); so are the heads of people the person detector saw on the last
    ``face_pass_every - 1`` frames and lost since (someone walking out of the frame's edge),
    grown the same way.

    A person whose box touched the frame's border when it was lost (cut by the frame: the face
    detector does not find a face cut in half either, so the next pass does not take over) is
    carried longer: the region it had (its whole box, :func:`head_boxes`) stretched to the border
    it touched, moved by the measured image motion (:func:`image_shift`) frame by frame, until it
    has moved out of the frame, the person detector sees someone there again, or ``lost_frames``
    have passed (the tracker's memory of a lost person). A face that comes into view between two
    passes with no person box is the one not hidden, for at most ``face_pass_every - 1`` frames.

    Args:
        detector: A :class:`detection.faces.FaceMaskDetector` (the project's own: the mask
            check's weights).
        settings: The ``privacy`` section (``face_pass_every``, ``face_pass_motion``,
            ``face_pass_px``).
        lost_frames: Longest carry of a person lost at the frame's border, frames (the
            pipeline passes the tracker's ``track_lost_s`` x frame rate).
    """

    def __init__(self, detector, settings: PrivacySettings, lost_frames: int = 20) -> None:
        self.detector = detector
        self.every = settings.face_pass_every if settings.face_pass == "every" else 1
        self.motion = settings.face_pass_motion
        self.long_side_px = settings.face_pass_px
        self.lost_frames = max(int(lost_frames), self.every)
        self._faces = np.zeros((0, 4))
        self._pass_index: int | None = None
        self._heads: list[tuple[np.ndarray, int, bool]] = []
        self._cut: list[tuple[np.ndarray, int]] = []
        self._grey: np.ndarray | None = None
        self._last_index: int | None = None

    def due(self, frame_index: int) -> bool:
        """Whether the full-frame pass runs on this frame."""
        return (
            self._pass_index is None
            or frame_index - self._pass_index >= self.every
            or frame_index < self._pass_index
        )

    def faces(
        self,
        image: np.ndarray,
        frame_index: int,
        heads: np.ndarray,
        cut: np.ndarray | None = None,
    ) -> np.ndarray:
        """Face regions to hide on this frame (beyond the heads of this frame's persons).

        Args:
            image: BGR frame, shape (H, W, 3).
            frame_index: The frame's index in its video (increasing).
            heads: Head regions of this frame's persons (:func:`head_boxes`), shape (N, 4).
            cut: Which of those persons touch the frame's border (:func:`touches_edge`),
                shape (N,); None: none.

        Returns:
            Regions ``[x1, y1, x2, y2]`` pixels, shape (M, 4): the pass's faces (found now or
            carried), the carried heads of people lost since the last frames and the carried
            regions of people lost at the border.
        """
        step = max(image.shape[:2]) * self.motion
        if self.due(frame_index):
            self._faces = full_frame_faces(self.detector, image, self.long_side_px)
            self._pass_index = frame_index
            faces = self._faces
        else:
            faces = grow_boxes(self._faces, step * (frame_index - self._pass_index))
        heads = np.asarray(heads, dtype=float).reshape(-1, 4)
        cut = np.zeros(len(heads), bool) if cut is None else np.asarray(cut, bool).reshape(-1)
        gone = [
            (box, seen, was_cut)
            for box, seen, was_cut in self._heads
            if frame_index - seen > 0 and not _centre_inside(box, heads)
        ]
        lost = [(box, seen) for box, seen, was_cut in gone if frame_index - seen < self.every]
        self._heads = [(h, frame_index, bool(c)) for h, c in zip(heads, cut, strict=True)]
        self._heads += [(b, s, c) for b, s, c in gone if frame_index - s < self.every and not c]
        carried = [grow_boxes(box[None], step * (frame_index - seen))[0] for box, seen in lost]
        cut_regions = self._carry_cut(image, frame_index, heads, cut, gone, step)
        return np.concatenate(
            [faces, np.array(carried).reshape(-1, 4), np.array(cut_regions).reshape(-1, 4)]
        )

    def _carry_cut(self, image, frame_index, heads, cut, gone, step) -> list[np.ndarray]:
        """Move, drop and add the carried regions of persons lost at the frame's border."""
        h, w = image.shape[:2]
        newly = [
            (_to_border(box, (h, w)), seen)
            for box, seen, was_cut in gone
            if was_cut and seen == self._last_index
        ]
        self._last_index = frame_index
        carry = self._cut or newly or cut.any()
        grey = grey_small(image, CARRY_MOTION_WIDTH_PX) if carry else None
        dx = dy = 0.0
        if (
            (self._cut or newly)
            and grey is not None
            and self._grey is not None
            and self._grey.shape == grey.shape
        ):
            dx, dy = image_shift(self._grey, grey, w)
        self._grey = grey
        moved = [(box + np.array([dx, dy, dx, dy]), seen) for box, seen in self._cut + newly]
        self._cut = [
            (box, seen)
            for box, seen in moved
            if frame_index - seen <= self.lost_frames
            and box[0] < w
            and box[1] < h
            and box[2] > 0
            and box[3] > 0
            and not _centre_inside(box, heads)
        ]
        # one frame's motion of margin: the translation is measured, a zoom is not
        return [grow_boxes(box[None], step)[0] for box, _ in self._cut]


MOTION_WIDTH_PX = 320
"""Width, pixels, of the grey copies the image motion is estimated on (:func:`grey_small`)."""
CARRY_MOTION_WIDTH_PX = 160
"""Width of the grey copies :class:`FacePass` measures the motion of carried regions on (a
quarter of the work of :data:`MOTION_WIDTH_PX`: it runs in the detection loop; the regions get
one frame's expected motion of margin anyway)."""
MIN_RESPONSE = 0.05
"""Phase-correlation peaks weaker than this are not trusted: no shift (:func:`image_shift`)."""


def grey_small(image: np.ndarray, width_px: int = MOTION_WIDTH_PX) -> np.ndarray:
    """A grey float32 copy of a BGR frame ``width_px`` wide (:func:`image_shift`)."""
    import cv2

    h, w = image.shape[:2]
    small = cv2.resize(image, (width_px, max(8, round(h * width_px / w))))
    return cv2.cvtColor(small, cv2.COLOR_BGR2GRAY).astype(np.float32)


def image_shift(ref_small: np.ndarray, cur_small: np.ndarray, width_px: int) -> tuple[float, float]:
    """Global translation from one frame to another, from grey copies (:func:`grey_small`):
    phase correlation (``cv2.phaseCorrelate``, about 2 ms).

    Args:
        ref_small: Grey float32 copy of the earlier frame.
        cur_small: Grey float32 copy of the later frame, same shape.
        width_px: Width of the full frames, pixels (the shift is scaled to it).

    Returns:
        ``(dx, dy)`` full-frame pixels a point of the earlier frame moved by; ``(0, 0)`` when
        the correlation peak is too weak to trust (:data:`MIN_RESPONSE`).
    """
    import cv2

    window = cv2.createHanningWindow(ref_small.shape[::-1], cv2.CV_32F)
    (dx, dy), response = cv2.phaseCorrelate(ref_small, cur_small, window)
    if response < MIN_RESPONSE:
        return 0.0, 0.0
    k = width_px / ref_small.shape[1]
    return float(dx * k), float(dy * k)


def _to_border(box: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """``box`` stretched to every frame border it touches (:func:`touches_edge`): the part of
    the person beyond it, and what a zoom pushes outwards, stays inside the region."""
    h, w = shape
    m = max(2.0, EDGE_MARGIN * min(h, w))
    b = np.asarray(box, dtype=float).copy()
    if b[0] <= m:
        b[0] = min(b[0], 0.0)
    if b[1] <= m:
        b[1] = min(b[1], 0.0)
    if b[2] >= w - m:
        b[2] = max(b[2], float(w))
    if b[3] >= h - m:
        b[3] = max(b[3], float(h))
    return b


def grow_boxes(boxes: np.ndarray, px: float) -> np.ndarray:
    """Boxes grown by ``px`` pixels on every side, shape (N, 4).

    For frames shown between two processed ones (a camera-rate live stream): hide the last
    processed frame's ``FrameResult.privacy_xyxy`` grown by the motion since, with
    ``anonymise(frame, grow_boxes(regions, px), style)``."""
    return np.asarray(boxes, dtype=float).reshape(-1, 4) + np.array([-px, -px, px, px])


def _centre_inside(box: np.ndarray, boxes: np.ndarray) -> bool:
    """Whether ``box``'s centre lies in any of ``boxes`` (the same person seen again)."""
    if not len(boxes):
        return False
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    return bool(
        (
            (boxes[:, 0] <= cx) & (cx <= boxes[:, 2]) & (boxes[:, 1] <= cy) & (cy <= boxes[:, 3])
        ).any()
    )


SNAPSHOT_PAD = 0.2
"""Padding around the subject in an alert snapshot (``DetectionPipeline._snapshot``), fraction of
the subject box on each side."""


def anonymise_snapshot(image: np.ndarray, settings: PrivacySettings, detector=None) -> np.ndarray:
    """An alert snapshot made fit to be shown outside the access-logged view (report thumbnails).

    ``faces``: the faces the project's face detector finds on the whole crop and the head of the
    subject (the crop minus its padding); without a detector the whole crop is pixelated.
    ``persons``: the whole crop. ``off``: unchanged.

    Args:
        image: BGR uint8 snapshot, shape (H, W, 3); not changed.
        settings: The ``privacy`` section.
        detector: A :class:`detection.faces.FaceMaskDetector`, or None.

    Returns:
        A new BGR uint8 array of the same shape.
    """
    h, w = image.shape[:2]
    if settings.blur == "off":
        return image.copy()
    whole = np.array([[0.0, 0.0, w, h]])
    if settings.blur == "persons" or detector is None:
        return anonymise(image, whole, "pixelate", copy=True)
    k = SNAPSHOT_PAD / (1 + 2 * SNAPSHOT_PAD)
    subject = np.array([[k * w, k * h, (1 - k) * w, (1 - k) * h]])
    faces = full_frame_faces(detector, image, settings.face_pass_px)
    regions = privacy_regions("faces", subject, faces, stills=True)
    return anonymise(image, regions, settings.style, copy=True)
