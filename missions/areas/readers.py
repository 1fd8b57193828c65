"""Readers of area files: GeoJSON, KML/KMZ, QGroundControl geoFence, fence lists and fence .txt.

Each reader returns a :class:`~missions.areas.model.RawArea` with validated rings; every error is an
:class:`~missions.errors.AreaError` naming the file and, where it applies, the feature, ring and
vertex (0-based).

Conventions for no-fly zones inside a file (besides interior rings, which are always holes):

* GeoJSON: a Feature whose ``properties`` has ``"no_fly": true``, or ``role``/``kind``/``type``
  equal to ``no-fly``/``nofly``/``no_fly``/``exclusion``/``hole``, or a ``name`` starting with
  "no-fly"/"no fly"/"nofly" is a hole. A Point feature named/role ``home`` is the home hint.
* KML: a Placemark whose ``<name>`` starts with "no-fly"/"no fly"/"nofly"/"exclusion" is a hole;
  a Point Placemark named ``home`` is the home hint.
"""

from __future__ import annotations

import io
import logging
import math
import re
import zipfile

from missions.areas.model import Hole, RawArea, RawPart
from missions.areas.rings import Coord, parse_vertex, validate_ring
from missions.errors import AreaError, InputError
from missions.geo import check_lat_lon
from missions.items import (
    MAV_CMD_NAV_FENCE_CIRCLE_EXCLUSION,
    MAV_CMD_NAV_FENCE_CIRCLE_INCLUSION,
    MAV_CMD_NAV_FENCE_POLYGON_VERTEX_EXCLUSION,
    MAV_CMD_NAV_FENCE_POLYGON_VERTEX_INCLUSION,
    MAV_CMD_NAV_FENCE_RETURN_POINT,
    MissionItem,
)
from missions.shapes import circle_polygon_geo

log = logging.getLogger("missions.areas")

GEOJSON_TYPES = frozenset(
    {"FeatureCollection", "Feature", "Polygon", "MultiPolygon", "GeometryCollection"}
)
_NO_FLY_WORDS = ("no-fly", "no_fly", "nofly", "no fly", "exclusion", "hole")
_WGS84_CRS = ("CRS84", "EPSG:4326", "EPSG::4326", "CRS:84")


def _is_no_fly_label(text) -> bool:
    t = str(text or "").strip().lower()
    return any(t == w or t.startswith(w + " ") or t.startswith(w + ":") or t.startswith(w + "-")
               for w in _NO_FLY_WORDS) or t in _NO_FLY_WORDS  # fmt: skip


# --- GeoJSON (RFC 7946) ------------------------------------------------------------------------------


def read_geojson(data, source: str) -> RawArea:
    """Area from parsed GeoJSON: Polygon, MultiPolygon, Feature, FeatureCollection.

    Interior rings are holes. Coordinates are ``[lon, lat(, alt)]`` (RFC 7946 section 3.1.1).

    Raises:
        AreaError: Unsupported CRS, no polygon, malformed coordinates or an invalid ring.
    """
    raw = RawArea(source=source, coord_order="[lon, lat]")
    crs = data.get("crs") if isinstance(data, dict) else None
    if isinstance(crs, dict):
        crs_name = str((crs.get("properties") or {}).get("name", ""))
        if crs_name and not any(crs_name.upper().endswith(c) for c in _WGS84_CRS):
            raise AreaError(
                f"{source}: uses the CRS {crs_name!r}; dronepatrol reads WGS-84 longitude/latitude "
                "GeoJSON only (RFC 7946): reproject it to EPSG:4326"
            )
    if isinstance(data, dict) and data.get("type") == "FeatureCollection":
        raw.name = (data.get("name") or None) if isinstance(data.get("name"), str) else None
        features = data.get("features")
        if not isinstance(features, list):
            raise AreaError(f"{source}: FeatureCollection without a 'features' list")
        for i, feat in enumerate(features):
            _geojson_feature(feat, f"{source}: feature {i}", raw)
    elif isinstance(data, dict) and data.get("type") == "Feature":
        _geojson_feature(data, f"{source}: feature", raw)
    elif isinstance(data, dict) and data.get("type") in GEOJSON_TYPES:
        _geojson_geometry(data, f"{source}: {data.get('type')}", raw, no_fly=False, name=None)
    else:
        raise AreaError(
            f"{source}: not a GeoJSON Polygon, MultiPolygon, Feature or FeatureCollection"
        )
    if not raw.parts:
        raise AreaError(
            f"{source}: no Polygon or MultiPolygon (an area must be a polygon; LineStrings and "
            "Points are not areas)"
        )
    return raw


