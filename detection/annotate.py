"""Drawing a :class:`detection.pipeline.FrameResult` on its frame with supervision annotators.

Boxes carry the track id and mask label (green masked, red unmasked, orange worn incorrectly,
grey unknown); gatherings are drawn as the convex hull of their members with the head count; a
HUD in the top-left corner shows the frame time (UTC), altitude, GSD and counts.
"""

from __future__ import annotations

import datetime as _dt
from typing import TYPE_CHECKING

import cv2
import numpy as np
import supervision as sv

from detection.faces import MaskLabel
from detection.privacy import anonymise

if TYPE_CHECKING:
    from detection.pipeline import FrameResult

MASK_COLOURS = {
    MaskLabel.MASKED: sv.Color(r=40, g=200, b=60),
    MaskLabel.UNMASKED: sv.Color(r=230, g=30, b=30),
    MaskLabel.INCORRECT: sv.Color(r=255, g=150, b=0),
    MaskLabel.UNKNOWN: sv.Color(r=160, g=160, b=160),
}
GATHERING_COLOUR = sv.Color(r=255, g=220, b=0)
_PALETTE = sv.ColorPalette([MASK_COLOURS[k] for k in MaskLabel])
_LABEL_INDEX = {k: i for i, k in enumerate(MaskLabel)}


TEXT_GAIN = 1.5
"""Labels are drawn at this multiple of supervision's ``calculate_optimal_text_scale`` (0.72 at
1280x720 gives letters about 16 px high, 5 px once a phone shows the frame 390 px wide; at 1.5 a
label is about 30 px high, 9 px on the phone)."""

HUD_GAIN = 0.6
"""The HUD's text is this fraction of the labels' (three long lines in the top-left corner)."""


def text_size(resolution_wh: tuple[int, int]) -> tuple[float, int]:
    """Text scale and line thickness for a frame, as supervision's annotators choose them.

    Args:
        resolution_wh: Frame ``(width, height)``, pixels.

    Returns:
        ``(text_scale, thickness)``: OpenCV font scale (:data:`TEXT_GAIN` x
        ``sv.calculate_optimal_text_scale``, at least 0.35) and line thickness in pixels
        (``sv.calculate_optimal_line_thickness``).
    """
    scale = max(0.35, TEXT_GAIN * sv.calculate_optimal_text_scale(resolution_wh))
    return scale, sv.calculate_optimal_line_thickness(resolution_wh)


