"""Anonymisation regions and drawing (``detection.privacy``) on synthetic frames: no weights."""

from __future__ import annotations

import numpy as np
import pytest

from detection.pipeline import FrameResult
from detection.privacy import anonymise, head_boxes, privacy_regions


def _detail(a):
    """Mean absolute difference of horizontally adjacent pixels (blur and pixelate cut it)."""
    return float(np.abs(np.diff(a.astype(float), axis=1)).mean())


def _noise(h=200, w=300, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def test_head_of_a_standing_person_is_the_top_of_the_box_and_of_a_photo_the_upper_two_thirds():
    standing = np.array([[100, 50, 140, 170]])  # 40 x 120
    [h] = head_boxes(standing)
    assert h[1] < 50 and 80 <= h[3] <= 90  # top 28 % of 120 px, not the legs
    assert h[0] < 100 and h[2] > 140
    [hp] = head_boxes(standing, stills=True)
    assert hp[3] == pytest.approx(50 + 0.7 * 120)


def test_regions_per_mode():
    persons = np.array([[10, 10, 50, 130]], float)
    faces = np.array([[20, 15, 40, 35]], float)
    assert privacy_regions("off", persons, faces).shape == (0, 4)
    faces_mode = privacy_regions("faces", persons, faces)
    assert faces_mode.shape == (2, 4)
    assert faces_mode[0, 3] < 130  # a head, not the whole person
    # detector face boxes are grown: hair, ears and chin are outside them
    assert faces_mode[1, 0] < 20 and faces_mode[1, 3] > 35
    whole = privacy_regions("persons", persons, faces)
    np.testing.assert_allclose(whole[0], persons[0])


@pytest.mark.parametrize("style", ["blur", "pixelate"])
def test_anonymise_changes_the_regions_only(style):
    img = _noise()
    out = anonymise(img, np.array([[50, 40, 150, 140], [-20, -20, 10, 10]]), style, copy=True)
    assert out is not img and np.array_equal(img, _noise())  # the input is left as it was
    assert _detail(out[40:140, 50:150]) < 0.5 * _detail(img[40:140, 50:150])  # detail is gone
    mask = np.ones(img.shape[:2], bool)
    mask[40:140, 50:150] = False
    mask[0:10, 0:10] = False  # the region reaching outside the frame is clipped and hidden too
    assert np.array_equal(out[mask], img[mask])
    assert _detail(out[0:10, 0:10]) < _detail(img[0:10, 0:10])


def test_annotate_hides_the_result_privacy_regions():
    img = _noise()
    r = FrameResult(
        frame_index=0, t_s=0.0, pose=None, privacy_xyxy=np.array([[200.0, 100.0, 290.0, 190.0]])
    )
    out = r.annotate(img)
    assert out[100:190, 200:290].astype(float).std() < 0.5 * img[100:190, 200:290].std()
    r_off = FrameResult(frame_index=0, t_s=0.0, pose=None)
    out_off = r_off.annotate(img)
    assert np.array_equal(out_off[100:190, 200:290], img[100:190, 200:290])


def test_report_thumbnails_are_anonymised_like_frames():
    from detection.privacy import PrivacySettings, anonymise_snapshot

    img = _noise(120, 80)
    d = _detail(img)
    # without a face detector nothing can be located: the whole crop is pixelated
    assert _detail(anonymise_snapshot(img, PrivacySettings(), None)) < 0.5 * d
    assert _detail(anonymise_snapshot(img, PrivacySettings(blur="persons"), object())) < 0.5 * d
    assert np.array_equal(anonymise_snapshot(img, PrivacySettings(blur="off"), None), img)

    class OneFace:
        def detect(self, image):
            from detection.faces import FaceMask, MaskLabel

            return [FaceMask(np.array([60.0, 95.0, 75.0, 115.0]), 0.9, MaskLabel.UNMASKED, 0.1)]

    out = anonymise_snapshot(img, PrivacySettings(), OneFace())
    assert _detail(out[100:115, 62:75]) < 0.5 * _detail(img[100:115, 62:75])  # the face
    assert _detail(out[15:40, 20:60]) < 0.5 * _detail(img[15:40, 20:60])  # the subject's head
    assert np.array_equal(out[100:120, 0:40], img[100:120, 0:40])  # the rest is kept