def _geojson_feature(feat, where: str, raw: RawArea) -> None:
    if not isinstance(feat, dict) or feat.get("type") != "Feature":
        raise AreaError(f"{where}: expected a GeoJSON Feature object")
    props = feat.get("properties") or {}
    if not isinstance(props, dict):
        props = {}
    name = props.get("name") if isinstance(props.get("name"), str) else None
    label = f"{where} ({name})" if name else where
    role = props.get("role", props.get("kind", props.get("type")))
    no_fly = bool(props.get("no_fly") is True or _is_no_fly_label(role) or _is_no_fly_label(name))
    geom = feat.get("geometry")
    if geom is None:
        return
    if isinstance(geom, dict) and geom.get("type") == "Point":
        if str(name or role or "").strip().lower() == "home":
            coords = geom.get("coordinates")
            lon, lat = parse_vertex(coords, f"{label}: home point")
            _check(lat, lon, f"{label}: home point")
            alt = float(coords[2]) if len(coords) > 2 and coords[2] is not None else 0.0
            raw.home = (lat, lon, alt)
        return
    if raw.name is None and name and not no_fly:
        raw.name = name
    _geojson_geometry(geom, label, raw, no_fly=no_fly, name=name)


def _geojson_geometry(geom, where: str, raw: RawArea, *, no_fly: bool, name: str | None) -> None:
    if not isinstance(geom, dict):
        raise AreaError(f"{where}: geometry must be an object")
    gtype = geom.get("type")
    coords = geom.get("coordinates")
    if gtype == "Polygon":
        _geojson_polygon(coords, where, raw, no_fly=no_fly, name=name)
    elif gtype == "MultiPolygon":
        if not isinstance(coords, list):
            raise AreaError(f"{where}: MultiPolygon coordinates must be a list of polygons")
        for p, poly in enumerate(coords):
            _geojson_polygon(poly, f"{where}, polygon {p}", raw, no_fly=no_fly, name=name)
    elif gtype == "GeometryCollection":
        for g, sub in enumerate(geom.get("geometries") or []):
            _geojson_geometry(sub, f"{where}, geometry {g}", raw, no_fly=no_fly, name=name)
    else:
        log.debug("%s: %s geometry ignored (not an area)", where, gtype)


def _geojson_polygon(coords, where: str, raw: RawArea, *, no_fly: bool, name: str | None) -> None:
    if not isinstance(coords, list) or not coords:
        raise AreaError(f"{where}: Polygon coordinates must be a non-empty list of rings")
    rings: list[list[Coord]] = []
    for r, ring in enumerate(coords):
        kind = "outer" if r == 0 else f"hole {r}"
        rw = f"{where}, ring {r} ({kind})"
        if not isinstance(ring, list):
            raise AreaError(f"{rw}: a ring must be a list of [lon, lat] positions")
        pts = [parse_vertex(v, f"{rw}, vertex {i}") for i, v in enumerate(ring)]
        rings.append(validate_ring(pts, rw, closure_required=True))
    _add_polygon(rings, where, raw, no_fly=no_fly, name=name)


def _add_polygon(
    rings: list[list[Coord]], where: str, raw: RawArea, *, no_fly: bool, name: str | None
) -> None:
    from shapely.geometry import Polygon

    if no_fly:
        if len(rings) > 1:
            log.warning(
                "%s: interior rings of a no-fly zone are ignored (the whole zone is no-fly)", where
            )
        raw.holes.append(Hole(name or f"no-fly {len(raw.holes) + 1}", Polygon(rings[0]), where))
        return
    part = RawPart(outer=rings[0], where=where)
    for k, ring in enumerate(rings[1:], 1):
        part.holes.append(
            Hole(
                f"{name + ' ' if name else ''}hole {k}",
                Polygon(ring),
                f"{where}, ring {k} (hole {k})",
            )
        )
    raw.parts.append(part)


# --- KML / KMZ (OGC KML 2.2) -----------------------------------------------------------------------------


