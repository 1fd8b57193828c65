"""The ground scene the simulated camera looks at: a generated ground texture and real people.

The scene lives in the local east-north frame of the simulator's home (``missions.geo.LocalFrame``):
flat ground at home altitude, with

* a **ground texture** generated deterministically from a seed (grass with value noise, a grid of
  asphalt roads with dashed centre lines and pavements, paved plazas under the groups, tree
  crowns), :class:`GroundTexture`;
* **people** standing at configured ground positions (:class:`ScenePerson`) and **groups** of
  people packed around a centre (:class:`SceneGroup`). Each person is drawn from a cut-out of a
  real photograph (:func:`person_sprites`, see :mod:`sim.sprites`).

The settings (:class:`SceneSettings`) are the ``sim.scene`` config section. Rendering the scene
from a camera pose is :mod:`sim.camera`'s job.

This module holds the settings and the placement of the people (:class:`Scene`,
:class:`PlacedPerson`, :func:`group_layout`). The ground texture lives in :mod:`sim.ground` and
the person cut-outs in :mod:`sim.sprites`; their public names are re-exported here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import Field, model_validator

from missions.geo import LocalFrame
from missions.settings import StrictModel
from sim.ground import GroundTexture
from sim.sprites import BUS_PEOPLE, N_SPRITES, CutOut, Sprite, person_sprites

__all__ = [
    "BUS_PEOPLE",
    "N_SPRITES",
    "ClothingColour",
    "CutOut",
    "GroundTexture",
    "PlacedPerson",
    "Scene",
    "SceneGroup",
    "ScenePerson",
    "SceneSettings",
    "Sprite",
    "group_layout",
    "person_sprites",
]

ClothingColour = Literal[
    "black",
    "white",
    "grey",
    "red",
    "orange",
    "yellow",
    "green",
    "cyan",
    "blue",
    "purple",
    "pink",
    "brown",
]
"""The clothing colour words (:data:`detection.colour_names.COLOUR_NAMES_ZH`)."""


class _Placed(StrictModel):
    """A ground position: ``lat_deg``/``lon_deg`` (WGS-84) or ``east_m``/``north_m`` from home."""

    lat_deg: float | None = Field(default=None, ge=-90, le=90)
    lon_deg: float | None = Field(default=None, ge=-180, le=180)
    east_m: float | None = None
    north_m: float | None = None

    @model_validator(mode="after")
    def _one_position(self):
        geo = (self.lat_deg is not None, self.lon_deg is not None)
        local = (self.east_m is not None, self.north_m is not None)
        if any(geo) and any(local):
            raise ValueError("give either lat_deg/lon_deg or east_m/north_m, not both")
        if geo[0] != geo[1]:
            raise ValueError("give both lat_deg and lon_deg")
        if local[0] != local[1]:
            raise ValueError("give both east_m and north_m")
        if not any(geo) and not any(local):
            raise ValueError("a position is needed: lat_deg/lon_deg or east_m/north_m")
        return self

    def local_xy(self, frame: LocalFrame) -> tuple[float, float]:
        """Position in the scene's local frame: ``(east_m, north_m)`` from home."""
        if self.east_m is not None and self.north_m is not None:
            return float(self.east_m), float(self.north_m)
        x, y = frame.to_local(self.lat_deg, self.lon_deg)
        return float(x), float(y)


class ScenePerson(_Placed):
    """One person standing at a ground position."""

    name: str = ""
    height_m: float = Field(default=1.75, ge=0.8, le=2.3)
    """Body height, metres (the sprite is scaled to it)."""
    sprite: int | None = Field(default=None, ge=0)
    """Index of the cut-out to draw (0..7, see :func:`person_sprites`); None = from the seed."""
    mask: Literal["masked", "unmasked", "incorrect"] | None = None
    """Mask state: the person gets a real face photo with this label (:mod:`sim.dress`); None
    keeps the cut-out's own face (too small to judge)."""
    upper: ClothingColour | None = None
    """Upper-body clothing colour (a colour word, e.g. ``red``); None keeps the photo's."""
    lower: ClothingColour | None = None
    """Lower-body clothing colour; None keeps the photo's."""
    face: int | None = Field(default=None, ge=0)
    """Which face photo of the ``mask`` state to use (index, modulo their number); None = from
    the person's place in the scene."""


