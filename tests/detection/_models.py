"""Real weights for the detection tests, loaded once per process (tests skip when absent).

Test modules import the fixtures from here (``from _models import ...``) rather than from a
second ``conftest.py``, which would shadow ``tests/conftest.py`` under the module name
``conftest``.
"""

from __future__ import annotations

import functools

import pytest
from testkit import shared_path

YOLO_REL = ("models", "yolo11n-int8-openvino", "yolo11n_int8_openvino_model")
FACE_REL = ("models", "ultraface-masked-rfb640", "RFB-640-masked_face-v2.onnx")


@functools.cache
def _load_yolo(path: str):
    from detection.persons import load_yolo

    return load_yolo(path)


@functools.cache
def _load_face(path: str):
    from detection.faces import load_face_mask_detector

    return load_face_mask_detector(path, conf=0.35)


@pytest.fixture(scope="session")
def yolo_model():
    """The default person model (YOLO11n INT8 OpenVINO)."""
    return _load_yolo(str(shared_path(*YOLO_REL)))


@pytest.fixture(scope="session")
def face_detector():
    """The default face-mask model (UltraFace RFB-640 masked)."""
    return _load_face(str(shared_path(*FACE_REL)))


@pytest.fixture
def make_pipeline(yolo_model, face_detector):
    """Factory: ``make(stills=False, overrides=None, **kwargs) -> DetectionPipeline`` (``model=``
    replaces the default person model); the pipelines' density workers stop at teardown."""
    from detection.pipeline import DetectionPipeline
    from groundstation.config import load_config

    made = []

    def make(stills: bool = False, overrides: dict | None = None, **kwargs):
        cfg = load_config(None, overrides or {})
        kwargs.setdefault("model", yolo_model)
        pipe = DetectionPipeline(
            cfg.detection, cfg.camera, stills=stills, face_detector=face_detector, **kwargs
        )
        made.append(pipe)
        return pipe

    yield make
    for pipe in made:
        pipe.close()
