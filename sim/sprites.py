"""The people the simulated camera draws: cut-outs of real photographs.

The two full-length pedestrians of Ultralytics' ``bus.jpg`` (shipped with the ``ultralytics``
package, ``ultralytics.utils.ASSETS``), cut out with OpenCV's GrabCut segmentation (Rother,
Kolmogorov and Blake, *GrabCut: interactive foreground extraction using iterated graph cuts*,
SIGGRAPH 2004) started from hand-chosen boxes and strokes (:data:`BUS_PEOPLE`), with a feathered
alpha edge, plus their mirror images and darker copies: :func:`person_sprites` returns
:data:`N_SPRITES` :class:`Sprite`. ``zidane.jpg`` is not used: it shows only upper bodies, and a
standing person needs feet on the ground for the foot point that geotags it.

Where the people stand is :mod:`sim.scene`'s job (which re-exports these names).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class Sprite:
    """A cut-out person: ``rgba`` (H, W, 4) uint8 BGRA with a soft alpha; feet at the bottom row.

    Attributes:
        rgba: Image with alpha; the alpha bounding box is the whole image.
        foot_x: Column of the foot point (the horizontal centre of the feet), pixels.
        source: Where the pixels come from (``"bus.jpg#0"``).
    """

    rgba: np.ndarray
    foot_x: float
    source: str

    @property
    def height_px(self) -> int:
        """Sprite height in pixels (head to feet)."""
        return int(self.rgba.shape[0])


@dataclass(frozen=True)
class CutOut:
    """Hand-chosen hints that start the GrabCut segmentation of one person in a photo.

    Attributes:
        box: ``(x1, y1, x2, y2)`` around the person, pixels; outside it is background.
        fg: Strokes certainly on the person: ``(thickness_px, [(x, y), ...])`` polylines.
        bg: Strokes certainly not on the person (gaps between legs, a neighbour's arm).
    """

    box: tuple[int, int, int, int]
    fg: tuple[tuple[int, tuple[tuple[int, int], ...]], ...]
    bg: tuple[tuple[int, tuple[tuple[int, int], ...]], ...] = ()


BUS_PEOPLE: tuple[CutOut, ...] = (
    CutOut(  # the man in the cream coat, left
        box=(44, 393, 246, 906),
        fg=(
            (20, ((128, 412), (130, 465))),
            (60, ((120, 480), (120, 690))),
            (20, ((80, 565), (195, 580))),
            (18, ((98, 712), (82, 850))),
            (12, ((62, 878), (95, 884))),
            (18, ((152, 712), (178, 850))),
            (10, ((185, 876), (232, 880))),
        ),
        bg=(
            (10, ((128, 742), (130, 852))),
            (8, ((50, 716), (50, 806))),
            (8, ((238, 470), (238, 700))),
        ),
    ),
    CutOut(  # the man in the black coat and red shirt, middle
        box=(220, 401, 350, 864),
        fg=(
            (22, ((284, 422), (284, 476))),
            (50, ((290, 492), (285, 688))),
            (12, ((242, 525), (290, 520))),
            (20, ((270, 702), (272, 818))),
            (14, ((315, 706), (290, 798))),
            (12, ((262, 840), (284, 845))),
        ),
        bg=(
            (6, ((222, 545), (222, 620))),
            (8, ((348, 600), (348, 720))),
            (8, ((236, 405), (236, 478))),
        ),
    ),
)
"""Hints for the two full-length pedestrians of the 810x1080 ``bus.jpg``. (Its other two people
are cut by the image border, so they are not used.)"""


N_SPRITES = 8
"""Number of cut-outs :func:`person_sprites` returns."""


def _assets_dir() -> Path:
    from ultralytics.utils import ASSETS

    return Path(ASSETS)


@lru_cache(maxsize=1)
def person_sprites() -> tuple[Sprite, ...]:
    """The person cut-outs every scene draws from, computed once per process.

    The two full-length pedestrians of Ultralytics' ``bus.jpg`` (hints :data:`BUS_PEOPLE`), each
    segmented with ``cv2.grabCut`` (5 iterations, initialised from the box and the hand-drawn
    strokes), the mask's largest connected component kept, its edge eroded by one pixel and
    feathered with a Gaussian blur; each also mirrored left-right, and each of those also at 85 %
    brightness. Indices: 0-1 originals, 2-3 mirrors, 4-7 the darker copies of 0-3.

    Returns:
        Eight :class:`Sprite`.

    Raises:
        FileNotFoundError: The ``ultralytics`` package has no ``assets/bus.jpg``.
    """
    import cv2

    path = _assets_dir() / "bus.jpg"
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise FileNotFoundError(f"{path}: cannot read the Ultralytics sample image")
    cv2.setRNGSeed(12345)  # GrabCut's GMM initialisation draws from OpenCV's RNG
    base = [_cut_out(image, hint, f"bus.jpg#{i}") for i, hint in enumerate(BUS_PEOPLE)]
    mirrored = [
        Sprite(
            rgba=np.ascontiguousarray(s.rgba[:, ::-1]),
            foot_x=s.rgba.shape[1] - 1 - s.foot_x,
            source=s.source + " mirrored",
        )
        for s in base
    ]
    darker = []
    for s in base + mirrored:
        rgba = s.rgba.copy()
        rgba[..., :3] = (rgba[..., :3].astype(np.float32) * 0.85).astype(np.uint8)
        darker.append(Sprite(rgba=rgba, foot_x=s.foot_x, source=s.source + " 85%"))
    return tuple(base + mirrored + darker)


def _cut_out(image: np.ndarray, hint: CutOut, source: str) -> Sprite:
    import cv2

    h_img, w_img = image.shape[:2]
    x1, y1, x2, y2 = hint.box
    pad = 12
    cx1, cy1 = max(0, x1 - pad), max(0, y1 - pad)
    cx2, cy2 = min(w_img, x2 + pad), min(h_img, y2 + pad)
    crop = image[cy1:cy2, cx1:cx2].copy()
    mask = np.full(crop.shape[:2], cv2.GC_BGD, np.uint8)
    mask[y1 - cy1 : y2 - cy1, x1 - cx1 : x2 - cx1] = cv2.GC_PR_BGD
    for value, strokes in ((cv2.GC_FGD, hint.fg), (cv2.GC_BGD, hint.bg)):
        for thickness, pts in strokes:
            poly = np.array([(x - cx1, y - cy1) for x, y in pts], np.int32)
            cv2.polylines(mask, [poly], False, int(value), thickness)
    # pixels near the strokes are probably the person
    fg_seed = (mask == cv2.GC_FGD).astype(np.uint8)
    near = cv2.dilate(fg_seed, np.ones((15, 15), np.uint8)) > 0
    mask[near & (mask == cv2.GC_PR_BGD)] = cv2.GC_PR_FGD
    bgd = np.zeros((1, 65), np.float64)
    fgd = np.zeros((1, 65), np.float64)
    cv2.grabCut(crop, mask, None, bgd, fgd, 5, cv2.GC_INIT_WITH_MASK)
    fg = np.where((mask == cv2.GC_FGD) | (mask == cv2.GC_PR_FGD), 255, 0).astype(np.uint8)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(fg, connectivity=8)
    if n > 1:
        biggest = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
        fg = np.where(labels == biggest, 255, 0).astype(np.uint8)
    fg = cv2.morphologyEx(fg, cv2.MORPH_CLOSE, np.ones((5, 5), np.uint8))
    fg = cv2.erode(fg, np.ones((3, 3), np.uint8))
    alpha = cv2.GaussianBlur(fg, (5, 5), 1.2)
    ys, xs = np.nonzero(alpha > 8)
    top, bottom, left, right = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    rgba = np.dstack([crop, alpha])[top:bottom, left:right]
    # The foot point: horizontal centre of the lowest 5 % of the body.
    low = alpha[bottom - max(2, (bottom - top) // 20) : bottom, left:right] > 128
    cols = np.nonzero(low.any(axis=0))[0]
    foot_x = float(cols.mean()) if cols.size else (right - left) / 2.0
    return Sprite(rgba=np.ascontiguousarray(rgba), foot_x=foot_x, source=source)