class SceneGroup(_Placed):
    """A group of people standing together around a centre (a gathering)."""

    name: str = "group"
    count: int = Field(default=6, ge=1, le=200)
    """Number of people."""
    spacing_m: float = Field(default=1.2, ge=0.5, le=10)
    """Typical distance between neighbouring people, metres."""
    height_m: float = Field(default=1.75, ge=0.8, le=2.3)
    mask: Literal["masked", "unmasked", "incorrect"] | None = None
    """Mask state of every member (see :class:`ScenePerson`); None keeps the cut-outs' faces."""


class SceneSettings(StrictModel):
    """What the simulated camera sees (config section ``sim.scene``)."""

    seed: int = 0
    """Seed of the generated ground and of every random choice (same seed = same frames)."""
    extent_m: float = Field(default=640.0, ge=50, le=5000)
    """Side of the square of generated ground centred on home, metres; it repeats beyond."""
    ground_res_m: float = Field(default=0.25, ge=0.05, le=2.0)
    """Texel size of the generated ground, metres (finer detail is added by a repeating tile)."""
    block_m: float = Field(default=110.0, ge=20)
    """Spacing of the generated road grid, metres."""
    billboard: Literal["facing", "upright"] = "facing"
    """How people are drawn. ``facing``: each cut-out stands on its foot point perpendicular to
    the camera's optical axis (an impostor: never foreshortened, so a detector trained on
    eye-level photos such as COCO finds it from an oblique drone view). ``upright``: a vertical
    cut-out turned toward the camera, foreshortened as a real standing body is (COCO nano models
    then miss most people below about -50 deg pitch, see docs/patrol.md)."""
    fps: float = Field(default=10.0, gt=0, le=60)
    """Frames per second (wall clock) of the simulated camera."""
    noise: float = Field(default=2.0, ge=0, le=20)
    """Standard deviation of Gaussian sensor noise added to each frame, grey levels."""
    people: list[ScenePerson] = Field(default_factory=list)
    """Single people: ``{east_m, north_m}`` or ``{lat_deg, lon_deg}``, optional ``height_m``."""
    groups: list[SceneGroup] = Field(default_factory=list)
    """Groups: ``{name, lat_deg, lon_deg (or east_m, north_m), count, spacing_m}``."""
    faces_dir: Path | None = None
    """Folder of the labelled face-mask photos that give people with a ``mask`` state their
    faces (``labels.csv`` + images, :mod:`sim.dress`). Default: $DRONEPATROL_SHARED, then
    ../shared next to the checkout (``data/real/masks``); read at run time, never copied."""


# --- people -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlacedPerson:
    """A person of the scene at its ground position.

    Attributes:
        east_m, north_m: Foot point in the scene's local frame, metres from home.
        height_m: Body height, metres.
        sprite: Index into :func:`person_sprites`.
        group: Name of the group the person belongs to, or None for a single person.
        mask: Mask state (``masked``, ``unmasked``, ``incorrect``) or None (not dressed).
        upper, lower: Clothing colour words, or None.
    """

    east_m: float
    north_m: float
    height_m: float
    sprite: int
    group: str | None = None
    mask: str | None = None
    upper: str | None = None
    lower: str | None = None
    face: int | None = None


