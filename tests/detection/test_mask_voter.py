"""The mask voter's back-off, and looking again once the camera came closer (the close look)."""

from __future__ import annotations

import numpy as np

from detection.faces import FaceMask, MaskLabel
from detection.masks import MaskVoter
from detection.settings import MaskSettings


def face(h, label=MaskLabel.MASKED):
    return FaceMask(np.array([0, 0, h * 0.8, h], float), 0.9, label, 0.9)


def test_faces_too_small_give_no_vote_and_the_voter_backs_off():
    v = MaskVoter(MaskSettings(frames_to_confirm=3, recheck_frames=15))
    for i in range(6):  # six looks at a face too small to judge
        assert v.needs_look(1, i, 90.0)
        v.add(1, face(10), i, 90.0)
    assert v.label(1) is MaskLabel.UNKNOWN
    assert not v.needs_look(1, 6, 90.0)  # backed off: next look in 15 frames


def test_look_again_looks_every_frame_and_keeps_the_votes():
    v = MaskVoter(MaskSettings(frames_to_confirm=3, recheck_frames=15))
    for i in range(6):
        v.add(1, face(10), i, 90.0)
    v.add(1, face(40), 6, 400.0)  # one usable face
    v.look_again()
    for i in range(7, 9):
        assert v.needs_look(1, i, 400.0)
        v.add(1, face(40), i, 400.0)
    assert v.label(1) is MaskLabel.MASKED  # three votes: the first one was kept
