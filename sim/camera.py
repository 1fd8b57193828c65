"""The simulated camera: renders the :mod:`sim.scene` from the vehicle's pose.

A pinhole camera (no lens distortion) on an Earth-stabilised gimbal, as :class:`missions.geo.Pose`
describes it: the camera heading is ``yaw_deg + gimbal_yaw_deg``, its pitch ``gimbal_pitch_deg``
(0 = horizon, -90 = nadir) and roll ``gimbal_roll_deg``, all relative to the local horizon, so the
vehicle's own roll and pitch do not move the picture. The camera sits ``alt_m`` above flat ground
at home altitude.

Rendering (:class:`SceneRenderer`):

* Ground: the plane-to-image homography ``H = K [r1 r2 -R C]`` (Hartley and Zisserman, *Multiple
  View Geometry*, 2nd ed., section 8.1.1: a plane induces a homography between the plane and the
  image) maps the local ground ``(east_m, north_m, 1)`` to pixels; its inverse, composed with the
  texture's texel mapping, drives ``cv2.warpPerspective``. A repeating detail tile is warped the
  same way and faded out where one pixel covers more than a few centimetres. Pixels whose ray
  does not reach the ground within 3 km show a sky gradient.
* People: each :class:`sim.scene.PlacedPerson` is a billboard standing on its foot point: the
  cut-out is mapped by an affine transform onto the projections of its foot point, its head
  (``height_m`` straight up, or along the camera's up vector in ``facing`` mode) and a point
  ``height_m / 2`` to the camera's right, so its size follows the ground sampling distance (GSD)
  where it stands. People are drawn far to near (painter's algorithm), each with a soft shadow.

The video source (:class:`SimCamera`) is a live :class:`detection.sources.FrameSource`: every
``read()`` renders the scene at the simulator's true pose at that instant, paced to ``fps``.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from detection.geometry import CameraIntrinsics
from detection.sources import Frame, FrameSource, FrameTimeout
from missions.geo import Pose
from sim.scene import PlacedPerson, Scene
from sim.sprites import Sprite, person_sprites

SKY_HORIZON_BGR = np.array([235, 215, 190], np.float32)
SKY_ZENITH_BGR = np.array([200, 140, 80], np.float32)
MAX_GROUND_RANGE_M = 3000.0


class PinholeCamera(CameraIntrinsics):
    """Intrinsics of an ideal pinhole camera: :class:`detection.geometry.CameraIntrinsics` (same
    fields, ``K``, ``hfov_deg``) with the simulator's constructors.

    They differ from the base class: :meth:`from_hfov` takes the image size first and raises
    ``ValueError``; :meth:`from_settings` takes the configured size and prefers ``hfov_deg`` to
    the sensor (square pixels either way).
    """

    @classmethod
    def from_hfov(cls, width_px: int, height_px: int, hfov_deg: float) -> PinholeCamera:
        """Camera from image size and horizontal field of view: ``fx = (W / 2) / tan(hfov / 2)``.

        Raises:
            ValueError: Non-positive size or hfov outside (0, 180).
        """
        if width_px <= 0 or height_px <= 0:
            raise ValueError(f"image size must be positive, got {width_px}x{height_px}")
        if not 0 < hfov_deg < 180:
            raise ValueError(f"hfov_deg must be in (0, 180), got {hfov_deg}")
        return super().from_hfov(hfov_deg, width_px, height_px)

    @classmethod
    def from_settings(cls, camera) -> PinholeCamera:
        """Camera from the ``camera`` config section (:class:`missions.settings.CameraSettings`):
        ``hfov_deg``, or ``2 * atan(sensor_width_mm / (2 * focal_length_mm))`` when hfov is null."""
        hfov = camera.hfov_deg
        if hfov is None:
            hfov = math.degrees(
                2 * math.atan(camera.sensor_width_mm / (2 * camera.focal_length_mm))
            )
        return cls.from_hfov(camera.image_width_px, camera.image_height_px, hfov)


def camera_axes(pose: Pose) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Unit vectors of the camera in the local ENU frame: ``(right, up, forward)``.

    Heading ``psi = yaw_deg + gimbal_yaw_deg`` (clockwise from north), pitch ``theta =
    gimbal_pitch_deg`` (negative looks down), roll ``phi = gimbal_roll_deg`` (right side down
    positive). ``forward = (sin psi cos theta, cos psi cos theta, sin theta)``; at nadir the top of
    the image points along the heading.
    """
    psi = math.radians(pose.camera_yaw_deg)
    theta = math.radians(pose.gimbal_pitch_deg)
    phi = math.radians(pose.gimbal_roll_deg)
    fwd = np.array(
        [math.sin(psi) * math.cos(theta), math.cos(psi) * math.cos(theta), math.sin(theta)]
    )
    right = np.array([math.cos(psi), -math.sin(psi), 0.0])
    up = np.array(
        [-math.sin(psi) * math.sin(theta), -math.cos(psi) * math.sin(theta), math.cos(theta)]
    )
    if phi:
        right, up = (
            right * math.cos(phi) - up * math.sin(phi),
            up * math.cos(phi) + right * math.sin(phi),
        )
    return right, up, fwd


