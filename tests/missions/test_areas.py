"""Area readers (GeoJSON, KML/KMZ, .plan geoFence, fence lists, fence .txt) and their errors."""

from __future__ import annotations

import json
import logging
import zipfile

import pytest
from shapely.geometry import Point

from missions.areas import area_from_config, load_area
from missions.errors import AreaError
from missions.settings import AreaSettings, GeoPoint, NoFlyZone

# a 0.01° x 0.01° square near the sim home (~830 m x 1110 m), lon/lat
SQ = [[123.42, 41.785], [123.43, 41.785], [123.43, 41.795], [123.42, 41.795], [123.42, 41.785]]
HOLE = [
    [123.424, 41.789],
    [123.426, 41.789],
    [123.426, 41.791],
    [123.424, 41.791],
    [123.424, 41.789],
]


def write(tmp_path, name, content) -> str:
    p = tmp_path / name
    if isinstance(content, bytes):
        p.write_bytes(content)
    else:
        p.write_text(content if isinstance(content, str) else json.dumps(content), encoding="utf-8")
    return str(p)


def test_geojson_polygon_with_interior_ring_is_area_with_hole(tmp_path):
    f = write(tmp_path, "d.geojson", {"type": "Polygon", "coordinates": [SQ, HOLE]})
    area = load_area(f)
    assert len(area.holes) == 1
    assert area.polygon_geo.contains(Point(123.425, 41.79))  # the boundary has no hole...
    free = area.free_local
    x, y = area.frame.to_local(41.79, 123.425)
    assert not free.contains(Point(x, y))  # ...the free area does
    assert 0.8e6 < area.polygon_local.area < 1.0e6


def test_geojson_bom_crlf_and_trailing_commas(tmp_path, caplog):
    text = json.dumps({"type": "Polygon", "coordinates": [SQ, HOLE]}, indent=1)
    text = text.replace("]\n ]", "],\n ]")  # hand-edited files end lists with commas
    assert ",\n ]" in text
    data = b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode("utf-8")
    with caplog.at_level(logging.WARNING):
        area = load_area(write(tmp_path, "hand.geojson", data))
    assert len(area.holes) == 1
    assert "trailing comma" in caplog.text


def test_geojson_feature_collection_with_named_no_fly_and_home(tmp_path):
    doc = {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "properties": {"name": "Heping"}, "geometry": {"type": "Polygon", "coordinates": [SQ]}},
            {"type": "Feature", "properties": {"name": "school", "no_fly": True},
             "geometry": {"type": "Polygon", "coordinates": [HOLE]}},
            {"type": "Feature", "properties": {"role": "no-fly"},
             "geometry": {"type": "Polygon", "coordinates": [[[123.421, 41.786], [123.422, 41.786], [123.422, 41.787], [123.421, 41.786]]]}},
            {"type": "Feature", "properties": {"name": "home"}, "geometry": {"type": "Point", "coordinates": [123.425, 41.786, 48.0]}},
            {"type": "Feature", "properties": {"name": "road"}, "geometry": {"type": "LineString", "coordinates": SQ[:2]}},
        ],
    }  # fmt: skip
    area = load_area(write(tmp_path, "fc.json", doc))
    assert area.name == "Heping"
    assert sorted(h.name for h in area.holes) == ["no-fly 2", "school"]
    assert area.home_hint == (41.786, 123.425, 48.0)


def test_geojson_multipolygon_touching_parts_merge(tmp_path):
    left = [
        [123.42, 41.785],
        [123.425, 41.785],
        [123.425, 41.795],
        [123.42, 41.795],
        [123.42, 41.785],
    ]
    right = [
        [123.425, 41.785],
        [123.43, 41.785],
        [123.43, 41.79],
        [123.425, 41.79],
        [123.425, 41.785],
    ]
    doc = {
        "type": "Feature",
        "properties": {},
        "geometry": {"type": "MultiPolygon", "coordinates": [[left], [right]]},
    }
    area = load_area(write(tmp_path, "m.geojson", doc))
    assert area.polygon_geo.is_valid and len(area.holes) == 0
    assert area.polygon_geo.contains(Point(123.428, 41.787)) and area.polygon_geo.contains(
        Point(123.422, 41.793)
    )


