"""Colour naming: the dominant colour of a clothing region as a word in English and Chinese.

Each pixel is named in HSV space (OpenCV ranges: H 0-179, S and V 0-255) with the basic colour
terms of Berlin & Kay (*Basic Color Terms*, 1969) that officers use on a loudspeaker: black, white,
grey by value and saturation, then hue sectors for red, orange, yellow, green, cyan, blue,
purple, pink, and brown for dark orange/red. The region's colour is the most frequent name.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from detection.colour_names import COLOUR_NAMES_ZH

_NAMES = list(COLOUR_NAMES_ZH)


@dataclass(frozen=True)
class ColourName:
    """A named colour.

    Attributes:
        en: English name (``"red"``).
        zh: Chinese name (``"红色"``).
        share: Fraction of the region's pixels with this name, 0..1.
    """

    en: str
    zh: str
    share: float


def name_pixels(hsv: np.ndarray) -> np.ndarray:
    """Name every pixel of an HSV image.

    Args:
        hsv: uint8 array (..., 3) in OpenCV HSV (H 0-179).

    Returns:
        int array (...) of indices into ``list(COLOUR_NAMES_ZH)``.
    """
    h = hsv[..., 0].astype(np.int16) * 2  # degrees 0-358
    s = hsv[..., 1].astype(np.int16)
    v = hsv[..., 2].astype(np.int16)
    idx = np.full(h.shape, _NAMES.index("grey"), dtype=np.int16)
    chroma = s >= 60
    # hue sectors (degrees)
    hue_name = np.select(
        [
            (h < 15) | (h >= 340),
            h < 40,
            h < 70,
            h < 160,
            h < 195,
            h < 255,
            h < 315,
            h < 340,
        ],
        [
            _NAMES.index("red"),
            _NAMES.index("orange"),
            _NAMES.index("yellow"),
            _NAMES.index("green"),
            _NAMES.index("cyan"),
            _NAMES.index("blue"),
            _NAMES.index("purple"),
            _NAMES.index("pink"),
        ],
        default=_NAMES.index("grey"),
    )
    idx = np.where(chroma, hue_name, idx)
    # dark oranges/reds are brown; light, weakly saturated reds/purples are pink
    brown = chroma & (h < 40) & (v < 150) & ~((h < 15) & (s > 150) & (v > 90))
    idx = np.where(brown, _NAMES.index("brown"), idx)
    pink = (s >= 30) & (s < 110) & (v > 170) & ((h >= 300) | (h < 15))
    idx = np.where(pink, _NAMES.index("pink"), idx)
    # achromatic: value decides (Berlin-Kay black/white/grey)
    achro = ~chroma & ~pink
    idx = np.where(achro & (v < 60), _NAMES.index("black"), idx)
    idx = np.where(achro & (v >= 60) & (v < 190), _NAMES.index("grey"), idx)
    idx = np.where(achro & (v >= 190), _NAMES.index("white"), idx)
    idx = np.where(v < 40, _NAMES.index("black"), idx)
    return idx


def dominant_colour(image: np.ndarray, mask: np.ndarray | None = None) -> ColourName | None:
    """The most frequent colour name in a BGR region.

    Args:
        image: BGR uint8 region, shape (H, W, 3). It is downscaled to at most 48x48 first.
        mask: Optional bool (H, W): only True pixels count.

    Returns:
        :class:`ColourName`, or None for an empty region.
    """
    if image is None or image.size == 0 or image.shape[0] < 1 or image.shape[1] < 1:
        return None
    h, w = image.shape[:2]
    scale = min(1.0, 48.0 / max(h, w))
    if scale < 1.0:
        size = (max(1, int(w * scale)), max(1, int(h * scale)))
        image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
        if mask is not None:
            mask = cv2.resize(mask.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST) > 0
    hsv = cv2.cvtColor(image, cv2.COLOR_BGR2HSV)
    names = name_pixels(hsv)
    if mask is not None:
        names = names[mask]
    names = names.ravel()
    if names.size == 0:
        return None
    counts = np.bincount(names, minlength=len(_NAMES))
    best = int(np.argmax(counts))
    en = _NAMES[best]
    return ColourName(en, COLOUR_NAMES_ZH[en], float(counts[best] / names.size))


def torso_region(xyxy: np.ndarray, image_shape: tuple[int, ...]) -> tuple[int, int, int, int]:
    """Pixel box of a person's torso inside a person box (upright person).

    The upper body sits between about 20 % and 55 % of a standing person's height (below the
    head, above the hips); the central 60 % of the width avoids the background beside the arms.

    Returns:
        ``(x1, y1, x2, y2)`` integers clipped to the image; may be empty for tiny boxes.
    """
    x1, y1, x2, y2 = (float(v) for v in xyxy)
    bw, bh = x2 - x1, y2 - y1
    h, w = image_shape[:2]
    tx1 = int(max(0, x1 + 0.2 * bw))
    tx2 = int(min(w, x2 - 0.2 * bw))
    ty1 = int(max(0, y1 + 0.2 * bh))
    ty2 = int(min(h, y1 + 0.55 * bh))
    return tx1, ty1, max(tx1, tx2), max(ty1, ty2)


def torso_colour(image: np.ndarray, xyxy: np.ndarray) -> ColourName | None:
    """Dominant clothing colour of the person in box ``xyxy`` (pixels) of a BGR frame."""
    x1, y1, x2, y2 = torso_region(xyxy, image.shape)
    if x2 - x1 < 2 or y2 - y1 < 2:
        return None
    return dominant_colour(image[y1:y2, x1:x2])


CLEAR_SHARE = 0.5
"""A region's colour is named in a reminder only when at least this share of its pixels has
that name (:func:`clear_colour`): a passer-by must recognise it, so an unsure colour is left
out rather than guessed."""


def legs_region(xyxy: np.ndarray, image_shape: tuple[int, ...]) -> tuple[int, int, int, int]:
    """Pixel box of a standing person's legs (trousers, skirt): 58-90 % of the box height, the
    central 50 % of its width. Returns ``(x1, y1, x2, y2)`` clipped; may be empty."""
    x1, y1, x2, y2 = (float(v) for v in xyxy)
    bw, bh = x2 - x1, y2 - y1
    h, w = image_shape[:2]
    lx1 = int(max(0, x1 + 0.25 * bw))
    lx2 = int(min(w, x2 - 0.25 * bw))
    ly1 = int(max(0, y1 + 0.58 * bh))
    ly2 = int(min(h, y1 + 0.90 * bh))
    return lx1, ly1, max(lx1, lx2), max(ly1, ly2)


def clear_colour(
    image: np.ndarray, xyxy: np.ndarray, part: str = "upper", min_share: float = CLEAR_SHARE
) -> ColourName | None:
    """The colour of a person's upper or lower body when it is clear, else None.

    Args:
        image: BGR frame.
        xyxy: Person box, pixels.
        part: ``upper`` (:func:`torso_region`) or ``lower`` (:func:`legs_region`).
        min_share: Share of the region's pixels that must carry the colour's name.

    Returns:
        :class:`ColourName` whose ``share`` is at least ``min_share``, or None (region too
        small, or no colour dominant enough).
    """
    region = torso_region if part == "upper" else legs_region
    x1, y1, x2, y2 = region(xyxy, image.shape)
    if x2 - x1 < 3 or y2 - y1 < 3:
        return None
    c = dominant_colour(image[y1:y2, x1:x2])
    return c if c is not None and c.share >= min_share else None
