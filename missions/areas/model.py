"""The :class:`Area` to patrol: district boundary, no-fly holes and a local metric frame."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from functools import cached_property

import shapely
from shapely.geometry import Point, Polygon

from missions.areas.rings import Coord, validate_ring
from missions.errors import AreaError
from missions.geo import LocalFrame
from missions.shapes import circle_polygon_geo, circle_polygon_local, geo_to_local, local_to_geo

log = logging.getLogger("missions.areas")


@dataclass(frozen=True)
class Hole:
    """A no-fly zone: the route never enters it; it is uploaded as a fence exclusion.

    Attributes:
        name: Label for messages and maps (``"hole 1"``, ``"hospital"``).
        polygon_geo: Its polygon in (lon, lat) degrees. For a circle, the circumscribed polygon.
        where: Where it was read from (``"demo.geojson: feature 0, ring 1 (hole 1)"``).
        circle: ``(lat_deg, lon_deg, radius_m)`` when the zone is a circle (fence item 5004).
    """

    name: str
    polygon_geo: Polygon
    where: str = ""
    circle: tuple[float, float, float] | None = None


@dataclass
class RawPart:
    """One polygon of an area file: validated outer ring and interior rings (lon, lat)."""

    outer: list[Coord]
    where: str
    holes: list[Hole] = field(default_factory=list)


@dataclass
class RawArea:
    """What a reader found in a file, before the parts are merged into one :class:`Area`."""

    source: str
    coord_order: str
    name: str | None = None
    parts: list[RawPart] = field(default_factory=list)
    holes: list[Hole] = field(default_factory=list)
    home: tuple[float, float, float] | None = None
    return_point: tuple[float, float, float] | None = None


@dataclass
class Area:
    """A district to patrol, with its no-fly holes.

    Geographic geometries are shapely objects in (lon, lat) degrees; local ones are metres in
    :attr:`frame` (x east, y north).

    Attributes:
        name: District name (from the file, else the file name).
        source: The file it was read from.
        polygon_geo: The district boundary, without holes.
        holes: No-fly zones: interior rings of the file, exclusion zones, config ``no_fly``.
        frame: Local metric frame centred on the district.
        home_hint: ``(lat, lon, alt_m AMSL)`` of a ``home`` point given in the file, if any.
        return_point: ``(lat, lon, alt_m)`` fence return point from a fence file, if any.
        coord_order: ``"[lon, lat]"`` or ``"[lat, lon]"``: the file's order, for messages.
    """

    name: str
    source: str
    polygon_geo: Polygon
    holes: list[Hole]
    frame: LocalFrame
    home_hint: tuple[float, float, float] | None = None
    return_point: tuple[float, float, float] | None = None
    coord_order: str = "[lon, lat]"

    @classmethod
    def from_config(cls, cfg, area_path=None) -> Area:
        """The area named by a config's ``area`` section (see :func:`missions.areas.area_from_config`)."""
        from missions.areas import area_from_config

        return area_from_config(cfg, area_path)

    @cached_property
    def polygon_local(self) -> Polygon:
        """District boundary in local metres."""
        return geo_to_local(self.polygon_geo, self.frame)

    @cached_property
    def holes_local(self) -> list[Polygon]:
        """Each hole in local metres (circles as circumscribed polygons)."""
        out = []
        for h in self.holes:
            if h.circle is not None:
                lat, lon, r = h.circle
                cx, cy = self.frame.to_local(lat, lon)
                out.append(circle_polygon_local(float(cx), float(cy), r))
            else:
                out.append(geo_to_local(h.polygon_geo, self.frame))
        return out

    @property
    def holes_geo(self) -> list[Polygon]:
        """Each hole as a (lon, lat) polygon."""
        return [h.polygon_geo for h in self.holes]

    @cached_property
    def keepout_local(self):
        """Union of the holes in local metres (empty geometry when there are none)."""
        return shapely.union_all(self.holes_local) if self.holes else Polygon()

    @cached_property
    def free_local(self):
        """The area to cover: district minus holes, local metres (Polygon or MultiPolygon)."""
        if not self.holes:
            return self.polygon_local
        return self.polygon_local.difference(self.keepout_local)

    @property
    def free_geo(self):
        """District minus holes in (lon, lat)."""
        return local_to_geo(self.free_local, self.frame)

    @property
    def area_m2(self) -> float:
        """Area to cover (district minus holes), square metres."""
        return float(self.free_local.area)

    def check_home(
        self, lat_deg: float, lon_deg: float, max_distance_km: float, home_desc: str = "home"
    ) -> None:
        """Reject an area implausibly far from home: it catches swapped lat/lon.

        Args:
            lat_deg: Home latitude.
            lon_deg: Home longitude.
            max_distance_km: Largest accepted distance from home to the area's boundary.
            home_desc: Where home came from, for the message (``"area.home"``).

        Raises:
            AreaError: Farther than ``max_distance_km``; the message says whether swapping the
                file's coordinates would bring the area near home.
        """
        at_home = LocalFrame(lat_deg, lon_deg)
        d_km = geo_to_local(self.polygon_geo, at_home).distance(Point(0.0, 0.0)) / 1000.0
        if d_km <= max_distance_km:
            return
        swapped = shapely.transform(self.polygon_geo, lambda c: c[:, ::-1])
        minx, miny, maxx, maxy = swapped.bounds
        hint = ""
        if miny >= -90 and maxy <= 90 and minx >= -180 and maxx <= 180:
            d2 = geo_to_local(swapped, at_home).distance(Point(0.0, 0.0)) / 1000.0
            if d2 <= max_distance_km:
                hint = (
                    f"; with latitude and longitude swapped it would be {d2:.1f} km away: "
                    f"the coordinates look swapped (this format's order is {self.coord_order})"
                )
        if not hint:
            hint = (
                f" (area.max_home_distance_km = {max_distance_km:g}): check {home_desc} "
                f"(--home LAT,LON or area.home) and the file's coordinate order {self.coord_order}"
            )
        raise AreaError(
            f"{self.source}: the area is {d_km:,.0f} km from {home_desc} "
            f"({lat_deg:.5f}, {lon_deg:.5f}){hint}"
        )