def read_kml(data: bytes, source: str) -> RawArea:
    """Area from KML (or the doc.kml inside a KMZ): Polygons with outer/inner boundaries.

    Coordinates are ``lon,lat[,alt]`` tuples separated by whitespace (OGC KML 2.2, 16.10).

    Raises:
        AreaError: Not XML, no Polygon, malformed coordinates or an invalid ring.
    """
    from lxml import etree

    if data[:2] == b"PK":
        data = _kmz_doc(data, source)
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, recover=False, huge_tree=False
    )
    try:
        root = etree.fromstring(data, parser=parser)
    except etree.XMLSyntaxError as exc:
        line = f":{exc.lineno}" if getattr(exc, "lineno", None) else ""
        msg = str(exc.msg if hasattr(exc, "msg") else exc).split("(")[0].strip()
        raise AreaError(f"{source}{line}: not valid KML (XML error: {msg})") from None
    raw = RawArea(source=source, coord_order="lon,lat")
    doc_name = root.xpath(
        "(//*[local-name()='Document' or local-name()='Folder']/*[local-name()='name'])[1]/text()"
    )
    polygons = root.xpath("//*[local-name()='Polygon']")
    for p, poly in enumerate(polygons):
        names = poly.xpath("ancestor::*[local-name()='Placemark'][1]/*[local-name()='name']/text()")
        pname = names[0].strip() if names else None
        where = f"{source}: polygon {p}" + (f" (placemark '{pname}')" if pname else "")
        outer = poly.xpath(
            "./*[local-name()='outerBoundaryIs']//*[local-name()='LinearRing']/*[local-name()='coordinates']"
        )
        inner = poly.xpath(
            "./*[local-name()='innerBoundaryIs']//*[local-name()='LinearRing']/*[local-name()='coordinates']"
        )
        if not outer:
            raise AreaError(f"{where}: Polygon without <outerBoundaryIs><LinearRing><coordinates>")
        rings = []
        for r, el in enumerate([outer[0], *inner]):
            kind = "outer" if r == 0 else f"hole {r}"
            rw = f"{where}, ring {r} ({kind})"
            rings.append(validate_ring(_kml_coords(el.text or "", rw), rw, closure_required=True))
        no_fly = _is_no_fly_label(pname)
        if raw.name is None and pname and not no_fly:
            raw.name = pname
        _add_polygon(rings, where, raw, no_fly=no_fly, name=pname)
    for pm in root.xpath("//*[local-name()='Placemark'][*[local-name()='Point']]"):
        nm = pm.xpath("./*[local-name()='name']/text()")
        if nm and nm[0].strip().lower() == "home":
            coords = pm.xpath(".//*[local-name()='Point']/*[local-name()='coordinates']/text()")
            if coords:
                pts = _kml_coords(coords[0], f"{source}: placemark 'home'")
                lon, lat = pts[0]
                raw.home = (lat, lon, 0.0)
    if doc_name and doc_name[0].strip():
        raw.name = doc_name[0].strip()
    if not raw.parts:
        others = root.xpath(
            "//*[local-name()='LineString' or local-name()='Point' or local-name()='LinearRing']"
        )
        found = (
            f" (found {len(others)} LineString/Point/LinearRing element(s), which are not areas)"
            if others
            else ""
        )
        raise AreaError(
            f"{source}: the KML has no <Polygon>{found}; an area needs a Polygon placemark"
        )
    return raw


def _kmz_doc(data: bytes, source: str) -> bytes:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            names = [n for n in zf.namelist() if n.lower().endswith(".kml")]
            if not names:
                raise AreaError(f"{source}: a zip/KMZ file without a .kml document inside")
            name = "doc.kml" if "doc.kml" in names else names[0]
            return zf.read(name)
    except zipfile.BadZipFile:
        raise AreaError(f"{source}: looks like a zip/KMZ file but cannot be opened") from None


def _kml_coords(text: str, where: str) -> list[Coord]:
    norm = re.sub(r"\s*,\s*", ",", text.strip())
    pts = []
    for i, tup in enumerate(norm.split()):
        parts = tup.split(",")
        if len(parts) < 2:
            raise AreaError(f"{where}, vertex {i}: expected 'lon,lat[,alt]', got {tup!r}")
        pts.append(parse_vertex(parts[:2], f"{where}, vertex {i}"))
    return pts


# --- QGroundControl geoFence (.plan) -------------------------------------------------------------------


