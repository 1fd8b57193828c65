"""The simulated camera's scene: settings, people placement, cut-outs and generated ground."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from missions.geo import distance_m
from sim.scene import (
    N_SPRITES,
    GroundTexture,
    Scene,
    SceneGroup,
    ScenePerson,
    SceneSettings,
    group_layout,
    person_sprites,
)

HOME = (41.79, 123.43)


def test_position_is_lat_lon_or_local_but_not_both():
    assert ScenePerson(east_m=3, north_m=4).local_xy is not None
    ScenePerson(lat_deg=41.79, lon_deg=123.43)
    with pytest.raises(ValidationError, match="not both"):
        ScenePerson(lat_deg=41.79, lon_deg=123.43, east_m=1, north_m=2)
    with pytest.raises(ValidationError, match="both lat_deg and lon_deg"):
        ScenePerson(lat_deg=41.79)
    with pytest.raises(ValidationError, match="position is needed"):
        SceneGroup(count=5)
    with pytest.raises(ValidationError):
        SceneSettings(groups=[{"east_m": 0, "north_m": 0, "count": 5, "spacnig_m": 1}])


@pytest.mark.parametrize("count", [2, 5, 8, 20])
@pytest.mark.parametrize("spacing", [0.8, 1.5, 3.0])
def test_group_layout_mean_neighbour_distance_is_the_spacing(count, spacing):
    pts = group_layout(count, spacing, np.random.default_rng(1))
    assert pts.shape == (count, 2)
    d = np.linalg.norm(pts[:, None] - pts[None], axis=-1)
    np.fill_diagonal(d, np.inf)
    nn = d.min(axis=1)
    assert nn.mean() == pytest.approx(spacing, rel=0.1)
    assert nn.min() > 0.5 * spacing  # nobody stands on somebody else
    assert np.allclose(pts.mean(axis=0), 0.0, atol=1e-9)


def test_scene_places_people_where_configured():
    lat, lon = 41.7903, 123.4305
    settings = SceneSettings(
        people=[{"east_m": 10, "north_m": -5, "height_m": 1.6}],
        groups=[{"name": "market", "lat_deg": lat, "lon_deg": lon, "count": 6, "spacing_m": 1.2}],
    )
    scene = Scene(settings, *HOME)
    assert len(scene.people) == 7
    single = scene.people[0]
    assert (single.east_m, single.north_m, single.height_m, single.group) == (10, -5, 1.6, None)
    members = [p for p in scene.people if p.group == "market"]
    assert len(members) == 6
    c_lat, c_lon = scene.group_centres_geo()["market"]
    assert distance_m(c_lat, c_lon, lat, lon) < 0.01
    for p_lat, p_lon, group in scene.person_positions_geo()[1:]:
        assert group == "market"
        assert distance_m(p_lat, p_lon, lat, lon) < 4.0
    assert all(0 <= p.sprite < N_SPRITES for p in scene.people)


def test_scene_is_deterministic_per_seed():
    s = SceneSettings(seed=4, groups=[{"east_m": 0, "north_m": 30, "count": 7}])
    a, b = Scene(s, *HOME), Scene(s, *HOME)
    assert a.people == b.people
    c = Scene(s.model_copy(update={"seed": 5}), *HOME)
    assert a.people != c.people


def test_person_sprites_are_real_cut_outs():
    sprites = person_sprites()
    assert len(sprites) == N_SPRITES
    for s in sprites:
        h, w, ch = s.rgba.shape
        assert ch == 4 and s.rgba.dtype == np.uint8
        assert 2.0 < h / w < 5.0  # a standing person is tall and narrow
        alpha = s.rgba[..., 3]
        assert alpha[-3:].max() > 128  # feet on the bottom row
        assert alpha[:3].max() > 128  # head on the top row
        # the cut-out has a transparent background beside the body (it is not a box)
        assert 0.3 < (alpha > 128).mean() < 0.8
        assert 0 <= s.foot_x < w
        assert "bus.jpg" in s.source
    # mirrored copies are mirror images
    assert np.array_equal(sprites[2].rgba, sprites[0].rgba[:, ::-1])


def test_ground_texture_is_deterministic_and_textured():
    s = SceneSettings(seed=2, extent_m=200, ground_res_m=0.5)
    a = GroundTexture.generate(s)
    b = GroundTexture.generate(s)
    assert a.image.shape == (400, 400, 3)
    assert np.array_equal(a.image, b.image)
    # roads (grey) and grass (green) are both present
    bgr = a.image.reshape(-1, 3).astype(int)
    greenish = (bgr[:, 1] > bgr[:, 0] + 15) & (bgr[:, 1] > bgr[:, 2] + 15)
    greyish = np.abs(bgr[:, 0] - bgr[:, 2]) < 8
    assert greenish.mean() > 0.3 and greyish.mean() > 0.05
    # the detail tile repeats without a seam: its opposite edges match like neighbouring rows
    d = a.detail
    seam = np.abs(d[0] - d[-1]).mean()
    inner = np.abs(np.diff(d, axis=0)).mean()
    assert seam < 3 * inner
    # local -> texel mapping: home is the texture centre
    col, row, _ = a.texel_from_local() @ np.array([0.0, 0.0, 1.0])
    assert (col, row) == pytest.approx((200, 200))