def test_geojson_disjoint_parts_rejected(tmp_path):
    far = [[123.44, 41.785], [123.45, 41.785], [123.45, 41.795], [123.44, 41.785]]
    doc = {"type": "MultiPolygon", "coordinates": [[SQ], [far]]}
    with pytest.raises(AreaError, match="2 separate parts"):
        load_area(write(tmp_path, "two.geojson", doc))


def test_unclosed_ring_closed_with_warning(tmp_path, caplog):
    doc = {"type": "Polygon", "coordinates": [SQ[:-1]]}
    with caplog.at_level(logging.WARNING, logger="missions.areas"):
        area = load_area(write(tmp_path, "open.geojson", doc))
    assert "ring 0 (outer): ring is not closed" in caplog.text
    assert len(area.polygon_geo.exterior.coords) == 5


KML = """<?xml version="1.0" encoding="UTF-8"?>
<kml xmlns="http://www.opengis.net/kml/2.2" xmlns:gx="http://www.google.com/kml/ext/2.2">
<Document><name>Heping district</name>
  <Placemark><name>patrol area</name>
    <Polygon><tessellate>1</tessellate>
      <outerBoundaryIs><LinearRing><coordinates>
        123.42,41.785,0 123.43,41.785,0
        123.43,41.795,0 123.42, 41.795,0 123.42,41.785,0
      </coordinates></LinearRing></outerBoundaryIs>
      <innerBoundaryIs><LinearRing><coordinates>123.424,41.789 123.426,41.789 123.426,41.791 123.424,41.791 123.424,41.789</coordinates></LinearRing></innerBoundaryIs>
    </Polygon>
  </Placemark>
  <Placemark><name>No-fly: hospital</name>
    <Polygon><outerBoundaryIs><LinearRing><coordinates>123.421,41.786 123.422,41.786 123.422,41.787 123.421,41.786</coordinates></LinearRing></outerBoundaryIs></Polygon>
  </Placemark>
  <Placemark><name>home</name><Point><coordinates>123.425,41.786,0</coordinates></Point></Placemark>
</Document></kml>
"""


def test_kml_outer_inner_boundaries_and_no_fly_placemark(tmp_path):
    area = load_area(write(tmp_path, "d.kml", KML))
    assert area.name == "Heping district"
    assert len(area.holes) == 2
    assert area.home_hint[:2] == (41.786, 123.425)
    assert 0.8e6 < area.polygon_local.area < 1.0e6


def test_kmz_and_kml_without_namespace(tmp_path):
    buf = tmp_path / "d.kmz"
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("doc.kml", KML)
    assert len(load_area(buf).holes) == 2
    plain = KML.replace(' xmlns="http://www.opengis.net/kml/2.2"', "")
    assert len(load_area(write(tmp_path, "plain.xml", plain)).holes) == 2


def test_kml_latin1_declaration_bom_and_crlf(tmp_path):
    latin = KML.replace('encoding="UTF-8"', 'encoding="ISO-8859-1"').replace(
        "Heping district", "Héping district"
    )
    data = latin.replace("\n", "\r\n").encode("latin-1")
    area = load_area(write(tmp_path, "latin.kml", data))
    assert area.name == "Héping district" and len(area.holes) == 2
    bom = b"\xef\xbb\xbf  \r\n" + KML.encode("utf-8")
    assert len(load_area(write(tmp_path, "bom.kml", bom)).holes) == 2


def test_plan_geofence_inclusion_exclusion_circle(tmp_path):
    plan = {
        "fileType": "Plan", "version": 1,
        "mission": {"items": [], "plannedHomePosition": [41.79, 123.43, 50], "version": 2, "firmwareType": 3},
        "geoFence": {"version": 2, "breachReturn": [41.786, 123.425, 30],
                     "polygons": [{"inclusion": True, "version": 1, "polygon": [[p[1], p[0]] for p in SQ[:-1]]},
                                  {"inclusion": False, "version": 1, "polygon": [[p[1], p[0]] for p in HOLE[:-1]]}],
                     "circles": [{"inclusion": False, "version": 1, "circle": {"center": [41.793, 123.428], "radius": 40}}]},
    }  # fmt: skip
    area = load_area(write(tmp_path, "f.plan", plan))
    assert len(area.holes) == 2
    circle = [h for h in area.holes if h.circle][0]
    assert circle.circle == (41.793, 123.428, 40.0)
    assert area.return_point == (41.786, 123.425, 30.0)
    assert area.coord_order == "[lat, lon]"
    assert area.home_hint == (41.79, 123.43, 50.0)  # the mission's plannedHomePosition