def annotate_frame(
    image: np.ndarray,
    result: FrameResult,
    *,
    offset_xy: tuple[float, float] = (0.0, 0.0),
    privacy_xyxy: np.ndarray | None = None,
    t_s: float | None = None,
    frame_index: int | None = None,
) -> np.ndarray:
    """A copy of ``image`` with the result drawn on it.

    The regions ``result.privacy_xyxy`` are blurred first (:func:`detection.privacy.anonymise`),
    so every annotated frame written or streamed is anonymised as configured. Text size and line
    thickness follow the frame's size (:func:`text_size`).

    Args:
        image: The BGR frame the result was computed on, shape (H, W, 3), or a later frame of
            the same camera (the live video draws the latest result on every camera frame).
        result: The pipeline's result for that frame.
        offset_xy: Pixels ``(dx, dy)`` the result's boxes are moved by (the image motion since
            the result's frame).
        privacy_xyxy: Regions to blur instead of ``result.privacy_xyxy`` (pixels, (K, 4)).
        t_s: Time shown in the HUD instead of ``result.t_s`` (UNIX s).
        frame_index: Frame index shown in the HUD instead of ``result.frame_index``.

    Returns:
        New BGR uint8 array of the same shape.
    """
    regions = result.privacy_xyxy if privacy_xyxy is None else privacy_xyxy
    out = anonymise(image, regions, result.privacy_style, copy=True)
    h, w = out.shape[:2]
    text_scale, thickness = text_size((w, h))
    shift = np.array([*offset_xy, *offset_xy], dtype=float)
    persons = result.persons
    if persons:
        xyxy = np.array([p.xyxy for p in persons], dtype=float) + shift
        dets = sv.Detections(
            xyxy=xyxy,
            confidence=np.array([p.confidence for p in persons]),
            class_id=np.array([_LABEL_INDEX[p.mask] for p in persons]),
        )
        box = sv.BoxAnnotator(
            color=_PALETTE, thickness=thickness, color_lookup=sv.ColorLookup.CLASS
        )
        out = box.annotate(out, dets)
        labels = []
        for p in persons:
            tid = f"#{p.track_id}" if p.track_id is not None else ""
            mask = "" if p.mask is MaskLabel.UNKNOWN else f" {p.mask.value}"
            labels.append(f"{tid}{mask}".strip() or "person")
        lab = sv.LabelAnnotator(
            color=_PALETTE,
            text_scale=text_scale,
            text_thickness=thickness,
            text_padding=2,
            color_lookup=sv.ColorLookup.CLASS,
        )
        out = lab.annotate(out, dets, labels=labels)
        for g in result.gatherings:
            corners = []
            for i in g.member_index:
                x1, y1, x2, y2 = xyxy[i]
                corners += [(x1, y1), (x2, y1), (x2, y2), (x1, y2)]
            if not corners and g.crop_xyxy is not None:  # a packed crowd found by density
                x1, y1, x2, y2 = np.asarray(g.crop_xyxy, dtype=float) + shift
                corners = [(x1, y1), (x2, y1), (x2, y2), (x1, y2)]
            if len(corners) < 3:
                continue
            hull = cv2.convexHull(np.array(corners, dtype=np.float32)).reshape(-1, 2).astype(int)
            out = sv.draw_polygon(out, hull, GATHERING_COLOUR, thickness=thickness + 1)
            top = hull[np.argmin(hull[:, 1])]
            people = max(g.count, round(g.people_estimate))
            text = f"gathering {people}" + (" ALERT" if g.alerted else "")
            out = sv.draw_text(
                out,
                text,
                sv.Point(int(top[0]), max(10, int(top[1]) - 12)),
                text_color=sv.Color.BLACK,
                text_scale=text_scale * 1.2,
                text_thickness=thickness,
                background_color=GATHERING_COLOUR,
            )
    # the HUD is secondary: smaller than the labels, so that it leaves the picture free
    hud_scale = max(0.35, HUD_GAIN * text_scale)
    return draw_hud(out, result, hud_scale, thickness, t_s=t_s, frame_index=frame_index)


def draw_hud(
    image: np.ndarray,
    result: FrameResult,
    text_scale: float,
    thickness: int,
    *,
    t_s: float | None = None,
    frame_index: int | None = None,
) -> np.ndarray:
    """Draw the heads-up display (time, altitude, GSD, counts) in the top-left corner (the time
    and frame index of ``result`` unless ``t_s`` / ``frame_index`` are given)."""
    t_s = result.t_s if t_s is None else t_s
    frame_index = result.frame_index if frame_index is None else frame_index
    when = _dt.datetime.fromtimestamp(t_s, tz=_dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")[
        :-4
    ]
    alt = f"{result.pose.alt_m:.1f} m" if result.pose is not None else "-"
    gsd = f"{result.gsd_cm_px:.1f} cm/px" if result.gsd_cm_px is not None else "-"
    lines = [
        f"{when} UTC  frame {frame_index}",
        f"alt {alt}  GSD {gsd}{'  tiled' if result.tiled else ''}",
        f"persons {len(result.persons)}  gatherings {len(result.gatherings)}"
        f"  new alerts {len(result.alerts)}",
    ]
    font = cv2.FONT_HERSHEY_SIMPLEX
    sizes = [cv2.getTextSize(t, font, text_scale, thickness)[0] for t in lines]
    line_h = max(s[1] for s in sizes) + 8
    box_w = max(s[0] for s in sizes) + 12
    overlay = image.copy()
    cv2.rectangle(overlay, (0, 0), (box_w, line_h * len(lines) + 6), (0, 0, 0), -1)
    image = cv2.addWeighted(overlay, 0.55, image, 0.45, 0)
    for k, t in enumerate(lines):
        cv2.putText(
            image,
            t,
            (6, line_h * (k + 1)),
            font,
            text_scale,
            (255, 255, 255),
            thickness,
            cv2.LINE_AA,
        )
    return image