def world_to_camera(pose: Pose) -> np.ndarray:
    """3x3 rotation from local ENU to OpenCV camera axes (x right, y down, z forward)."""
    right, up, fwd = camera_axes(pose)
    return np.vstack([right, -up, fwd])


@dataclass
class _Look:
    detail_w: np.ndarray
    keep: np.ndarray
    haze_bgr: np.ndarray
    sky_mask: np.ndarray | None
    sky_bgr: np.ndarray | None


class SceneRenderer:
    """Renders a :class:`Scene` as a camera at a :class:`Pose` sees it.

    Args:
        scene: The scene (its local frame is centred on the sim's home).
        camera: Intrinsics.
        noise: Sensor noise standard deviation, grey levels (0 = none).
        billboard: ``upright`` or ``facing`` (see :class:`sim.scene.SceneSettings`).
        seed: Seed of the noise pattern.
        min_height_m: The camera never goes below this height above ground (on the ground it sits
            on the vehicle's landing gear).
    """

    def __init__(
        self,
        scene: Scene,
        camera: PinholeCamera,
        *,
        noise: float = 0.0,
        billboard: str = "facing",
        seed: int = 0,
        min_height_m: float = 0.3,
    ) -> None:
        self.scene = scene
        self.camera = camera
        self.billboard = billboard
        self.min_height_m = min_height_m
        self.sprites: tuple[Sprite, ...] = person_sprites()
        self.faces_available, self.person_sprites = _dress_people(scene, self.sprites)
        w, h = camera.width_px, camera.height_px
        u = (np.arange(w, dtype=np.float32) - camera.cx_px) / camera.fx_px
        v = (np.arange(h, dtype=np.float32) - camera.cy_px) / camera.fy_px
        self._u = u[None, :]
        self._v = v[:, None]
        self._ray_norm = np.sqrt(self._u**2 + self._v**2 + 1.0).astype(np.float32)
        self._noise: list[np.ndarray] = []
        if noise > 0:
            rng = np.random.default_rng(seed + 99)
            for _ in range(4):
                n = rng.normal(0.0, noise, size=(h, w, 1)).astype(np.float32)
                self._noise.append(n)
        self._noise_i = 0
        self._look_cache: tuple[tuple, _Look] | None = None
        self._people_xyz = np.array(
            [(p.east_m, p.north_m, 0.0) for p in scene.people], float
        ).reshape(-1, 3)

    # --- geometry -------------------------------------------------------------------------------

    def camera_centre(self, pose: Pose) -> np.ndarray:
        """Camera position in the scene's local frame: ``[east_m, north_m, height_m]``."""
        x, y = self.scene.frame.to_local(pose.lat_deg, pose.lon_deg)
        return np.array([float(x), float(y), max(float(pose.alt_m), self.min_height_m)])

    def project(self, pose: Pose, points_enu: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Project local points into the image.

        Args:
            pose: Camera pose.
            points_enu: (N, 3) ``[east_m, north_m, up_m]`` in the scene's local frame.

        Returns:
            ``(pixels, depth_m)``: (N, 2) ``[u, v]`` pixel coordinates and (N,) depth along the
            optical axis (<= 0 means behind the camera; its pixel is meaningless).
        """
        R = world_to_camera(pose)
        c = self.camera_centre(pose)
        pc = (np.asarray(points_enu, float).reshape(-1, 3) - c) @ R.T
        z = pc[:, 2]
        with np.errstate(divide="ignore", invalid="ignore"):
            u = self.camera.fx_px * pc[:, 0] / z + self.camera.cx_px
            v = self.camera.fy_px * pc[:, 1] / z + self.camera.cy_px
        return np.column_stack([u, v]), z

    def ground_homography(self, pose: Pose) -> np.ndarray:
        """3x3 homography from local ground ``[east_m, north_m, 1]`` to pixels ``[u, v, 1]``."""
        R = world_to_camera(pose)
        c = self.camera_centre(pose)
        return self.camera.K @ np.column_stack([R[:, 0], R[:, 1], -R @ c])

    # --- rendering ------------------------------------------------------------------------------

    def render(self, pose: Pose) -> np.ndarray:
        """The frame the camera takes at ``pose``: (H, W, 3) uint8 BGR."""
        import cv2

        cam = self.camera
        w, h = cam.width_px, cam.height_px
        ground = self.scene.ground
        R = world_to_camera(pose)
        c = self.camera_centre(pose)
        H_i2g = np.linalg.inv(self.ground_homography(pose))
        tex = cv2.warpPerspective(
            ground.image,
            ground.texel_from_local() @ H_i2g,
            (w, h),
            flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
            borderMode=cv2.BORDER_WRAP,
        )
        s = 1.0 / ground.detail_res_m
        detail = cv2.warpPerspective(
            ground.detail,
            np.array([[s, 0, 0], [0, -s, 0], [0, 0, 1.0]]) @ H_i2g,
            (w, h),
            flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
            borderMode=cv2.BORDER_WRAP,
        )
        look = self._look(pose, float(c[2]))
        # shade = (1 + fade * (detail - 1)) * (1 - haze), per pixel
        shade = cv2.multiply(cv2.add(cv2.multiply(detail - 1.0, look.detail_w), 1.0), look.keep)
        img = tex.astype(np.float32)
        img *= shade[..., None]
        img += look.haze_bgr
        if look.sky_mask is not None:
            np.copyto(img, look.sky_bgr, where=look.sky_mask[..., None])
        self._draw_people(img, pose, R, c)
        if self._noise:
            img += self._noise[self._noise_i % len(self._noise)]
            self._noise_i += 1
        np.clip(img, 0, 255, out=img)
        out = img.astype(np.uint8)
        zoom = float((pose.extra or {}).get("zoom", 1.0))
        if zoom > 1.001:  # digital zoom: the centre 1/zoom of the picture, scaled up
            cw, ch = max(2, int(round(w / zoom))), max(2, int(round(h / zoom)))
            x0, y0 = (w - cw) // 2, (h - ch) // 2
            out = cv2.resize(
                out[y0 : y0 + ch, x0 : x0 + cw], (w, h), interpolation=cv2.INTER_LINEAR
            )
        return out

    def _look(self, pose: Pose, height_m: float) -> _Look:
        """Per-pixel maps that depend only on the camera's height, pitch and roll (cached)."""
        key = (
            round(height_m * 4) / 4,
            round(pose.gimbal_pitch_deg, 1),
            round(pose.gimbal_roll_deg, 1),
        )
        if self._look_cache is not None and self._look_cache[0] == key:
            return self._look_cache[1]
        hq, pitch, roll = key
        R = world_to_camera(
            Pose(
                t_s=0, lat_deg=0, lon_deg=0, alt_m=hq, gimbal_pitch_deg=pitch, gimbal_roll_deg=roll
            )
        )
        # world z-component of each pixel's ray (R^T K^-1 p): linear in (u, v)
        rz = (R[0, 2] * self._u + R[1, 2] * self._v + R[2, 2]).astype(np.float32)
        with np.errstate(divide="ignore", invalid="ignore"):
            dist = np.where(rz < -1e-6, max(hq, self.min_height_m) * self._ray_norm / -rz, np.inf)
        gsd = dist / self.camera.fx_px
        detail_w = np.clip(1.0 - (gsd - 0.02) / 0.05, 0.0, 1.0).astype(np.float32)
        haze = np.clip(dist / 2500.0, 0.0, 1.0).astype(np.float32)
        haze_bgr = (haze[..., None] * SKY_HORIZON_BGR).astype(np.float32)
        sky = ~(dist < MAX_GROUND_RANGE_M)
        sky_mask = sky if sky.any() else None
        sky_bgr = None
        if sky_mask is not None:
            elev = np.clip(-rz / self._ray_norm, -1.0, 1.0)  # sine of the ray's elevation
            sky_w = np.clip(-elev * 3.0, 0.0, 1.0)[..., None]
            sky_bgr = (SKY_HORIZON_BGR + (SKY_ZENITH_BGR - SKY_HORIZON_BGR) * sky_w).astype(
                np.float32
            )
        look = _Look(detail_w, (1.0 - haze).astype(np.float32), haze_bgr, sky_mask, sky_bgr)
        self._look_cache = (key, look)
        return look

    def visible_people(self, pose: Pose, margin_px: float = 0.0) -> list[tuple[int, float, float]]:
        """People whose foot point is in the image: ``(index, u, v)`` of each."""
        if not len(self._people_xyz):
            return []
        px, z = self.project(pose, self._people_xyz)
        w, h = self.camera.width_px, self.camera.height_px
        out = []
        for i, ((u, v), zi) in enumerate(zip(px, z, strict=True)):
            if zi > 0.5 and -margin_px <= u < w + margin_px and -margin_px <= v < h + margin_px:
                out.append((i, float(u), float(v)))
        return out

    def _draw_people(self, img: np.ndarray, pose: Pose, R: np.ndarray, c: np.ndarray) -> None:
        import cv2

        people = self.scene.people
        if not people:
            return
        cam = self.camera
        w, h = cam.width_px, cam.height_px
        right, up_cam, fwd = camera_axes(pose)
        right_h = np.array([right[0], right[1], 0.0])
        nr = np.linalg.norm(right_h)
        right_h = right_h / nr if nr > 1e-6 else np.array([1.0, 0.0, 0.0])
        up = up_cam if self.billboard == "facing" else np.array([0.0, 0.0, 1.0])
        feet = self._people_xyz
        depth = (feet - c) @ fwd
        order = np.argsort(-depth)
        shadow = np.zeros((h, w), np.float32)
        draws = []
        for i in order:
            if depth[i] <= 0.5:
                continue
            p: PlacedPerson = people[i]
            foot = feet[i]
            pts = np.array(
                [foot, foot + up * p.height_m, foot + right_h * (p.height_m / 2.0)], float
            )
            px, z = self.project(pose, pts)
            if np.any(z <= 0.3):
                continue
            foot_px, head_px, right_px = px
            size = max(np.linalg.norm(head_px - foot_px), 2 * np.linalg.norm(right_px - foot_px))
            if size < 3:
                continue
            lo = np.minimum.reduce(px) - size
            hi = np.maximum.reduce(px) + size
            if hi[0] < 0 or hi[1] < 0 or lo[0] >= w or lo[1] >= h:
                continue
            # soft shadow: an ellipse on the ground, offset behind the feet (sun in the south-west)
            ring = np.array(
                [
                    (
                        foot[0] + 0.3 + 0.45 * math.cos(a),
                        foot[1] + 0.3 + 0.3 * math.sin(a),
                        0.0,
                    )
                    for a in np.linspace(0, 2 * math.pi, 12, endpoint=False)
                ]
            )
            rpx, rz = self.project(pose, ring)
            if np.all(rz > 0.3):
                cv2.fillPoly(shadow, [np.round(rpx).astype(np.int32)], 0.45, lineType=cv2.LINE_AA)
            draws.append((self.person_sprites[i], foot_px, head_px, right_px))
        if shadow.any():
            shadow = cv2.GaussianBlur(shadow, (0, 0), 1.5)
            img *= (1.0 - shadow)[..., None]
        for sprite, foot_px, head_px, right_px in draws:
            _blit_sprite(img, sprite, foot_px, head_px, right_px)


def _dress_people(scene: Scene, sprites: tuple[Sprite, ...]) -> tuple[bool, list[Sprite]]:
    """Each person's sprite: the cut-out, dressed (:mod:`sim.dress`) when the person has a mask
    state or clothing colours. Returns ``(faces_available, sprites)``."""
    from sim.dress import dress_sprite, face_bank, find_faces_dir

    folder = scene.settings.faces_dir or find_faces_dir()
    bank = face_bank(str(folder) if folder else None)
    cache: dict[tuple, Sprite] = {}
    out = []
    for i, p in enumerate(scene.people):
        base = sprites[p.sprite % len(sprites)]
        if p.mask is None and p.upper is None and p.lower is None:
            out.append(base)
            continue
        face_i = p.face if p.face is not None else i + scene.settings.seed
        face = bank.pick(p.mask, face_i) if p.mask else None
        key = (p.sprite % len(sprites), face.source if face else None, p.upper, p.lower)
        if key not in cache:
            cache[key] = dress_sprite(base, face=face, upper=p.upper, lower=p.lower)
        out.append(cache[key])
    return bank.available, out


def _blit_sprite(
    img: np.ndarray, sprite: Sprite, foot_px: np.ndarray, head_px: np.ndarray, right_px: np.ndarray
) -> None:
    """Alpha-blend ``sprite`` into ``img`` (float32 BGR) with the affine transform that maps its
    foot, head and half-height-right points onto the given pixels."""
    import cv2

    h_img, w_img = img.shape[:2]
    target_h = float(np.linalg.norm(head_px - foot_px))
    rgba = sprite.rgba
    foot_x = sprite.foot_x
    scale = min(1.0, max(target_h, 2.0) * 1.5 / rgba.shape[0])
    if scale < 1.0:
        nh = max(2, int(round(rgba.shape[0] * scale)))
        nw = max(2, int(round(rgba.shape[1] * scale)))
        sx = nw / rgba.shape[1]
        rgba = cv2.resize(rgba, (nw, nh), interpolation=cv2.INTER_AREA)
        foot_x *= sx
    hs = float(rgba.shape[0])
    src = np.float32([[foot_x, hs], [foot_x, 0.0], [foot_x + hs / 2.0, hs]])
    dst = np.float32([foot_px, head_px, right_px])
    A = cv2.getAffineTransform(src, dst)
    corners = (
        np.array([[0, 0, 1], [rgba.shape[1], 0, 1], [0, hs, 1], [rgba.shape[1], hs, 1]], float)
        @ A.T
    )
    x0 = max(0, int(math.floor(corners[:, 0].min())))
    y0 = max(0, int(math.floor(corners[:, 1].min())))
    x1 = min(w_img, int(math.ceil(corners[:, 0].max())) + 1)
    y1 = min(h_img, int(math.ceil(corners[:, 1].max())) + 1)
    if x1 <= x0 or y1 <= y0:
        return
    A = A.copy()
    A[0, 2] -= x0
    A[1, 2] -= y0
    warped = cv2.warpAffine(
        rgba, A, (x1 - x0, y1 - y0), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT
    ).astype(np.float32)
    alpha = warped[..., 3:4] / 255.0
    roi = img[y0:y1, x0:x1]
    roi *= 1.0 - alpha
    roi += warped[..., :3] * alpha


class SimCamera(FrameSource):
    """A live video source that renders the scene at the simulator's true pose.

    A live :class:`detection.sources.FrameSource`: ``read()`` waits until the next
    frame is due (``1 / fps`` after the previous one), takes the pose at that instant from
    ``pose_fn`` (e.g. ``SimHandle.true_pose``), renders it and returns a ``Frame`` stamped with the
    wall-clock time. A slow consumer never gets stale frames: a late ``read()`` renders the
    present at once.

    Args:
        renderer: The :class:`SceneRenderer`.
        pose_fn: Returns the vehicle's true pose now (``Pose.t_s`` is ignored), or None while
            unknown (then ``read`` waits).
        fps: Frames per second.
        attach_pose: Put the true pose into ``Frame.pose`` (a real camera gives none; the patrol
            pairs frames with telemetry instead, so this is for tests and ``dronepatrol detect``).
        clock: Wall clock, seconds (``time.time``).
    """

    is_live = True
    is_stills = False
    frame_count = None

    def __init__(
        self,
        renderer: SceneRenderer,
        pose_fn: Callable[[], Pose | None],
        *,
        fps: float = 10.0,
        attach_pose: bool = False,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if fps <= 0:
            raise ValueError(f"fps must be positive, got {fps}")
        self.renderer = renderer
        self.pose_fn = pose_fn
        self.fps = float(fps)
        self.attach_pose = attach_pose
        self.clock = clock
        self.index = 0
        self.last_true_pose: Pose | None = None
        self._next_t: float | None = None
        self._closed = threading.Event()

    @property
    def name(self) -> str:
        """Human-readable source name."""
        return "sim camera"

    def read(self, timeout_s: float = 5.0):
        """Render the next frame.

        Args:
            timeout_s: Longest wait, seconds (for the frame to become due and the pose known).

        Returns:
            A :class:`detection.sources.Frame`, or None once :meth:`close` was called.

        Raises:
            FrameTimeout: No pose from ``pose_fn`` within ``timeout_s`` (the simulator has not
                started yet); the camera stays usable.
        """
        deadline = time.monotonic() + timeout_s
        now = self.clock()
        if self._next_t is not None and now < self._next_t:
            wait = min(self._next_t - now, max(0.0, deadline - time.monotonic()))
            if self._closed.wait(wait):
                return None
        while True:
            if self._closed.is_set():
                return None
            pose = self.pose_fn()
            if pose is not None:
                break
            if self._closed.wait(0.05):
                return None
            if time.monotonic() >= deadline:
                raise FrameTimeout(f"sim camera: no vehicle pose within {timeout_s:g} s")
        t_s = self.clock()
        image = self.renderer.render(pose)
        self.last_true_pose = pose
        self._next_t = max(t_s, (self._next_t or t_s)) + 1.0 / self.fps
        frame = Frame(
            image=image, t_s=t_s, index=self.index, pose=pose if self.attach_pose else None
        )
        self.index += 1
        return frame

    def close(self) -> None:
        """Stop: a pending or later ``read()`` returns None (idempotent)."""
        self._closed.set()