def test_plan_home_is_used_and_a_home_in_a_hole_says_where_it_came_from(tmp_path):
    from groundstation.config import load_config
    from missions.errors import PlanningError
    from missions.planner import plan_from_config

    def plan_file(home):
        mission = {"items": [], "version": 2, "firmwareType": 3}
        if home is not None:
            mission["plannedHomePosition"] = home
        return {
            "fileType": "Plan", "version": 1, "mission": mission,
            "geoFence": {"version": 2, "polygons": [
                {"inclusion": True, "version": 1, "polygon": [[p[1], p[0]] for p in SQ[:-1]]},
                {"inclusion": False, "version": 1, "polygon": [[p[1], p[0]] for p in HOLE[:-1]]},
            ]},
        }  # fmt: skip

    with_home = write(tmp_path, "home.plan", plan_file([41.7865, 123.4215, 40]))
    cfg = load_config(None, {"area.district": str(with_home), "connection.url": "sim"})
    plan = plan_from_config(cfg)
    assert (plan.home.lat_deg, plan.home.lon_deg, plan.home.alt_m) == (41.7865, 123.4215, 40.0)
    # without plannedHomePosition the embedded simulator's home is taken: put it in the hole
    no_home = write(tmp_path, "nohome.plan", plan_file(None))
    cfg = load_config(
        None,
        {"area.district": str(no_home), "connection.url": "sim",
         "sim.home.lat_deg": 41.790, "sim.home.lon_deg": 123.425},
    )  # fmt: skip
    with pytest.raises(PlanningError, match=r"from the embedded simulator's home, sim.home"):
        plan_from_config(cfg)


def test_fence_waypoints_list_is_an_area(tmp_path):
    lines = ["QGC WPL 110"]
    ring = [(p[1], p[0]) for p in SQ[:-1]]
    for i, (lat, lon) in enumerate(ring):
        lines.append(f"{i}\t0\t0\t5001\t4\t0\t0\t0\t{lat}\t{lon}\t0\t1")
    lines.append("4\t0\t0\t5004\t30\t0\t0\t0\t41.79\t123.425\t0\t1")
    area = load_area(write(tmp_path, "fence.waypoints", "\n".join(lines) + "\n"))
    assert len(area.holes) == 1 and area.holes[0].circle[2] == 30


def test_mission_planner_fence_txt(tmp_path):
    txt = "# fence exported by Mission Planner\r\n41.790000 123.425000\r\n" + "".join(
        f"{p[1]:.6f}\t{p[0]:.6f}\r\n" for p in SQ
    )
    area = load_area(write(tmp_path, "fence.txt", txt))
    assert area.return_point[:2] == (41.79, 123.425)
    assert 0.8e6 < area.polygon_local.area < 1.0e6


def test_config_no_fly_polygon_and_circle(tmp_path):
    f = write(tmp_path, "d.geojson", {"type": "Polygon", "coordinates": [SQ]})
    zones = [
        NoFlyZone(name="school", polygon=[(41.789, 123.424), (41.791, 123.424), (41.791, 123.426)]),
        NoFlyZone(name="hospital", center=GeoPoint(lat_deg=41.793, lon_deg=123.428), radius_m=60),
    ]
    cfg = type("Cfg", (), {"area": AreaSettings(district=f, no_fly=zones)})()
    area = area_from_config(cfg)
    assert [h.name for h in area.holes] == ["school", "hospital"]
    hole = area.holes_local[1]
    cx, cy = area.frame.to_local(41.793, 123.428)
    assert hole.contains(Point(cx, cy).buffer(59.9))  # circumscribed: contains the whole circle


# --- bad input ----------------------------------------------------------------------------------


def _err(tmp_path, name, content, **kw) -> str:
    with pytest.raises(AreaError) as err:
        load_area(write(tmp_path, name, content), **kw)
    msg = str(err.value)
    assert "\n" not in msg
    return msg