def group_layout(count: int, spacing_m: float, rng: np.random.Generator) -> np.ndarray:
    """Positions of a group's people around its centre.

    A Vogel (sunflower) spiral, ``r_i = c * sqrt(i + 0.5)``, ``theta_i = i * 137.508 deg``
    (H. Vogel, *A better way to construct the sunflower head*, Math. Biosci. 1979), which packs
    points with an almost even nearest-neighbour distance; ``c`` is chosen so that the mean
    nearest-neighbour distance equals ``spacing_m`` after a small seeded jitter of each point.

    Args:
        count: Number of people (>= 1).
        spacing_m: Wanted distance between neighbours, metres.
        rng: Random generator for the jitter and the spiral's rotation.

    Returns:
        (count, 2) array of ``[east_m, north_m]`` offsets from the centre.
    """
    if count <= 0:
        return np.zeros((0, 2))
    i = np.arange(count, dtype=float)
    golden = math.radians(137.50776405)
    theta = i * golden + rng.uniform(0, 2 * math.pi)
    r = np.sqrt(i + 0.5)
    pts = np.column_stack([r * np.cos(theta), r * np.sin(theta)])
    pts += rng.normal(0.0, 0.05, size=pts.shape)
    if count > 1:
        d = np.linalg.norm(pts[:, None, :] - pts[None, :, :], axis=-1)
        np.fill_diagonal(d, np.inf)
        pts *= spacing_m / float(d.min(axis=1).mean())
    return pts - pts.mean(axis=0)


class Scene:
    """The people and ground of one scene, placed in the local frame of the sim's home.

    Args:
        settings: The ``sim.scene`` section.
        origin_lat_deg, origin_lon_deg: Home of the simulator (origin of the local frame; the
            ground is flat at home altitude).

    Attributes:
        frame: The :class:`missions.geo.LocalFrame` of the scene.
        people: Every :class:`PlacedPerson` (singles first, then each group's members).
    """

    def __init__(
        self, settings: SceneSettings, origin_lat_deg: float, origin_lon_deg: float
    ) -> None:
        self.settings = settings
        self.frame = LocalFrame(origin_lat_deg, origin_lon_deg)
        rng = np.random.default_rng(settings.seed)
        n_sprites = N_SPRITES
        people: list[PlacedPerson] = []
        for p in settings.people:
            x, y = p.local_xy(self.frame)
            sprite = p.sprite if p.sprite is not None else int(rng.integers(n_sprites))
            people.append(
                PlacedPerson(
                    x, y, p.height_m, sprite % n_sprites, None, p.mask, p.upper, p.lower, p.face
                )
            )
        self.group_centres_local: dict[str, tuple[float, float]] = {}
        for g in settings.groups:
            cx, cy = g.local_xy(self.frame)
            self.group_centres_local[g.name] = (cx, cy)
            offsets = group_layout(g.count, g.spacing_m, rng)
            for k, (dx, dy) in enumerate(offsets):
                height = float(np.clip(g.height_m + rng.normal(0, 0.06), 0.8, 2.3))
                sprite = (int(rng.integers(n_sprites)) + k) % n_sprites
                people.append(PlacedPerson(cx + dx, cy + dy, height, sprite, g.name, g.mask))
        self.people = people
        self._ground: GroundTexture | None = None

    @property
    def ground(self) -> GroundTexture:
        """The generated ground (built on first use: about a second for the default extent)."""
        if self._ground is None:
            self._ground = GroundTexture.generate(self.settings, self)
        return self._ground

    def person_positions_geo(self) -> list[tuple[float, float, str | None]]:
        """Where each person stands: ``(lat_deg, lon_deg, group name or None)``."""
        out = []
        for p in self.people:
            lat, lon = self.frame.to_geo(p.east_m, p.north_m)
            out.append((float(lat), float(lon), p.group))
        return out

    def group_centres_geo(self) -> dict[str, tuple[float, float]]:
        """Centroid of each group's people: name -> ``(lat_deg, lon_deg)``."""
        out = {}
        for name in self.group_centres_local:
            pts = [(p.east_m, p.north_m) for p in self.people if p.group == name]
            if not pts:
                continue
            x, y = np.mean(np.asarray(pts), axis=0)
            lat, lon = self.frame.to_geo(float(x), float(y))
            out[name] = (float(lat), float(lon))
        return out
