"""The ground scene the simulated camera looks at: a generated ground texture and real people.

The scene lives in the local east-north frame of the simulator's home (``missions.geo.LocalFrame``):
flat ground at home altitude, with

* a **ground texture** generated deterministically from a seed (grass with value noise, a grid of
  asphalt roads with dashed centre lines and pavements, paved plazas under the groups, tree
  crowns), :class:`GroundTexture`;
* **people** standing at configured ground positions (:class:`ScenePerson`) and **groups** of
  people packed around a centre (:class:`SceneGroup`). Each person is drawn from a real photograph:
  the two full-length pedestrians of Ultralytics' ``bus.jpg`` (shipped with the ``ultralytics``
  package, ``ultralytics.utils.ASSETS``), cut out with OpenCV's GrabCut segmentation (Rother,
  Kolmogorov and Blake, *GrabCut: interactive foreground extraction using iterated graph cuts*,
  SIGGRAPH 2004) started from hand-chosen boxes and strokes, with a feathered alpha edge, plus
  their mirror images and darker copies (:func:`person_sprites`). ``zidane.jpg`` is not used: it shows only upper bodies, and
  a standing person needs feet on the ground for the foot point that geotags it.

The settings (:class:`SceneSettings`) are the ``sim.scene`` config section. Rendering the scene
from a camera pose is :mod:`sim.camera`'s job.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import Field, model_validator

from missions.geo import LocalFrame
from missions.settings import StrictModel

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


@dataclass(frozen=True)
class Sprite:
    """A cut-out person: ``rgba`` (H, W, 4) uint8 BGRA with a soft alpha; feet at the bottom row.

    Attributes:
        rgba: Image with alpha; the alpha bounding box is the whole image.
        foot_x: Column of the foot point (the horizontal centre of the feet), pixels.
        source: Where the pixels come from (``"bus.jpg#0"``).
    """

    rgba: np.ndarray
    foot_x: float
    source: str

    @property
    def height_px(self) -> int:
        """Sprite height in pixels (head to feet)."""
        return int(self.rgba.shape[0])


@dataclass(frozen=True)
class CutOut:
    """Hand-chosen hints that start the GrabCut segmentation of one person in a photo.

    Attributes:
        box: ``(x1, y1, x2, y2)`` around the person, pixels; outside it is background.
        fg: Strokes certainly on the person: ``(thickness_px, [(x, y), ...])`` polylines.
        bg: Strokes certainly not on the person (gaps between legs, a neighbour's arm).
    """

    box: tuple[int, int, int, int]
    fg: tuple[tuple[int, tuple[tuple[int, int], ...]], ...]
    bg: tuple[tuple[int, tuple[tuple[int, int], ...]], ...] = ()


BUS_PEOPLE: tuple[CutOut, ...] = (
    CutOut(  # the man in the cream coat, left
        box=(44, 393, 246, 906),
        fg=(
            (20, ((128, 412), (130, 465))),
            (60, ((120, 480), (120, 690))),
            (20, ((80, 565), (195, 580))),
            (18, ((98, 712), (82, 850))),
            (12, ((62, 878), (95, 884))),
            (18, ((152, 712), (178, 850))),
            (10, ((185, 876), (232, 880))),
        ),
        bg=(
            (10, ((128, 742), (130, 852))),
            (8, ((50, 716), (50, 806))),
            (8, ((238, 470), (238, 700))),
        ),
    ),
    CutOut(  # the man in the black coat and red shirt, middle
        box=(220, 401, 350, 864),
        fg=(
            (22, ((284, 422), (284, 476))),
            (50, ((290, 492), (285, 688))),
            (12, ((242, 525), (290, 520))),
            (20, ((270, 702), (272, 818))),
            (14, ((315, 706), (290, 798))),
            (12, ((262, 840), (284, 845))),
        ),
        bg=(
            (6, ((222, 545), (222, 620))),
            (8, ((348, 600), (348, 720))),
            (8, ((236, 405), (236, 478))),
        ),
    ),
)
"""Hints for the two full-length pedestrians of the 810x1080 ``bus.jpg``. (Its other two people
are cut by the image border, so they are not used.)"""


N_SPRITES = 8
"""Number of cut-outs :func:`person_sprites` returns."""


def _assets_dir() -> Path:
    from ultralytics.utils import ASSETS

    return Path(ASSETS)


@lru_cache(maxsize=1)
def person_sprites() -> tuple[Sprite, ...]:
    """The person cut-outs every scene draws from, computed once per process.

    The two full-length pedestrians of Ultralytics' ``bus.jpg`` (hints :data:`BUS_PEOPLE`), each
    segmented with ``cv2.grabCut`` (5 iterations, initialised from the box and the hand-drawn
    strokes), the mask's largest connected component kept, its edge eroded by one pixel and
    feathered with a Gaussian blur; each also mirrored left-right, and each of those also at 85 %
    brightness. Indices: 0-1 originals, 2-3 mirrors, 4-7 the darker copies of 0-3.

    Returns:
        Eight :class:`Sprite`.

    Raises:
        FileNotFoundError: The ``ultralytics`` package has no ``assets/bus.jpg``.
    """
    import cv2

    path = _assets_dir() / "bus.jpg"
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise FileNotFoundError(f"{path}: cannot read the Ultralytics sample image")
    cv2.setRNGSeed(12345)  # GrabCut's GMM initialisation draws from OpenCV's RNG
    base = [_cut_out(image, hint, f"bus.jpg#{i}") for i, hint in enumerate(BUS_PEOPLE)]
    mirrored = [
        Sprite(
            rgba=np.ascontiguousarray(s.rgba[:, ::-1]),
            foot_x=s.rgba.shape[1] - 1 - s.foot_x,
            source=s.source + " mirrored",
        )
        for s in base
    ]
    darker = []
    for s in base + mirrored:
        rgba = s.rgba.copy()
        rgba[..., :3] = (rgba[..., :3].astype(np.float32) * 0.85).astype(np.uint8)
        darker.append(Sprite(rgba=rgba, foot_x=s.foot_x, source=s.source + " 85%"))
    return tuple(base + mirrored + darker)


def _cut_out(image: np.ndarray, hint: CutOut, source: str) -> Sprite:
    import cv2

    h_img, w_img = image.shape[:2]
    x1, y1, x2, y2 = hint.box
    pad = 12
    cx1, cy1 = max(0, x1 - pad), max(0, y1 - pad)
    cx2, cy2 = min(w_img, x2 + pad), min(h_img, y2 + pad)
    crop = image[cy1:cy2, cx1:cx2].copy()
    mask = np.full(crop.shape[:2], cv2.GC_BGD, np.uint8)
    mask[y1 - cy1 : y2 - cy1, x1 - cx1 : x2 - cx1] = cv2.GC_PR_BGD
    for value, strokes in ((cv2.GC_FGD, hint.fg), (cv2.GC_BGD, hint.bg)):
        for thickness, pts in strokes:
            poly = np.array([(x - cx1, y - cy1) for x, y in pts], np.int32)
            cv2.polylines(mask, [poly], False, int(value), thickness)
    # pixels near the strokes are probably the person
    fg_seed = (mask == cv2.GC_FGD).astype(np.uint8)
    near = cv2.dilate(fg_seed, np.ones((15, 15), np.uint8)) > 0
    mask[near & (mask == cv2.GC_PR_BGD)] = cv2.GC_PR_FGD
    bgd = np.zeros((1, 65), np.float64)
    fgd = np.zeros((1, 65), np.float64)
    cv2.grabCut(crop, mask, None, bgd, fgd, 5, cv2.GC_INIT_WITH_MASK)
    fg = np.where((mask == cv2.GC_FGD) | (mask == cv2.GC_PR_FGD), 255, 0).astype(np.uint8)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(fg, connectivity=8)
    if n > 1:
        biggest = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
        fg = np.where(labels == biggest, 255, 0).astype(np.uint8)
    fg = cv2.morphologyEx(fg, cv2.MORPH_CLOSE, np.ones((5, 5), np.uint8))
    fg = cv2.erode(fg, np.ones((3, 3), np.uint8))
    alpha = cv2.GaussianBlur(fg, (5, 5), 1.2)
    ys, xs = np.nonzero(alpha > 8)
    top, bottom, left, right = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    rgba = np.dstack([crop, alpha])[top:bottom, left:right]
    # The foot point: horizontal centre of the lowest 5 % of the body.
    low = alpha[bottom - max(2, (bottom - top) // 20) : bottom, left:right] > 128
    cols = np.nonzero(low.any(axis=0))[0]
    foot_x = float(cols.mean()) if cols.size else (right - left) / 2.0
    return Sprite(rgba=np.ascontiguousarray(rgba), foot_x=foot_x, source=source)


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


# --- ground ---------------------------------------------------------------------------------------


def _value_noise(
    rng: np.random.Generator, shape: tuple[int, int], cells: int, octaves: int = 4
) -> np.ndarray:
    """Fractal value noise in [0, 1]: random grids of ``cells``, ``2*cells``... cells, upsampled
    bicubically and summed with halving amplitudes. Returns float32 of ``shape``."""
    import cv2

    h, w = shape
    out = np.zeros(shape, np.float32)
    amp, total = 1.0, 0.0
    for o in range(octaves):
        n = max(2, cells * (2**o))
        grid = rng.random((n + 1, n + 1)).astype(np.float32)
        out += amp * cv2.resize(grid, (w, h), interpolation=cv2.INTER_CUBIC)
        total += amp
        amp *= 0.5
    out /= total
    lo, hi = float(out.min()), float(out.max())
    return (out - lo) / max(hi - lo, 1e-6)


def _periodic_noise(rng: np.random.Generator, size: int, beta: float) -> np.ndarray:
    """Seamless (periodic) noise in [0, 1]: white noise shaped to a ``1 / f**beta`` power-law
    spectrum in the Fourier domain, so that the tile repeats without seams. (size, size) float32."""
    white = rng.normal(size=(size, size))
    fy = np.fft.fftfreq(size)[:, None]
    fx = np.fft.rfftfreq(size)[None, :]
    f = np.hypot(fx, fy)
    f[0, 0] = 1.0
    spectrum = np.fft.rfft2(white) / f ** (beta / 2.0)
    spectrum[0, 0] = 0.0
    out = np.fft.irfft2(spectrum, s=(size, size))
    lo, hi = np.percentile(out, [1, 99])
    return np.clip((out - lo) / max(hi - lo, 1e-9), 0, 1).astype(np.float32)


@dataclass
class GroundTexture:
    """The generated ground: a BGR texture covering a square centred on home, plus a fine tile.

    Attributes:
        image: (N, N, 3) uint8 BGR; row 0 is the north edge, column 0 the west edge.
        res_m: Metres per texel of ``image``.
        west_m, north_m: Local coordinates of the north-west corner of ``image``.
        detail: (M, M) float32 multiplicative detail tile (mean 1), repeating every
            ``M * detail_res_m`` metres.
        detail_res_m: Metres per texel of ``detail``.
    """

    image: np.ndarray
    res_m: float
    west_m: float
    north_m: float
    detail: np.ndarray
    detail_res_m: float

    def texel_from_local(self) -> np.ndarray:
        """3x3 affine matrix mapping homogeneous local ``[east_m, north_m, 1]`` to texel
        ``[col, row, 1]`` of :attr:`image`."""
        s = 1.0 / self.res_m
        return np.array([[s, 0, -self.west_m * s], [0, -s, self.north_m * s], [0, 0, 1.0]])

    @classmethod
    def generate(cls, settings: SceneSettings, scene: Scene | None = None) -> GroundTexture:
        """Build the ground deterministically from ``settings.seed``.

        Layers: grass (value noise between two greens with dry patches), a grid of roads every
        ``block_m`` (8 m asphalt, dashed white centre line, 3 m kerbed pavements), a paved plaza
        under each group and tree crowns (dark discs, shaded) on the grass away from people.

        Args:
            settings: Scene settings (seed, extent, resolution, road spacing).
            scene: The scene, to pave the ground under its groups and keep trees off its people.

        Returns:
            The :class:`GroundTexture`.
        """
        import cv2

        rng = np.random.default_rng(settings.seed + 1)
        res = settings.ground_res_m
        n = int(math.ceil(settings.extent_m / res))
        half = n * res / 2.0
        west, north = -half, half
        cells = max(4, int(settings.extent_m / 40))

        # grass
        g = _value_noise(rng, (n, n), cells, 5)
        dry = _value_noise(rng, (n, n), max(2, cells // 3), 3)
        grass_a = np.array([58, 120, 72], np.float32)  # BGR
        grass_b = np.array([40, 92, 52], np.float32)
        dry_c = np.array([70, 120, 130], np.float32)
        img = grass_a + (grass_b - grass_a) * g[..., None]
        dry_w = np.clip((dry - 0.6) * 2.5, 0, 1)[..., None] * 0.6
        img = img * (1 - dry_w) + dry_c * dry_w
        del g, dry, dry_w

        def to_px(x_m: float, y_m: float) -> tuple[int, int]:
            """Local metres (east, north) -> texture pixel (column, row)."""
            return int(round((x_m - west) / res)), int(round((north - y_m) / res))

        fine = _value_noise(rng, (n, n), cells * 4, 3)[..., None]
        asphalt = np.array([78, 78, 80], np.float32) * (0.85 + 0.3 * fine)
        paving = np.array([165, 170, 172], np.float32) * (0.88 + 0.24 * fine)
        del fine
        road_mask = np.zeros((n, n), np.uint8)
        pave_mask = np.zeros((n, n), np.uint8)
        line_mask = np.zeros((n, n), np.uint8)
        off_x, off_y = rng.uniform(0.3, 0.7, size=2) * settings.block_m
        road_w, pave_w = 8.0, 3.0
        k0 = int(math.floor((-half - off_x) / settings.block_m)) - 1
        k1 = int(math.ceil((half - off_x) / settings.block_m)) + 1
        dash, gap = 3.0, 5.0
        for k in range(k0, k1 + 1):
            for axis in (0, 1):
                c = k * settings.block_m + (off_x if axis == 0 else off_y)
                if abs(c) > half + road_w:
                    continue
                lo_r, hi_r = c - road_w / 2, c + road_w / 2
                lo_p, hi_p = lo_r - pave_w, hi_r + pave_w
                if axis == 0:  # road running north-south at x = c
                    cv2.rectangle(pave_mask, to_px(lo_p, half), to_px(hi_p, -half), 255, -1)
                    cv2.rectangle(road_mask, to_px(lo_r, half), to_px(hi_r, -half), 255, -1)
                    y = -half
                    while y < half:
                        cv2.line(line_mask, to_px(c, y), to_px(c, min(y + dash, half)), 255, 1)
                        y += dash + gap
                else:  # road running east-west at y = c
                    cv2.rectangle(pave_mask, to_px(-half, hi_p), to_px(half, lo_p), 255, -1)
                    cv2.rectangle(road_mask, to_px(-half, hi_r), to_px(half, lo_r), 255, -1)
                    x = -half
                    while x < half:
                        cv2.line(line_mask, to_px(x, c), to_px(min(x + dash, half), c), 255, 1)
                        x += dash + gap
        people_xy = np.asarray(
            [(p.east_m, p.north_m) for p in scene.people] if scene else [], float
        ).reshape(-1, 2)
        if scene is not None:
            for cx, cy in scene.group_centres_local.values():
                r = 9.0
                cv2.rectangle(pave_mask, to_px(cx - r, cy + r), to_px(cx + r, cy - r), 255, -1)
        pave = (pave_mask > 0)[..., None]
        img = np.where(pave, paving, img)
        road = (road_mask > 0)[..., None]
        img = np.where(road, asphalt, img)
        img = np.where((line_mask > 0)[..., None], np.float32(225.0), img)
        del asphalt, paving, pave, road

        # trees: shaded discs on grass, away from roads, plazas and people
        free = (pave_mask == 0) & (road_mask == 0)
        n_trees = int(settings.extent_m**2 / 900)
        for _ in range(n_trees):
            x, y = rng.uniform(-half, half, size=2)
            r = rng.uniform(2.0, 4.5)
            px, py = to_px(x, y)
            if not (0 <= px < n and 0 <= py < n) or not free[py, px]:
                continue
            if people_xy.size and np.min(np.hypot(*(people_xy - (x, y)).T)) < r + 3:
                continue
            shade = rng.uniform(0.7, 1.0)
            colour = (30 * shade, 75 * shade, 38 * shade)
            cv2.circle(img, (px, py), int(r / res), colour, -1, lineType=cv2.LINE_AA)
            cv2.circle(
                img,
                (px - int(0.3 * r / res), py - int(0.3 * r / res)),
                int(0.5 * r / res),
                (45 * shade, 105 * shade, 55 * shade),
                -1,
                lineType=cv2.LINE_AA,
            )
        image = np.clip(img, 0, 255).astype(np.uint8)
        image = cv2.GaussianBlur(image, (3, 3), 0.6)

        detail_res = 0.02
        detail = _periodic_noise(rng, 512, beta=1.6)
        detail = (0.8 + 0.4 * detail).astype(np.float32)
        return cls(
            image=image,
            res_m=res,
            west_m=west,
            north_m=north,
            detail=detail,
            detail_res_m=detail_res,
        )
