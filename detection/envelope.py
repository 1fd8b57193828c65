"""Operating envelope: how big a person will be for the detector, and whether it can see them.

A person seen from a camera pitched ``p`` degrees below the horizon shows about
``0.5 + 1.2 * cos(p)`` metres of box height: shoulders and head (0.5 m) from straight above,
growing to a standing person (1.7 m) seen from the side. Divided by the ground sample distance
(GSD, :func:`missions.camera.footprint` / :func:`detection.geometry.gsd_cm_px`) this is the
person's height in frame pixels; the model sees it scaled by ``imgsz / max(W, H)`` on a full
frame, or ``imgsz / slice side`` when sliced. A model finds people down to its measured
``min_person_px`` (:mod:`detection.models`); below it the frame is outside the envelope.

The planner inverts this like photogrammetry chooses an altitude from a GSD:
:func:`alt_for_person_px` gives the highest altitude at which people are still a given size.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace

SHOULDERS_M = 0.5
"""Apparent person size seen from straight above (head and shoulders), metres."""
STANDING_EXTRA_M = 1.2
"""Added, times cos(pitch), as the view turns to the side (1.7 m standing height)."""


def apparent_person_m(gimbal_pitch_deg: float) -> float:
    """Box height of a standing person, in ground metres, for a camera pitch (degrees, -90 nadir)."""
    return SHOULDERS_M + STANDING_EXTRA_M * math.cos(math.radians(abs(gimbal_pitch_deg)))


@dataclass(frozen=True)
class Envelope:
    """Expected person size on one frame against the model's envelope.

    Attributes:
        person_px_native: Person box height in frame pixels.
        person_px_full: The same at model input on a full-frame pass.
        person_px: At model input as the frame is run (sliced or full).
        min_person_px: The model's envelope (smallest person it finds, at model input).
        sliced: The frame is run in slices.
    """

    person_px_native: float
    person_px_full: float
    person_px: float
    min_person_px: float
    sliced: bool = False

    @property
    def inside(self) -> bool:
        """People are at least the smallest size the model finds."""
        return self.person_px >= self.min_person_px

    def sliced_at(self, side_px: float, imgsz: int) -> Envelope:
        """The envelope when the frame is run in square slices of ``side_px``."""
        return replace(
            self, person_px=self.person_px_native * imgsz / max(side_px, 1.0), sliced=True
        )

    def to_dict(self) -> dict:
        """JSON-ready: sizes rounded to 0.1 px, plus ``inside``."""
        d = {k: (round(v, 1) if isinstance(v, float) else v) for k, v in asdict(self).items()}
        d["inside"] = self.inside
        return d

    def describe(self) -> str:
        """One line for people: expected size against the envelope."""
        verdict = "inside" if self.inside else "OUTSIDE"
        return (
            f"people about {self.person_px:.0f} px at model input, model finds >= "
            f"{self.min_person_px:.0f} px: {verdict} the envelope"
        )


def frame_envelope(intr, pose, gsd_cm_px: float, imgsz: int, min_person_px: float) -> Envelope:
    """The envelope of a frame from its intrinsics, pose and GSD at the image centre.

    Args:
        intr: :class:`detection.geometry.CameraIntrinsics` of the frame.
        pose: The frame's pose (``gimbal_pitch_deg`` used).
        gsd_cm_px: GSD at the image centre, cm/px.
        imgsz: Model input size.
        min_person_px: The model's envelope.
    """
    native = apparent_person_m(pose.gimbal_pitch_deg) / (gsd_cm_px / 100.0)
    full = native * imgsz / max(intr.width_px, intr.height_px)
    return Envelope(native, full, full, float(min_person_px))


def person_px_for_plan(camera, alt_m: float, imgsz: int) -> float:
    """Person height at model input (full frame) for a camera config section flown at ``alt_m``.

    Args:
        camera: ``missions.settings.CameraSettings`` (field of view, image size, gimbal pitch).
        alt_m: Height above ground, metres.
        imgsz: Model input size.

    Raises:
        missions.errors.PlanningError: Bad camera or altitude (see ``missions.camera.footprint``).
    """
    from missions.camera import footprint

    fp = footprint(camera, alt_m)
    native = apparent_person_m(float(camera.gimbal_pitch_deg)) / (fp.gsd_cm_px / 100.0)
    return native * imgsz / max(camera.image_width_px, camera.image_height_px)


def alt_for_person_px(camera, person_px: float, imgsz: int) -> float:
    """Highest altitude (metres above ground) at which people are still ``person_px`` tall at
    model input. GSD grows linearly with altitude, so ``alt = 10 m * px(10 m) / person_px``.
    """
    ref = 10.0
    return ref * person_px_for_plan(camera, ref, imgsz) / person_px


def plan_envelope_warning(
    camera, alt_m: float, imgsz: int, min_person_px: float, model_label: str = "the person model"
) -> str | None:
    """A warning when a survey altitude puts people below the model's envelope, else None."""
    px = person_px_for_plan(camera, alt_m, imgsz)
    if px >= min_person_px:
        return None
    top = alt_for_person_px(camera, min_person_px, imgsz)
    return (
        f"at {alt_m:g} m people will be about {px:.0f} px at model input, below the "
        f"{min_person_px:.0f} px {model_label} finds (fly at or below {top:.0f} m, or use an "
        "aerial-trained model; docs/detection.md 'Operating envelope')"
    )


def configured_min_person_px(settings) -> tuple[float, str]:
    """The envelope of the configured person model without loading it.

    Reads the class names from the model's ``metadata.yaml`` (OpenVINO folders, converted
    ``.tflite``) to find its family; ``detection.min_person_px`` overrides. A model that cannot
    be found or carries no metadata gets the COCO nano value.

    Args:
        settings: The ``detection`` config section.

    Returns:
        ``(min_person_px, label)``: pixels at model input and a label naming the model.
    """
    from detection.models import FAMILY_DEFAULTS, model_family, read_metadata_names

    if settings.min_person_px is not None:
        return float(settings.min_person_px), "the configured person model"
    try:
        from detection.pipeline import resolve_model_path

        path = resolve_model_path(settings)
    except Exception:  # no model configured yet: plan anyway with the default's envelope
        return float(FAMILY_DEFAULTS["coco"]["min_person_px"]), "the default COCO model"
    names = read_metadata_names(path)
    family = model_family(names) if names else "unknown"
    label = {"coco": "the COCO model", "visdrone": "the VisDrone model"}.get(
        family, f"the person model {path.name}"
    )
    return float(FAMILY_DEFAULTS[family]["min_person_px"]), label


def survey_envelope_check(detection, camera, alt_m: float) -> tuple[str | None, bool]:
    """Whether a survey altitude keeps people inside the person model's envelope.

    Args:
        detection: The ``detection`` config section (model, ``imgsz``, ``envelope``).
        camera: The ``camera`` config section.
        alt_m: Survey height above ground, metres.

    Returns:
        ``(message, refuse)``: a warning (None when inside) and whether the configured
        ``detection.envelope`` is ``refuse``.
    """
    min_px, label = configured_min_person_px(detection)
    msg = plan_envelope_warning(camera, alt_m, detection.imgsz, min_px, label)
    return msg, msg is not None and detection.envelope == "refuse"