def read_qgc_geofence(data: dict, source: str) -> RawArea:
    """Area from a QGroundControl ``.plan`` (or old ``.fence``) geoFence.

    Inclusion polygons and circles form the area; exclusion polygons and circles are holes;
    ``breachReturn`` is the fence return point; the mission's ``plannedHomePosition``
    (``[lat, lon, alt AMSL]``) is the file's home point. Version 1 (one inclusion ``polygon``)
    and version 2 (``polygons``/``circles``) are read. Coordinates are ``[lat, lon]``.

    Raises:
        AreaError: No inclusion polygon/circle, or an invalid ring.
    """
    fence = data.get("geoFence", data) if isinstance(data, dict) else None
    if not isinstance(fence, dict):
        raise AreaError(
            f"{source}: no geoFence object (an area from a .plan needs a geoFence inclusion polygon)"
        )
    raw = RawArea(source=source, coord_order="[lat, lon]")
    where0 = f"{source}: geoFence"
    version = fence.get("version", 1)
    polys = fence.get("polygons")
    if version == 1 or (polys is None and "polygon" in fence):
        polys = [{"polygon": fence.get("polygon") or [], "inclusion": True}]
    for i, pj in enumerate(polys or []):
        incl = bool(pj.get("inclusion", True)) if isinstance(pj, dict) else True
        pw = f"{where0} polygon {i} ({'inclusion' if incl else 'exclusion'})"
        verts = pj.get("polygon") if isinstance(pj, dict) else None
        if not isinstance(verts, list):
            raise AreaError(f"{pw}: expected a 'polygon' list of [lat, lon]")
        pts = [parse_vertex(v, f"{pw}, vertex {k}", order="latlon") for k, v in enumerate(verts)]
        ring = validate_ring(pts, pw, closure_required=False)
        if incl:
            raw.parts.append(RawPart(outer=ring, where=pw))
        else:
            from shapely.geometry import Polygon

            raw.holes.append(Hole(f"exclusion {i}", Polygon(ring), pw))
    for i, cj in enumerate(fence.get("circles") or []):
        circle = cj.get("circle") if isinstance(cj, dict) else None
        incl = bool(cj.get("inclusion", True)) if isinstance(cj, dict) else True
        cw = f"{where0} circle {i} ({'inclusion' if incl else 'exclusion'})"
        if not isinstance(circle, dict):
            raise AreaError(f"{cw}: expected {{'circle': {{'center': [lat, lon], 'radius': m}}}}")
        lon, lat = parse_vertex(circle.get("center"), f"{cw} center", order="latlon")
        _check(lat, lon, f"{cw} center")
        radius = circle.get("radius")
        if isinstance(radius, bool) or not isinstance(radius, (int, float)) or not radius > 0:
            raise AreaError(f"{cw}: radius must be a positive number of metres, got {radius!r}")
        _add_circle(raw, lat, lon, float(radius), incl, cw, f"exclusion circle {i}")
    mission = data.get("mission") if isinstance(data, dict) else None
    planned = mission.get("plannedHomePosition") if isinstance(mission, dict) else None
    if isinstance(planned, list) and len(planned) >= 2:
        hw = f"{source}: mission.plannedHomePosition"
        lon, lat = parse_vertex(planned, hw, order="latlon")
        _check(lat, lon, hw)
        alt = planned[2] if len(planned) > 2 and isinstance(planned[2], (int, float)) else 0.0
        raw.home = (lat, lon, float(alt))
    ret = fence.get("breachReturn")
    if isinstance(ret, list) and len(ret) >= 2:
        lon, lat = parse_vertex(ret, f"{where0} breachReturn", order="latlon")
        _check(lat, lon, f"{where0} breachReturn")
        raw.return_point = (lat, lon, float(ret[2]) if len(ret) > 2 and ret[2] is not None else 0.0)
    if not raw.parts:
        raise AreaError(
            f"{source}: the geoFence has no inclusion polygon or circle to use as the area"
        )
    return raw


