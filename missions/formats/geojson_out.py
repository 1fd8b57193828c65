"""GeoJSON (RFC 7946, [lon, lat]) outputs of a plan: the route and the area with its fence."""

from __future__ import annotations

import json
import os
from pathlib import Path

from shapely.geometry import mapping

from missions.shapes import local_to_geo


def _round_coords(obj, nd: int = 7):
    if isinstance(obj, float):
        return round(obj, nd)
    if isinstance(obj, (list, tuple)):
        return [_round_coords(v, nd) for v in obj]
    if isinstance(obj, dict):
        return {k: _round_coords(v, nd) for k, v in obj.items()}
    return obj


def route_feature_collection(plan) -> dict:
    """FeatureCollection: one LineString per sortie (home to home) and one Point per waypoint.

    Properties: ``sortie``, ``length_m``, ``flight_time_s`` on lines; ``sortie``, ``seq``
    (mission item sequence number) on points; the home point has ``role: home``.
    """
    feats = []
    for s in plan.sorties:
        line = local_to_geo(_linestring(s.path_local), plan.frame)
        feats.append(
            {
                "type": "Feature",
                "properties": {
                    "sortie": s.index,
                    "length_m": round(s.length_m, 1),
                    "flight_time_s": round(s.flight_time_s, 1),
                },
                "geometry": _round_coords(mapping(line)),
            }
        )
        for it in s.items:
            if it.command == 16 and it.seq > 0:
                feats.append(
                    {
                        "type": "Feature",
                        "properties": {"sortie": s.index, "seq": it.seq},
                        "geometry": {
                            "type": "Point",
                            "coordinates": [round(it.y, 8), round(it.x, 8)],
                        },
                    }
                )
    feats.append(
        {
            "type": "Feature",
            "properties": {"role": "home", "name": "home", "alt_m": plan.home.alt_m},
            "geometry": {"type": "Point", "coordinates": [plan.home.lon_deg, plan.home.lat_deg]},
        }
    )
    return {"type": "FeatureCollection", "name": f"{plan.area.name} route", "features": feats}


def area_feature_collection(plan) -> dict:
    """FeatureCollection: the district with holes (as planned), each no-fly zone, the fence.

    The district Feature can be read back as an area by ``missions.areas.load_area``; no-fly
    zones carry ``"no_fly": true``; the fence has ``role: fence`` and is a LineString (so it is
    not mistaken for a part of the area when the file is read back).
    """
    area = plan.area
    from shapely.geometry import Polygon

    district = Polygon(area.polygon_geo.exterior)
    feats = [
        {
            "type": "Feature",
            "properties": {"name": area.name, "area_m2": round(area.area_m2, 1)},
            "geometry": _round_coords(mapping(district)),
        }
    ]
    for h in area.holes:
        props = {"name": h.name, "no_fly": True}
        if h.circle is not None:
            props["center_lat_deg"], props["center_lon_deg"], props["radius_m"] = h.circle
        feats.append(
            {
                "type": "Feature",
                "properties": props,
                "geometry": _round_coords(mapping(h.polygon_geo)),
            }
        )
    fence = plan.fence_geo
    feats.append(
        {
            "type": "Feature",
            "properties": {"role": "fence", "name": "inclusion fence"},
            "geometry": _round_coords(mapping(fence.exterior)),
        }
    )
    feats.append(
        {
            "type": "Feature",
            "properties": {"role": "home", "name": "home"},
            "geometry": {"type": "Point", "coordinates": [plan.home.lon_deg, plan.home.lat_deg]},
        }
    )
    return {"type": "FeatureCollection", "name": area.name, "features": feats}


def write_geojson(doc: dict, path: str | os.PathLike) -> Path:
    """Write a GeoJSON document (UTF-8)."""
    p = Path(path)
    p.write_text(json.dumps(doc, ensure_ascii=False) + "\n", encoding="utf-8")
    return p


def _linestring(xy):
    from shapely.geometry import LineString

    return LineString(xy) if len(xy) >= 2 else LineString([xy[0], xy[0]])
