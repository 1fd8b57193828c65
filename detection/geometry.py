"""Ground projection: image pixels + camera intrinsics + vehicle pose -> flat-ground positions.

Model: an ideal pinhole camera (no lens distortion) with square pixels and the principal point at
the image centre, looking along its optical axis; flat ground at the pose's altitude below the
camera (``Pose.alt_m`` = height above ground). A pixel's viewing ray is rotated into the local
east-north-up (ENU) frame and intersected with the ground plane (Hartley & Zisserman, *Multiple
View Geometry*, 2nd ed., ch. 6: the finite projective camera).

Camera attitude uses the aerospace Z-Y-X Euler convention (yaw about down, pitch about the new
right axis, roll about forward; nose/camera up is positive pitch). With a stabilised gimbal
(:class:`missions.geo.Pose` semantics, the default) the camera attitude is ``(yaw + gimbal yaw,
gimbal pitch, gimbal roll)`` and the vehicle's roll and pitch do not move the image; with a camera
fixed to the airframe the vehicle attitude and the mount angles are composed.

Rays at or above the horizon never meet the ground: they are rejected (NaN), as are ground points
farther than ``max_range_m``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from missions.errors import ConfigError
from missions.geo import LocalFrame, Pose


@dataclass(frozen=True)
class CameraIntrinsics:
    """Pinhole intrinsics of one image size.

    Attributes:
        width_px, height_px: Image size in pixels.
        fx_px, fy_px: Focal lengths in pixels.
        cx_px, cy_px: Principal point in pixels (image centre).
    """

    width_px: int
    height_px: int
    fx_px: float
    fy_px: float
    cx_px: float
    cy_px: float

    @property
    def hfov_deg(self) -> float:
        """Horizontal field of view, degrees."""
        return math.degrees(2.0 * math.atan(self.width_px / (2.0 * self.fx_px)))

    @property
    def vfov_deg(self) -> float:
        """Vertical field of view, degrees."""
        return math.degrees(2.0 * math.atan(self.height_px / (2.0 * self.fy_px)))

    @property
    def K(self) -> np.ndarray:
        """The 3x3 intrinsic matrix ``[[fx, 0, cx], [0, fy, cy], [0, 0, 1]]`` (Hartley & Zisserman
        eq. 6.4)."""
        return np.array(
            [[self.fx_px, 0, self.cx_px], [0, self.fy_px, self.cy_px], [0, 0, 1.0]], float
        )

    @classmethod
    def from_hfov(cls, hfov_deg: float, width_px: int, height_px: int) -> CameraIntrinsics:
        """Intrinsics from a horizontal field of view: ``fx = (W / 2) / tan(hfov / 2)``, fy = fx.

        Raises:
            ConfigError: hfov outside (0, 180) degrees or a non-positive image size.
        """
        if not 0.0 < hfov_deg < 180.0:
            raise ConfigError(f"camera.hfov_deg: {hfov_deg} must be between 0 and 180 degrees")
        if width_px <= 0 or height_px <= 0:
            raise ConfigError(f"image size {width_px}x{height_px} px must be positive")
        f = (width_px / 2.0) / math.tan(math.radians(hfov_deg) / 2.0)
        return cls(width_px, height_px, f, f, width_px / 2.0, height_px / 2.0)

    @classmethod
    def from_sensor(
        cls,
        sensor_width_mm: float,
        focal_length_mm: float,
        width_px: int,
        height_px: int,
        sensor_height_mm: float | None = None,
    ) -> CameraIntrinsics:
        """Intrinsics from sensor size and focal length: ``fx = f_mm * W / sensor_width_mm``.

        ``fy`` uses the sensor height when given, else square pixels (fy = fx).
        """
        if sensor_width_mm <= 0 or focal_length_mm <= 0:
            raise ConfigError("camera.sensor_width_mm and camera.focal_length_mm must be positive")
        fx = focal_length_mm * width_px / sensor_width_mm
        fy = focal_length_mm * height_px / sensor_height_mm if sensor_height_mm else fx
        return cls(width_px, height_px, fx, fy, width_px / 2.0, height_px / 2.0)

    @classmethod
    def from_settings(
        cls, camera, width_px: int | None = None, height_px: int | None = None
    ) -> CameraIntrinsics:
        """Intrinsics for a camera config section at the size of the actual frames.

        Args:
            camera: ``missions.settings.CameraSettings`` (or any object with ``hfov_deg``,
                ``sensor_width_mm``, ``sensor_height_mm``, ``focal_length_mm``,
                ``image_width_px``, ``image_height_px``).
            width_px, height_px: Real frame size; default the configured image size. The field
                of view is kept when frames differ from the configured size (a resized stream).

        Returns:
            :class:`CameraIntrinsics` for ``width_px`` x ``height_px``.
        """
        cfg_w = int(getattr(camera, "image_width_px", 0) or 0) or int(width_px or 0)
        cfg_h = int(getattr(camera, "image_height_px", 0) or 0) or int(height_px or 0)
        w = int(width_px or cfg_w)
        h = int(height_px or cfg_h)
        sw = getattr(camera, "sensor_width_mm", None)
        fl = getattr(camera, "focal_length_mm", None)
        hfov = getattr(camera, "hfov_deg", None)
        if sw and fl:
            base = cls.from_sensor(sw, fl, cfg_w, cfg_h, getattr(camera, "sensor_height_mm", None))
            sx, sy = w / cfg_w, h / cfg_h
            return cls(w, h, base.fx_px * sx, base.fy_px * sy, w / 2.0, h / 2.0)
        if hfov:
            return cls.from_hfov(float(hfov), w, h)
        raise ConfigError("camera: give hfov_deg, or sensor_width_mm and focal_length_mm")


def _rot_zyx(yaw_deg: float, pitch_deg: float, roll_deg: float) -> np.ndarray:
    """Rotation FRD (forward-right-down) body axes -> NED, aerospace Z-Y-X order."""
    y, p, r = (math.radians(a) for a in (yaw_deg, pitch_deg, roll_deg))
    cy, sy, cp, sp, cr, sr = (
        math.cos(y),
        math.sin(y),
        math.cos(p),
        math.sin(p),
        math.cos(r),
        math.sin(r),
    )
    rz = np.array([[cy, -sy, 0], [sy, cy, 0], [0, 0, 1]])
    ry = np.array([[cp, 0, sp], [0, 1, 0], [-sp, 0, cp]])
    rx = np.array([[1, 0, 0], [0, cr, -sr], [0, sr, cr]])
    return rz @ ry @ rx


def camera_rotation(pose: Pose, stabilised: bool = True) -> np.ndarray:
    """Rotation matrix (3, 3) from camera axes (x right, y down, z forward) to ENU.

    Args:
        pose: Vehicle pose with gimbal angles.
        stabilised: True when the gimbal holds its pitch/roll against the horizon (then
            ``gimbal_pitch_deg``/``gimbal_roll_deg`` are earth-referenced); False for a camera
            fixed to the airframe (mount angles relative to the body, composed with the vehicle
            roll/pitch/yaw).
    """
    if stabilised:
        r_ned = _rot_zyx(pose.camera_yaw_deg, pose.gimbal_pitch_deg, pose.gimbal_roll_deg)
    else:
        body = _rot_zyx(pose.yaw_deg, pose.pitch_deg, pose.roll_deg)
        mount = _rot_zyx(pose.gimbal_yaw_deg, pose.gimbal_pitch_deg, pose.gimbal_roll_deg)
        r_ned = body @ mount
    cam_to_frd = np.array(
        [[0, 0, 1], [1, 0, 0], [0, 1, 0]], dtype=float
    )  # z->fwd, x->right, y->down
    ned_to_enu = np.array([[0, 1, 0], [1, 0, 0], [0, 0, -1]], dtype=float)
    return ned_to_enu @ r_ned @ cam_to_frd


def pixel_rays(intr: CameraIntrinsics, pixels_xy: np.ndarray, rot: np.ndarray) -> np.ndarray:
    """Unit viewing rays in ENU for pixels, shape (N, 3)."""
    px = np.asarray(pixels_xy, dtype=float).reshape(-1, 2)
    d = np.column_stack(
        [
            (px[:, 0] - intr.cx_px) / intr.fx_px,
            (px[:, 1] - intr.cy_px) / intr.fy_px,
            np.ones(len(px)),
        ]
    )
    rays = d @ rot.T
    return rays / np.linalg.norm(rays, axis=1, keepdims=True)


def ground_offsets(
    intr: CameraIntrinsics,
    pose: Pose,
    pixels_xy: np.ndarray,
    *,
    stabilised: bool = True,
    max_range_m: float = 1000.0,
    min_depression_deg: float = 0.5,
) -> np.ndarray:
    """Project pixels onto flat ground: east/north offsets from the point below the camera.

    Args:
        intr: Camera intrinsics of the frame size.
        pose: Camera/vehicle pose; ``alt_m`` is the height above the ground plane, metres.
        pixels_xy: Pixel coordinates ``[x, y]`` (x right, y down, origin top-left), shape (N, 2).
        stabilised: See :func:`camera_rotation`.
        max_range_m: Ground points farther than this from the point below the camera are
            rejected (near-horizon rays amplify pose errors without bound).
        min_depression_deg: Rays less than this far below the horizon are rejected (a ray at
            or above the horizon never meets the ground).

    Returns:
        (N, 2) array ``[east_m, north_m]``; rows of rejected pixels are NaN.
    """
    px = np.asarray(pixels_xy, dtype=float).reshape(-1, 2)
    if len(px) == 0:
        return np.empty((0, 2))
    rays = pixel_rays(intr, px, camera_rotation(pose, stabilised))
    down = -rays[:, 2]
    ok = down > math.sin(math.radians(min_depression_deg))
    out = np.full((len(px), 2), np.nan)
    if pose.alt_m <= 0:
        return out
    t = np.where(ok, pose.alt_m / np.where(ok, down, 1.0), np.nan)
    en = rays[:, :2] * t[:, None]
    far = np.hypot(en[:, 0], en[:, 1]) > max_range_m
    en[far] = np.nan
    out[ok] = en[ok]
    return out


def ground_points(
    intr: CameraIntrinsics,
    pose: Pose,
    pixels_xy: np.ndarray,
    frame: LocalFrame | None = None,
    **kwargs,
) -> tuple[np.ndarray, np.ndarray]:
    """Project pixels to geographic and local coordinates.

    Args:
        intr: Camera intrinsics.
        pose: Camera/vehicle pose (lat/lon of the camera, height above ground).
        pixels_xy: (N, 2) pixel coordinates.
        frame: Local ENU frame for the metre coordinates; default centred below the camera.
        **kwargs: ``stabilised``, ``max_range_m``, ``min_depression_deg`` of :func:`ground_offsets`.

    Returns:
        ``(lat_lon_deg, xy_m)``: two (N, 2) arrays, ``[lat, lon]`` and ``[east, north]`` in
        ``frame``; NaN rows for rejected pixels.
    """
    frame = frame or LocalFrame(pose.lat_deg, pose.lon_deg)
    en = ground_offsets(intr, pose, pixels_xy, **kwargs)
    if len(en) == 0:
        return np.empty((0, 2)), np.empty((0, 2))
    cam_x, cam_y = frame.to_local(pose.lat_deg, pose.lon_deg)
    xy = en + np.array([cam_x, cam_y])
    lat_lon = np.full_like(xy, np.nan)
    ok = ~np.isnan(xy).any(axis=1)
    if ok.any():
        lat_lon[ok] = frame.to_geo_array(xy[ok])
    return lat_lon, xy


def gsd_cm_px(
    intr: CameraIntrinsics, pose: Pose, pixel_xy: tuple[float, float] | None = None, **kwargs
) -> float | None:
    """Ground sample distance at a pixel (default the image centre), centimetres per pixel.

    GSD = slant range to the ground / focal length in pixels (for nadir: ``alt / fx``), the
    horizontal ground size of one pixel seen face-on; an oblique view stretches it further along
    the viewing direction.

    Returns:
        cm/px, or None when the pixel's ray does not meet the ground.
    """
    p = pixel_xy if pixel_xy is not None else (intr.cx_px, intr.cy_px)
    en = ground_offsets(intr, pose, np.array([p]), **kwargs)[0]
    if np.isnan(en).any():
        return None
    slant = math.sqrt(float(en[0]) ** 2 + float(en[1]) ** 2 + pose.alt_m**2)
    return slant / intr.fx_px * 100.0