def read_fence_items(items: list[MissionItem], source: str) -> RawArea:
    """Area from a MAVLink fence list (5001/5002 polygon vertices, 5003/5004 circles, 5000 return).

    Raises:
        AreaError: No inclusion zone, or vertex counts that do not add up, or an invalid ring.
    """
    raw = RawArea(source=source, coord_order="lat lon")
    i = 0
    k = 0
    while i < len(items):
        it = items[i]
        if it.command in (
            MAV_CMD_NAV_FENCE_POLYGON_VERTEX_INCLUSION,
            MAV_CMD_NAV_FENCE_POLYGON_VERTEX_EXCLUSION,
        ):
            count = int(it.param1)
            group = items[i : i + count]
            incl = it.command == MAV_CMD_NAV_FENCE_POLYGON_VERTEX_INCLUSION
            pw = f"{source}: fence polygon {k} ({'inclusion' if incl else 'exclusion'}, from seq {it.seq})"
            if count < 3 or len(group) != count or any(g.command != it.command for g in group):
                raise AreaError(
                    f"{pw}: param1 says {count} vertices but the following items do not match"
                )
            ring = validate_ring([(g.y, g.x) for g in group], pw, closure_required=False)
            if incl:
                raw.parts.append(RawPart(outer=ring, where=pw))
            else:
                from shapely.geometry import Polygon

                raw.holes.append(Hole(f"exclusion {k}", Polygon(ring), pw))
            i += count
            k += 1
            continue
        if it.command in (MAV_CMD_NAV_FENCE_CIRCLE_INCLUSION, MAV_CMD_NAV_FENCE_CIRCLE_EXCLUSION):
            incl = it.command == MAV_CMD_NAV_FENCE_CIRCLE_INCLUSION
            cw = f"{source}: fence circle at seq {it.seq}"
            _check(it.x, it.y, cw)
            if not it.param1 > 0:
                raise AreaError(f"{cw}: radius (param1) must be positive, got {it.param1}")
            _add_circle(raw, it.x, it.y, float(it.param1), incl, cw, f"exclusion circle {k}")
            k += 1
        elif it.command == MAV_CMD_NAV_FENCE_RETURN_POINT:
            _check(it.x, it.y, f"{source}: fence return point (seq {it.seq})")
            raw.return_point = (it.x, it.y, it.z)
        i += 1
    if not raw.parts:
        raise AreaError(f"{source}: no inclusion fence polygon or circle to use as the area")
    return raw


def _add_circle(
    raw: RawArea, lat: float, lon: float, r: float, incl: bool, where: str, name: str
) -> None:
    poly = circle_polygon_geo(lat, lon, r)
    if incl:
        raw.parts.append(RawPart(outer=list(poly.exterior.coords), where=where))
    else:
        raw.holes.append(Hole(name, poly, where, circle=(lat, lon, r)))


# --- legacy fence .txt (Mission Planner) ---------------------------------------------------------------


def read_fence_txt(text: str, source: str) -> RawArea:
    """Area from a Mission Planner fence file: ``lat lon`` per line; the FIRST line is the return point.

    Tabs, spaces or commas separate the numbers; ``#`` comment lines and blank lines are skipped; the
    last vertex may repeat the first.

    Raises:
        AreaError: A line that is not two numbers, fewer than 3 vertices, an invalid ring.
    """
    rows: list[tuple[int, float, float]] = []
    for lineno, line in enumerate(text.split("\n"), 1):
        s = line.strip().lstrip("\ufeff")
        if not s or s.startswith("#"):
            continue
        toks = [t for t in re.split(r"[\s,;]+", s) if t]
        try:
            lat, lon = float(toks[0]), float(toks[1])
        except (ValueError, IndexError):
            raise AreaError(
                f"{source}:{lineno}: expected 'lat lon' (a fence file: the first line is the return "
                f"point, then one polygon vertex per line), got {s[:40]!r}"
            ) from None
        rows.append((lineno, lat, lon))
    if not rows:
        raise AreaError(f"{source}: empty fence file")
    ln0, rlat, rlon = rows[0]
    _check(rlat, rlon, f"{source}:{ln0}: return point")
    raw = RawArea(source=source, coord_order="lat lon", return_point=(rlat, rlon, 0.0))
    verts = rows[1:]
    labels = [f"vertex {i} (line {ln})" for i, (ln, _, _) in enumerate(verts)]
    ring = validate_ring([(lon, lat) for _, lat, lon in verts], f"{source}: fence polygon",
                         closure_required=False, labels=labels)  # fmt: skip
    raw.parts.append(RawPart(outer=ring, where=f"{source}: fence polygon"))
    return raw


def _check(lat: float, lon: float, where: str) -> None:
    try:
        check_lat_lon(float(lat), float(lon), where)
    except InputError as exc:
        raise AreaError(str(exc)) from None
    if not (math.isfinite(lat) and math.isfinite(lon)):
        raise AreaError(f"{where}: not a finite coordinate")
