"""Person models: loading, class maps and the measured operating envelope of each model.

A person model is any Ultralytics detector (``.pt``, ``.onnx``, an OpenVINO folder). What the
pipeline needs to know about it lives in one :class:`ModelProfile`:

* which of its classes are people (COCO: ``person`` = 0; VisDrone: ``pedestrian`` = 0 and
  ``people`` = 1, the latter being people sitting or riding). Read from the model's own class
  names (Ultralytics ``metadata.yaml`` or the names embedded in ``.pt``/``.onnx``), or given in
  ``detection.classes``;
* the confidence threshold and whether sliced (tiled) inference pays off, chosen by measurement
  on the real frames of ``../shared/data/real`` (``benchmarks/field.py``);
* the **envelope**: the smallest person, in pixels of box height at the model's input scale,
  that the model still finds in at least half of the cases (``benchmarks/envelope.py`` measures
  it by shrinking real frames until the people it found at full size are lost). Below it the
  detector is blind: ``detect`` says so instead of reporting "0 people", and ``plan``/``patrol``
  warn when the survey altitude puts people below it.

Known model families (matched on the class names) carry the measured values; an unknown family
gets conservative COCO-like values and a log line saying they were not measured.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field, replace
from pathlib import Path

import yaml

from detection.errors import ModelNotFoundError

log = logging.getLogger(__name__)

PERSON_CLASS_NAMES = ("person", "pedestrian", "people")
"""Class names taken as people when no class map is configured."""


@dataclass(frozen=True)
class ModelProfile:
    """What the pipeline knows about one person model.

    Attributes:
        family: ``coco``, ``visdrone`` or ``unknown`` (from the class names).
        names: Class id -> name of the model.
        person_classes: Class ids counted as people.
        conf: Confidence threshold chosen by measurement.
        min_person_px: Envelope: smallest person box height (pixels at model input) found in
            at least half of the cases, measured.
        tiling: Whether sliced inference may switch on (``auto``) for this model.
        tile_below_px: ``auto`` slices when a person at full-frame scale would be smaller than
            this at model input (measured: where slices of the frame's short side found more of
            the real people than one full-frame pass).
        measured: The values come from a measurement (False: defaults for an unknown family).
        source: Where the numbers come from (shown by ``detect --json`` and the benchmarks).
    """

    family: str
    names: dict[int, str]
    person_classes: tuple[int, ...]
    conf: float
    min_person_px: float
    tiling: bool
    tile_below_px: float = 32.0
    measured: bool = True
    source: str = ""
    extra: dict = field(default_factory=dict)


# Measured values per family (benchmarks/envelope.py and benchmarks/field.py on the real frames of
# ../shared/data/real, 2 AMD EPYC cores; docs/detection.md "Operating envelope"):
# - min_person_px: recall of the model's own confident people, shrunk, is >= 50 % from this box
#   height up (COCO YOLO11n INT8: 52 % at 32-40 px, 26-38 % at 20-32 px; VisDrone YOLO11n: 51 %
#   at 8-10 px, 27 % at 6-8 px).
# - conf: the mean count error over the 10 aerial frames was lowest at 0.2 for the VisDrone model
#   (32 % with slices vs 38 % at 0.25); COCO stays at 0.25 (lower thresholds add false people on
#   the street clips and still leave 73 % error on the aerial frames).
# - tile_below_px: slices of the frame's short side beat one full-frame pass on 9 of 10 aerial
#   frames for the VisDrone model (people up to 52 px at full frame), and helped the COCO model
#   below 32 px.
FAMILY_DEFAULTS: dict[str, dict] = {
    "coco": {
        "conf": 0.25,
        "min_person_px": 32.0,
        "tiling": True,
        "tile_below_px": 32.0,
        "source": "COCO nano models: envelope and settings measured on ../shared/data/real",
    },
    "visdrone": {
        "conf": 0.2,
        "min_person_px": 8.0,
        "tiling": True,
        "tile_below_px": 64.0,
        "source": "VisDrone-trained YOLO11n: envelope and settings measured on ../shared/data/real",
    },
    "unknown": {
        "conf": 0.25,
        "min_person_px": 32.0,
        "tiling": True,
        "measured": False,
        "source": "not measured: COCO nano values assumed",
    },
}


def model_family(names: dict[int, str]) -> str:
    """``coco`` (80 classes, 0 = person), ``visdrone`` (0 = pedestrian, 1 = people), else ``unknown``."""
    low = {int(k): str(v).lower() for k, v in names.items()}
    if low.get(0) == "person" and len(low) == 80:
        return "coco"
    if low.get(0) == "pedestrian" and low.get(1) == "people":
        return "visdrone"
    return "unknown"


def read_metadata_names(path: str | os.PathLike) -> dict[int, str] | None:
    """Class names from an exported model's ``metadata.yaml`` (OpenVINO folder), if present.

    Args:
        path: Model file or folder.

    Returns:
        Class id -> name, or None when the model carries no readable metadata file (``.pt`` and
        ``.onnx`` embed their names; they are read after loading).
    """
    p = Path(path)
    meta = p / "metadata.yaml" if p.is_dir() else p.with_name("metadata.yaml")
    if not meta.is_file():
        return None
    try:
        data = yaml.safe_load(meta.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError):
        return None
    names = data.get("names")
    if isinstance(names, dict):
        return {int(k): str(v) for k, v in names.items()}
    if isinstance(names, list):
        return dict(enumerate(map(str, names)))
    return None


def person_classes_from_names(names: dict[int, str]) -> tuple[int, ...]:
    """Ids of the classes named person / pedestrian / people.

    Raises:
        ModelNotFoundError: No such class (the message lists the first classes).
    """
    ids = tuple(sorted(int(k) for k, v in names.items() if str(v).lower() in PERSON_CLASS_NAMES))
    if not ids:
        shown = ", ".join(map(str, names.values()))[:80]
        raise ModelNotFoundError(
            f"the person model has no person class (classes: {shown}); set detection.classes"
        )
    return ids


def profile_for(
    names: dict[int, str],
    classes: list[int] | None = None,
    conf: float | None = None,
    min_person_px: float | None = None,
    tile_below_px: float | None = None,
) -> ModelProfile:
    """The profile of a model with these class names, with configured overrides applied.

    Args:
        names: Class id -> name of the loaded model.
        classes: ``detection.classes`` (None: the person classes from the names).
        conf: ``detection.conf`` (None: the measured value of the family).
        min_person_px: ``detection.min_person_px`` (None: the measured envelope).
        tile_below_px: ``detection.tile_below_px`` (None: the measured value).

    Returns:
        :class:`ModelProfile`.

    Raises:
        ModelNotFoundError: A configured class id is not a class of the model, or the model has
            no person class and none is configured.
    """
    family = model_family(names)
    base = FAMILY_DEFAULTS[family]
    if classes:
        bad = [c for c in classes if c not in names]
        if bad:
            raise ModelNotFoundError(
                f"detection.classes: {bad} not classes of the person model (it has 0..{max(names)})"
            )
        person = tuple(sorted(set(int(c) for c in classes)))
    else:
        person = person_classes_from_names(names)
    prof = ModelProfile(
        family=family,
        names=dict(names),
        person_classes=person,
        conf=float(base["conf"]),
        min_person_px=float(base["min_person_px"]),
        tiling=bool(base["tiling"]),
        tile_below_px=float(base.get("tile_below_px", 32.0)),
        measured=bool(base.get("measured", True)),
        source=str(base["source"]),
    )
    if family == "unknown":
        log.info("person model classes not recognised: %s", prof.source)
    if conf is not None:
        prof = replace(prof, conf=float(conf))
    if tile_below_px is not None:
        prof = replace(prof, tile_below_px=float(tile_below_px))
    if min_person_px is not None:
        prof = replace(prof, min_person_px=float(min_person_px), source="detection.min_person_px")
    return prof


def _find_metadata(tflite: Path) -> Path | None:
    for cand in (tflite.with_suffix(".yaml"), tflite.parent / "metadata.yaml"):
        if cand.is_file():
            return cand
    found = sorted(tflite.parent.glob("*/metadata.yaml"))
    return found[0] if found else None


def tflite_to_openvino(path: str | os.PathLike, cache_dir: str | os.PathLike | None = None) -> Path:
    """An Ultralytics-loadable OpenVINO folder made from a YOLO ``.tflite`` (converted once, cached).

    OpenVINO reads TFLite directly. The converted model takes NCHW input like Ultralytics'
    OpenVINO exports (a layout conversion is added in front of the NHWC graph) and outputs boxes
    in input pixels (normalised boxes are scaled by the input size). Class names come from
    ``<name>.yaml`` or a ``metadata.yaml`` beside the file or in a folder next to it.

    Args:
        path: The ``.tflite`` file.
        cache_dir: Where the folder is written (default: the dronepatrol cache).

    Returns:
        The ``*_openvino_model`` folder.

    Raises:
        ModelNotFoundError: No class names found, or OpenVINO cannot read the file.
    """
    import hashlib

    import numpy as np

    from detection.density import default_cache_dir

    p = Path(path)
    meta = _find_metadata(p)
    if meta is None:
        raise ModelNotFoundError(
            f"{p}: no class names (put the Ultralytics metadata.yaml beside it as {p.stem}.yaml)"
        )
    digest = hashlib.sha256(p.read_bytes()).hexdigest()[:12]
    out = Path(cache_dir or default_cache_dir()) / "models" / f"{p.stem}-{digest}_openvino_model"
    xml = out / f"{p.stem}.xml"
    if xml.is_file() and (out / "metadata.yaml").is_file():
        return out
    try:
        import openvino as ov
        import openvino.opset13 as ops
        from openvino.preprocess import PrePostProcessor

        model = ov.Core().read_model(str(p))
        shape = model.input(0).get_shape()
        if len(shape) != 4 or shape[3] != 3:
            raise ModelNotFoundError(f"{p}: expected an NHWC image input, got {shape}")
        imgsz = int(shape[1])
        probe = ov.Core().compile_model(model, "CPU")(np.full(tuple(shape), 0.5, np.float32))[0]
        ppp = PrePostProcessor(model)
        ppp.input().tensor().set_layout(ov.Layout("NCHW"))
        ppp.input().model().set_layout(ov.Layout("NHWC"))
        if float(np.abs(probe[0, :4]).max()) <= 2.0:  # normalised boxes: to input pixels
            scale = np.ones((1, probe.shape[1], 1), np.float32)
            scale[0, :4, 0] = imgsz
            ppp.output().postprocess().custom(lambda node: ops.multiply(node, ops.constant(scale)))
        model = ppp.build()
    except ModelNotFoundError:
        raise
    except Exception as exc:  # OpenVINO raises RuntimeError and friends
        first = str(exc).strip().splitlines()[0][:120] if str(exc).strip() else type(exc).__name__
        raise ModelNotFoundError(f"{p}: OpenVINO cannot convert it ({first})") from None
    out.mkdir(parents=True, exist_ok=True)
    ov.save_model(model, str(xml), compress_to_fp16=False)
    data = yaml.safe_load(meta.read_text(encoding="utf-8")) or {}
    data.update({"batch": 1, "imgsz": [imgsz, imgsz], "task": "detect"})
    (out / "metadata.yaml").write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    log.info("converted %s to OpenVINO at %s", p, out)
    return out


def load_yolo(path: str | os.PathLike):
    """Load Ultralytics weights for detection, offline.

    Args:
        path: ``.pt``/``.onnx`` file, OpenVINO folder (``*_openvino_model`` with .xml/.bin), or
            a YOLO ``.tflite`` (converted to OpenVINO once, :func:`tflite_to_openvino`).

    Returns:
        ``ultralytics.YOLO`` loaded with ``task="detect"``.

    Raises:
        ModelNotFoundError: Missing path, or Ultralytics cannot load it (one line, with the
            cause, e.g. a missing runtime such as ``openvino``).
    """
    os.environ.setdefault("YOLO_OFFLINE", "1")
    os.environ.setdefault("YOLO_AUTOINSTALL", "false")
    p = Path(path)
    if not p.exists():
        raise ModelNotFoundError(f"person model {p} not found")
    if p.suffix.lower() == ".tflite":
        p = tflite_to_openvino(p)
    from ultralytics import YOLO

    try:
        return YOLO(str(p), task="detect")
    except Exception as exc:  # Ultralytics raises many types (FileNotFoundError, ModuleNotFound...)
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelNotFoundError(f"{p}: cannot load the person model ({first})") from None


def model_names(model) -> dict[int, str]:
    """Class id -> name of a loaded ``ultralytics.YOLO`` (after its first prediction for
    exported models, whose names are read when the backend is built)."""
    names = model.names if isinstance(model.names, dict) else dict(enumerate(model.names))
    return {int(k): str(v) for k, v in names.items()}
