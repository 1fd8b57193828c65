"""Masks and clothes on the simulated people: real faces and clothing colours on the cut-outs.

A scene person may carry a mask state (``masked``, ``unmasked``, ``incorrect``) and clothing
colours (``upper``, ``lower``: words of :data:`detection.colour_names.COLOUR_NAMES_ZH`). Such a
person is drawn from a *dressed* copy of its cut-out (:func:`dress_sprite`):

* **Face**: a real face photo whose mask state is known, cut from the face-mask photos in
  ``<shared>/data/real/masks`` (``labels.csv`` gives each face's box and label: the Kaggle
  andrewmvd face-mask set's VOC boxes and the chandrikadeb7 single-face photos, see that folder's
  SOURCES.md), pasted over the cut-out's head with a feathered elliptical edge, covering the
  cut-out's own face whole. The photos are read
  at run time and never copied into the repository; the detector that later looks at the rendered
  frame (the real face-mask model) decides the mask state, not the label used to pick the photo.
* **Clothes**: the torso (20-52 % of the height from the top) and legs (52-96 %) of the cut-out
  are repainted in the configured colour, keeping the photo's shading (each pixel's brightness
  relative to the region's median scales the colour).

Without the photos (:func:`find_faces_dir` returns None) people keep the cut-out's own face,
which is too small to judge at any range, and :attr:`FaceBank.available` is False: the patrol
then says so and skips the close look.
"""

from __future__ import annotations

import csv
import json
import logging
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from sim.sprites import Sprite

log = logging.getLogger(__name__)

MASK_STATES = ("masked", "unmasked", "incorrect")
"""Mask states a scene person can have."""

_CSV_LABEL = {
    "with_mask": "masked",
    "without_mask": "unmasked",
    "mask_weared_incorrect": "incorrect",
}
_FOLDER_LABEL = {"with": "masked", "without": "unmasked", "incorrect": "incorrect"}

CLOTHING_BGR: dict[str, tuple[int, int, int]] = {
    "black": (28, 28, 30),
    "white": (235, 235, 235),
    "grey": (128, 128, 128),
    "red": (30, 30, 210),
    "orange": (20, 120, 240),
    "yellow": (30, 215, 235),
    "green": (50, 160, 40),
    "cyan": (200, 190, 30),
    "blue": (190, 70, 20),
    "purple": (150, 40, 120),
    "pink": (190, 150, 245),
    "brown": (30, 65, 110),
}
"""Paint of each clothing colour word (BGR, a mid-tone that :func:`detection.colours.name_pixels`
names as that word across the shading range kept from the photo)."""

MIN_FACE_SRC_PX = 90
"""Faces smaller than this in their photo (box height, pixels) are not used: too little detail."""


FACE_COVER = 0.12
"""The pasted face covers the cut-out's head box grown by this fraction of its size on each
side (:func:`dress_sprite`)."""


def find_faces_dir() -> Path | None:
    """The real face-mask photos: ``$DRONEPATROL_SHARED/data/real/masks``, else
    ``<repo>/../shared/data/real/masks``; None when neither holds a ``labels.csv``."""
    dirs = []
    env = os.environ.get("DRONEPATROL_SHARED")
    if env:
        dirs.append(Path(env).expanduser() / "data" / "real" / "masks")
    dirs.append(
        Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "real" / "masks"
    )
    for d in dirs:
        if (d / "labels.csv").is_file():
            return d
    return None


@dataclass(frozen=True)
class FacePhoto:
    """One labelled face: ``image`` (H, W, 3) BGR crop around the face, ``state`` its mask state,
    ``source`` the photo file (relative to the masks folder) it was cut from."""

    image: np.ndarray
    state: str
    source: str


class FaceBank:
    """Labelled face crops by mask state, read from a masks folder (see the module docstring).

    Args:
        folder: The masks folder (with ``labels.csv``), or None (no faces).

    Raises:
        FileNotFoundError: ``folder`` is given but has no ``labels.csv``.
    """

    def __init__(self, folder: Path | None) -> None:
        self.folder = folder
        self.faces: dict[str, list[FacePhoto]] = {s: [] for s in MASK_STATES}
        if folder is None:
            return
        import cv2

        table = Path(folder) / "labels.csv"
        if not table.is_file():
            raise FileNotFoundError(f"{table}: no labels.csv of the face-mask photos")
        with table.open(newline="", encoding="utf-8") as fh:
            rows = list(csv.reader(fh))
        for row in rows[1:]:
            if len(row) < 6:
                continue
            rel, boxes = row[0], json.loads(row[5])
            image = cv2.imread(str(Path(folder) / rel), cv2.IMREAD_COLOR)
            if image is None:
                continue
            h, w = image.shape[:2]
            for box in boxes:
                if len(box) == 5:
                    label, x1, y1, x2, y2 = box
                else:  # a single-face photo labelled by its folder: the whole image
                    label, x1, y1, x2, y2 = box[0], 0, 0, w, h
                state = _CSV_LABEL.get(label) or _FOLDER_LABEL.get(rel.split("/")[0])
                if state is None or y2 - y1 < MIN_FACE_SRC_PX:
                    continue
                # a little context (hair, chin) around the face box
                px, py = 0.12 * (x2 - x1), 0.12 * (y2 - y1)
                c = image[
                    max(0, int(y1 - py)) : min(h, int(y2 + py)),
                    max(0, int(x1 - px)) : min(w, int(x2 + px)),
                ]
                if c.size:
                    self.faces[state].append(FacePhoto(np.ascontiguousarray(c), state, rel))

    @property
    def available(self) -> bool:
        """True when every mask state has at least one face."""
        return all(self.faces[s] for s in MASK_STATES)

    def pick(self, state: str, index: int) -> FacePhoto | None:
        """Face number ``index`` (modulo their count) of ``state``, or None."""
        faces = self.faces.get(state) or []
        return faces[index % len(faces)] if faces else None