def test_self_intersecting_ring_names_ring_edges_and_shapely_reason(tmp_path):
    bow = [[123.42, 41.785], [123.43, 41.795], [123.43, 41.785], [123.42, 41.795], [123.42, 41.785]]
    msg = _err(tmp_path, "bow.geojson", {"type": "Polygon", "coordinates": [bow]})
    assert "ring 0 (outer)" in msg and "self-intersecting" in msg
    assert "vertex 0 -> vertex 1" in msg and "vertex 2 -> vertex 3" in msg
    assert "Self-intersection" in msg  # shapely's explanation


def test_fewer_than_three_distinct_vertices(tmp_path):
    ring = [[123.42, 41.785], [123.43, 41.785], [123.43, 41.785], [123.42, 41.785]]
    msg = _err(tmp_path, "thin.geojson", {"type": "Polygon", "coordinates": [ring]})
    assert "fewer than 3 distinct vertices (2)" in msg and "ring 0 (outer)" in msg


def test_hole_ring_errors_name_the_hole(tmp_path):
    bad_hole = [[123.424, 41.789], [123.426, 41.789], [123.424, 41.789]]
    msg = _err(tmp_path, "h.geojson", {"type": "Polygon", "coordinates": [SQ, bad_hole]})
    assert "ring 1 (hole 1)" in msg


def test_coordinates_out_of_range(tmp_path):
    ring = [[123.42, 41.785], [123.43, 41.785], [223.43, 41.795], [123.42, 41.785]]
    msg = _err(tmp_path, "far.geojson", {"type": "Polygon", "coordinates": [ring]})
    assert "vertex 2" in msg and "longitude 223.43 is beyond ±180" in msg


def test_swapped_lat_lon_latitude_beyond_90(tmp_path):
    swapped = [[p[1], p[0]] for p in SQ]  # [lat, lon] written where GeoJSON wants [lon, lat]
    msg = _err(tmp_path, "swapped.geojson", {"type": "Polygon", "coordinates": [swapped]})
    assert "latitude 123.42 is beyond ±90" in msg and "swapped" in msg and "vertex 0" in msg


def test_swapped_lat_lon_detected_by_distance_from_home(tmp_path):
    # a district near Munich (48.1 N, 11.6 E) written as [lat, lon]: valid numbers, wrong place
    ring = [[48.10, 11.50], [48.12, 11.50], [48.12, 11.52], [48.10, 11.52], [48.10, 11.50]]
    home = GeoPoint(lat_deg=48.11, lon_deg=11.51)
    msg = _err(tmp_path, "munich.geojson", {"type": "Polygon", "coordinates": [ring]}, home=home)
    assert "km from home" in msg and "look swapped" in msg and "[lon, lat]" in msg


def test_area_far_from_home_without_swap_explanation(tmp_path):
    msg = _err(tmp_path, "d.geojson", {"type": "Polygon", "coordinates": [SQ]},
               home=GeoPoint(lat_deg=48.11, lon_deg=11.51))  # fmt: skip
    assert "km from home" in msg and "max_home_distance_km" in msg


def test_kml_without_polygon(tmp_path):
    kml = (
        '<kml xmlns="http://www.opengis.net/kml/2.2"><Document><Placemark><LineString><coordinates>'
        "123.42,41.785 123.43,41.795</coordinates></LineString></Placemark></Document></kml>"
    )
    msg = _err(tmp_path, "line.kml", kml)
    assert "no <Polygon>" in msg and "LineString" in msg


def test_not_xml_not_json(tmp_path):
    assert "not valid KML" in _err(tmp_path, "x.kml", "<kml><Document>")
    assert "not valid JSON" in _err(tmp_path, "x.geojson", '{"type": "Polygon", "coordinates": [')
    assert "expected 'lat lon'" in _err(tmp_path, "x.txt", "hello world\n")
    # a .geojson that is not JSON at all is a JSON error, not a "fence file" one (a new user's)
    assert "not valid JSON" in _err(tmp_path, "y.geojson", "this is not json {\n")
    assert "empty file" in _err(tmp_path, "e.geojson", "   \n")


def test_geojson_with_projected_crs_rejected(tmp_path):
    doc = {
        "type": "Polygon",
        "crs": {"type": "name", "properties": {"name": "EPSG:32651"}},
        "coordinates": [SQ],
    }
    assert "reproject it to EPSG:4326" in _err(tmp_path, "utm.geojson", doc)


def test_missing_area_file(tmp_path):
    with pytest.raises(AreaError, match="area file not found"):
        load_area(tmp_path / "nope.geojson")
