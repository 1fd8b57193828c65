"""Colour names of clothing regions."""

from __future__ import annotations

import numpy as np
import pytest

from detection.colours import COLOUR_NAMES_ZH, dominant_colour, torso_colour


@pytest.mark.parametrize(
    ("bgr", "en", "zh"),
    [
        ((30, 30, 220), "red", "红色"),
        ((200, 60, 20), "blue", "蓝色"),
        ((40, 170, 40), "green", "绿色"),
        ((20, 220, 230), "yellow", "黄色"),
        ((0, 120, 250), "orange", "橙色"),
        ((150, 40, 130), "purple", "紫色"),
        ((245, 245, 245), "white", "白色"),
        ((15, 15, 15), "black", "黑色"),
        ((128, 128, 128), "grey", "灰色"),
        ((30, 60, 100), "brown", "棕色"),
        ((190, 170, 250), "pink", "粉色"),
    ],
)
def test_uniform_patches_get_their_names(bgr, en, zh):
    patch = np.zeros((20, 30, 3), np.uint8) + np.array(bgr, np.uint8)
    c = dominant_colour(patch)
    assert (c.en, c.zh) == (en, zh)
    assert c.share == pytest.approx(1.0)


def test_majority_wins_over_noise_and_every_name_has_chinese():
    rng = np.random.default_rng(1)
    img = rng.integers(0, 255, (60, 40, 3), dtype=np.uint8)
    img[:, :30] = (30, 30, 220)  # 75 % red shirt
    assert dominant_colour(img).en == "red"
    assert all(v.endswith("色") for v in COLOUR_NAMES_ZH.values())


def test_torso_colour_reads_the_shirt_not_the_head_or_legs():
    frame = np.full((200, 100, 3), 128, np.uint8)
    frame[10:40, 30:70] = (60, 120, 200)  # face
    frame[45:110, 20:80] = (200, 60, 20)  # blue shirt
    frame[110:190, 30:70] = (15, 15, 15)  # black trousers
    c = torso_colour(frame, np.array([20, 10, 80, 190]))
    assert c.en == "blue" and c.zh == "蓝色"


def test_empty_region_is_none():
    assert dominant_colour(np.zeros((0, 0, 3), np.uint8)) is None
    assert torso_colour(np.zeros((10, 10, 3), np.uint8), np.array([5, 5, 6, 6])) is None