@lru_cache(maxsize=4)
def face_bank(folder: str | None) -> FaceBank:
    """The :class:`FaceBank` of ``folder`` (cached per process)."""
    return FaceBank(Path(folder) if folder else None)


def head_box(sprite: Sprite) -> tuple[int, int, int, int]:
    """Where the face is on a cut-out: ``(x1, y1, x2, y2)`` pixels of the sprite.

    The head is the top of the silhouette: rows 1-13 % of the height, as wide as the
    silhouette is there (the alpha mask of rows 3-10 %).
    """
    a = sprite.rgba[..., 3]
    h = a.shape[0]
    band = a[int(0.03 * h) : max(int(0.03 * h) + 1, int(0.10 * h))] > 128
    cols = np.nonzero(band.any(axis=0))[0]
    if cols.size == 0:
        cx, half = a.shape[1] / 2.0, 0.04 * h
    else:
        cx, half = (cols.min() + cols.max()) / 2.0, max(0.035 * h, (cols.max() - cols.min()) / 2)
    y1, y2 = int(0.01 * h), int(0.135 * h)
    half = min(half, 0.45 * (y2 - y1))
    return int(cx - half), y1, int(cx + half), y2


def _repaint(rgba: np.ndarray, rows: tuple[float, float], colour: str) -> None:
    import cv2

    h = rgba.shape[0]
    y1, y2 = int(rows[0] * h), int(rows[1] * h)
    part = rgba[y1:y2]
    body = part[..., 3] > 60
    if not body.any():
        return
    v = cv2.cvtColor(np.ascontiguousarray(part[..., :3]), cv2.COLOR_BGR2HSV)[..., 2].astype(
        np.float32
    )
    shade = np.clip(v / max(1.0, float(np.median(v[body]))), 0.6, 1.3)
    paint = np.asarray(CLOTHING_BGR[colour], np.float32)
    new = np.clip(shade[..., None] * paint, 0, 255).astype(np.uint8)
    part[..., :3] = np.where(body[..., None], new, part[..., :3])


def dress_sprite(
    sprite: Sprite,
    *,
    face: FacePhoto | None = None,
    upper: str | None = None,
    lower: str | None = None,
) -> Sprite:
    """A copy of ``sprite`` with a real face and repainted clothes (see the module docstring).

    Args:
        sprite: The cut-out.
        face: The face to paste over the head, or None (keep the cut-out's face).
        upper, lower: Clothing colour words (keys of :data:`CLOTHING_BGR`), or None (keep).

    Returns:
        A new :class:`Sprite` (same size and foot point).

    Raises:
        KeyError: An unknown colour word.
    """
    import cv2

    rgba = sprite.rgba.copy()
    if upper is not None:
        _repaint(rgba, (0.17, 0.52), upper)
    if lower is not None:
        _repaint(rgba, (0.52, 0.96), lower)
    source = sprite.source
    if face is not None:
        x1, y1, x2, y2 = head_box(sprite)
        # Cover the cut-out's own face whole: the photo is fitted to the head box grown by
        # FACE_COVER on each side (stretched to it if its aspect differs), so the feathered edge
        # falls outside the old face. Fitted by height alone, narrow photos left the cut-out's
        # unmasked cheek and beard beside a pasted mask, and the model rightly read "unmasked".
        gx, gy = FACE_COVER * (x2 - x1), FACE_COVER * (y2 - y1)
        x1, x2 = int(round(x1 - gx)), int(round(x2 + gx))
        y1 = max(0, int(round(y1 - gy)))
        y2 = int(round(y2 + gy))
        fw, fh = max(4, x2 - x1), max(4, y2 - y1)
        patch = cv2.resize(face.image, (fw, fh), interpolation=cv2.INTER_AREA)
        yy, xx = np.mgrid[0:fh, 0:fw].astype(np.float32)
        r = ((xx - (fw - 1) / 2) / (fw / 2)) ** 2 + ((yy - (fh - 1) / 2) / (fh / 2)) ** 2
        alpha = np.clip((1.0 - r) / 0.15, 0.0, 1.0)
        # the pasted face may reach beyond the cut-out: grow the canvas sideways if needed
        pad_l, pad_r = max(0, -x1), max(0, x1 + fw - rgba.shape[1])
        if pad_l or pad_r:
            rgba = cv2.copyMakeBorder(rgba, 0, 0, pad_l, pad_r, cv2.BORDER_CONSTANT, value=0)
            x1 += pad_l
        roi = rgba[y1 : y1 + fh, x1 : x1 + fw]
        a = alpha[..., None]
        roi[..., :3] = (roi[..., :3] * (1 - a) + patch * a).astype(np.uint8)
        roi[..., 3] = np.maximum(roi[..., 3], (alpha * 255).astype(np.uint8))
        source += f" face {face.source}"
        foot_x = sprite.foot_x + pad_l
    else:
        foot_x = sprite.foot_x
    return Sprite(rgba=np.ascontiguousarray(rgba), foot_x=foot_x, source=source)
