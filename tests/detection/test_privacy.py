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


class _CountingDetector:
    """A stand-in face detector: one fixed face per call, counting the calls."""

    input_wh = (640, 480)

    def __init__(self, box):
        self.box = np.asarray(box, float)
        self.calls = 0

    def detect(self, image):
        from detection.faces import FaceMask, MaskLabel

        self.calls += 1
        return [FaceMask(self.box.copy(), 0.9, MaskLabel.UNMASKED, 0.0)]


def test_the_face_pass_runs_every_kth_frame_and_carries_its_faces_grown_by_the_motion():
    from detection.privacy import FacePass, PrivacySettings

    det = _CountingDetector([100, 100, 120, 124])
    fp = FacePass(det, PrivacySettings(face_pass="every", face_pass_every=3, face_pass_px=640))
    img = np.zeros((480, 640, 3), np.uint8)  # long side 640: no scaling, 0.04 -> 25.6 px/frame
    out = [fp.faces(img, i, np.zeros((0, 4))) for i in range(7)]
    assert det.calls == 3  # frames 0, 3, 6
    np.testing.assert_allclose(out[0], [[100, 100, 120, 124]])
    np.testing.assert_allclose(out[1], [[74.4, 74.4, 145.6, 149.6]])
    np.testing.assert_allclose(out[2], [[48.8, 48.8, 171.2, 175.2]])
    np.testing.assert_allclose(out[3], out[0])


def test_always_runs_the_pass_on_every_frame():
    from detection.privacy import FacePass, PrivacySettings

    det = _CountingDetector([10, 10, 30, 30])
    fp = FacePass(det, PrivacySettings(face_pass="always"))
    for i in range(4):
        fp.faces(np.zeros((100, 100, 3), np.uint8), i, np.zeros((0, 4)))
    assert det.calls == 4


def test_a_person_lost_between_passes_keeps_a_hidden_head_until_the_next_pass():
    """Someone walking out of the bottom edge: the person detector loses the body on frame 1,
    the face is still in view; the head seen on frame 0 stays hidden (grown) on frames 1-2."""
    from detection.privacy import FacePass, PrivacySettings

    class NoFaces(_CountingDetector):
        def detect(self, image):
            self.calls += 1
            return []

    fp = FacePass(NoFaces([0, 0, 0, 0]), PrivacySettings(face_pass="every", face_pass_every=3))
    img = np.zeros((480, 640, 3), np.uint8)
    head = np.array([[300, 400, 340, 470]], float)
    assert len(fp.faces(img, 0, head)) == 0  # seen: its own head box hides it
    f1 = fp.faces(img, 1, np.zeros((0, 4)))
    np.testing.assert_allclose(f1, [[274.4, 374.4, 365.6, 495.6]])
    assert len(fp.faces(img, 2, np.zeros((0, 4)))) == 1
    assert len(fp.faces(img, 3, np.zeros((0, 4)))) == 0  # the pass's turn again
    # a person still detected is not carried twice
    fp.faces(img, 4, head)
    assert len(fp.faces(img, 5, head + 5)) == 0


def test_a_person_lost_at_the_border_is_carried_with_the_image_motion_until_it_left():
    """A person cut by the bottom edge (the face detector does not find a half face, so the
    next pass does not take over): lost on frame 1, the region stays hidden after the pass of
    frame 3, moved down with the picture (40 px per frame here), until it is out of the frame."""
    from detection.privacy import FacePass, PrivacySettings, touches_edge

    class NoFaces(_CountingDetector):
        def detect(self, image):
            self.calls += 1
            return []

    canvas = _noise(480 + 400, 640, seed=3)

    def frame(k):  # the picture moves down by 40 px per frame
        top = 400 - 40 * k
        return np.ascontiguousarray(canvas[top : top + 480])

    fp = FacePass(
        NoFaces([0, 0, 0, 0]),
        PrivacySettings(face_pass="every", face_pass_every=3, face_pass_motion=0.0),
        lost_frames=20,
    )
    person = np.array([[300.0, 300.0, 360.0, 480.0]])  # touches the bottom border
    cut = touches_edge(person, (480, 640))
    assert cut.tolist() == [True]
    assert len(fp.faces(frame(0), 0, person, cut)) == 0
    seen = []
    for k in range(1, 5):
        r = fp.faces(frame(k), k, np.zeros((0, 4)), np.zeros(0, bool))
        assert len(r) >= 1, k  # hidden also after the pass of frame 3
        seen.append(r[-1])
    # moved by the measured motion (40 px per frame, +-3 px), stretched to the bottom border
    np.testing.assert_allclose([s[1] for s in seen], [340, 380, 420, 460], atol=3)
    assert all(s[3] >= 480 for s in seen)
    np.testing.assert_allclose([(s[0], s[2]) for s in seen], [(300, 360)] * 4, atol=3)
    # once moved out of the frame it is dropped
    assert len(fp.faces(frame(5), 5, np.zeros((0, 4)), np.zeros(0, bool))) == 0


def test_a_person_box_touching_the_border_is_hidden_whole():
    from detection.privacy import head_boxes, touches_edge

    boxes = np.array([[300, 500, 360, 720], [0, 100, 80, 400], [600, 100, 660, 300]], float)
    assert touches_edge(boxes, (720, 1280)).tolist() == [True, True, False]
    regions = head_boxes(boxes, shape=(720, 1280))
    assert regions[0, 3] >= 720 and regions[1, 3] >= 400  # whole boxes
    assert regions[2, 3] < 200  # a tall box inside the frame: the top quarter