def build_area(raw: RawArea, no_fly=(), name: str | None = None) -> Area:
    """Merge the parts a reader found into one :class:`Area` and add config no-fly zones.

    Args:
        raw: Reader output.
        no_fly: ``missions.settings.NoFlyZone``-like objects (``name``, ``polygon`` of
            ``[lat, lon]`` pairs or ``center`` + ``radius_m``).
        name: Area name override.

    Raises:
        AreaError: No polygon; parts that do not form one connected district; a bad no-fly zone.
    """
    if not raw.parts:
        raise AreaError(f"{raw.source}: no area polygon found")
    polys = [Polygon(p.outer) for p in raw.parts]
    union = shapely.union_all(polys) if len(polys) > 1 else polys[0]
    if not isinstance(union, Polygon):
        pieces = list(shapely.get_parts(union))
        names = [p.where.split(": ", 1)[-1] for p in raw.parts]
        listed = "; ".join(names[:4]) + ("; ..." if len(names) > 4 else "")
        raise AreaError(
            f"{raw.source}: the area has {len(pieces)} separate parts that do not touch "
            f"({listed}); a patrol covers one connected district: put each part in its own file"
        )
    outer = Polygon(union.exterior)
    holes: list[Hole] = []
    for k, ring in enumerate(union.interiors):
        holes.append(Hole(f"gap {k + 1} between parts", Polygon(ring), f"{raw.source}: gap"))
    for part in raw.parts:
        holes.extend(part.holes)
    holes.extend(raw.holes)
    for i, zone in enumerate(no_fly or ()):
        holes.append(_hole_from_config(zone, i))
    frame = _frame_for(outer)
    area = Area(
        name=name or raw.name or _stem(raw.source),
        source=raw.source,
        polygon_geo=outer,
        holes=holes,
        frame=frame,
        home_hint=raw.home,
        return_point=raw.return_point,
        coord_order=raw.coord_order,
    )
    return area


def _frame_for(outer: Polygon) -> LocalFrame:
    """The local frame centred on the district, also for one that crosses the antimeridian.

    Every geometry is projected vertex by vertex into this frame, which is right wherever the
    centre is; but the centroid of lon/lat coordinates that jump from +179.99 to -179.99 lies
    near longitude 0, half the Earth away (a 9.4 ha area measured as 43 ha). Longitudes are
    unwrapped (+360 for the western ones) to find the centre when the ring spans over 180°.
    """
    lons = [x for x, _ in outer.exterior.coords]
    if max(lons) - min(lons) > 180.0:
        unwrapped = Polygon([(x + 360.0 if x < 0 else x, y) for x, y in outer.exterior.coords])
        c = unwrapped.centroid
        return LocalFrame(round(c.y, 7), round(((c.x + 180.0) % 360.0) - 180.0, 7))
    c = outer.centroid
    return LocalFrame(round(c.y, 7), round(c.x, 7))


def _hole_from_config(zone, i: int) -> Hole:
    label = getattr(zone, "name", None) or f"no-fly {i}"
    where = f"config area.no_fly[{i}] ({label})"
    if getattr(zone, "polygon", None):
        pts = [(float(lon), float(lat)) for lat, lon in zone.polygon]
        ring = validate_ring(pts, where, closure_required=False)
        return Hole(label, Polygon(ring), where)
    center = zone.center
    if center is None or zone.radius_m is None:
        raise AreaError(f"{where}: give a polygon, or a center and radius_m")
    lat, lon, r = float(center.lat_deg), float(center.lon_deg), float(zone.radius_m)
    return Hole(label, circle_polygon_geo(lat, lon, r), where, circle=(lat, lon, r))


def _stem(source: str) -> str:
    from pathlib import Path

    return Path(source).stem or source
