"""The ground the simulated camera looks at: a texture generated deterministically from a seed.

Grass with value noise, a grid of asphalt roads with dashed centre lines and pavements, paved
plazas under the scene's groups, tree crowns: :class:`GroundTexture`, built from the
``sim.scene`` settings (:class:`sim.scene.SceneSettings`) and the people's positions
(:class:`sim.scene.Scene`), flat at home altitude in the scene's local east-north frame.
:mod:`sim.scene` re-exports :class:`GroundTexture`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from sim.scene import Scene, SceneSettings


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
