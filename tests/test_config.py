"""The config schema, its loader and configs/default.yaml."""

from __future__ import annotations

import pytest
import yaml

from groundstation.config import DEFAULT_CONFIG_PATH, Config, load_config
from missions.errors import ConfigError


def _leaf_keys(d, prefix=""):
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict) and v:
            yield from _leaf_keys(v, key + ".")
        else:
            yield key


def test_default_yaml_equals_schema_defaults():
    """default.yaml documents every setting with the schema's default value."""
    text = DEFAULT_CONFIG_PATH.read_text(encoding="utf-8")
    from_file = yaml.safe_load(text)
    schema = Config().model_dump(mode="json")
    assert sorted(_leaf_keys(from_file)) == sorted(_leaf_keys(schema))
    loaded = load_config(DEFAULT_CONFIG_PATH).model_dump(mode="json")
    assert loaded == schema


def test_every_key_in_default_yaml_has_a_comment():
    """Each section in default.yaml is preceded by a comment line (documentation exists)."""
    lines = DEFAULT_CONFIG_PATH.read_text(encoding="utf-8").splitlines()
    for i, line in enumerate(lines):
        if line and not line.startswith((" ", "#")) and line.endswith(":"):
            assert lines[i - 1].startswith("#"), f"section {line} has no comment above it"


def test_unknown_key_suggests_the_close_one(tmp_path):
    f = tmp_path / "c.yaml"
    f.write_text("survey:\n  alt_m: 30\n  side_overlp: 0.3\n", encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_config(f)
    msg = str(err.value)
    assert "c.yaml:3" in msg and "survey.side_overlp" in msg and "side_overlap" in msg
    assert "\n" not in msg


def test_unknown_section_suggests(tmp_path):
    f = tmp_path / "c.yaml"
    f.write_text("detecton:\n  conf: 0.3\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="did you mean 'detection'"):
        load_config(f)


def test_bad_value_names_file_line_and_key(tmp_path):
    f = tmp_path / "c.yaml"
    f.write_text("# comment\r\nsurvey:\r\n  alt_m: -5\r\n", encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_config(f)
    assert "c.yaml:3" in str(err.value) and "survey.alt_m" in str(err.value)


def test_not_yaml(tmp_path):
    f = tmp_path / "c.yaml"
    f.write_text("survey: [1, 2\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(f)


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.yaml")


def test_overrides_win_and_paths_resolve_against_file(tmp_path):
    sub = tmp_path / "cfg"
    sub.mkdir()
    f = sub / "c.yaml"
    f.write_text("survey: {alt_m: 30}\narea: {district: d/area.geojson}\n", encoding="utf-8")
    cfg = load_config(f, {"survey.alt_m": 55, "survey.speed_m_s": None})
    assert cfg.survey.alt_m == 55
    assert cfg.survey.speed_m_s == Config().survey.speed_m_s
    assert cfg.area.district == (sub / "d" / "area.geojson").resolve()


def test_angle_auto_or_number():
    assert load_config(None, {"survey.angle_deg": "AUTO"}).survey.angle_deg == "auto"
    assert load_config(None, {"survey.angle_deg": 30}).survey.angle_deg == 30


def test_cli_set_unknown_key_is_one_line_error(cli, repo_root):
    r = cli(
        "plan",
        str(repo_root / "configs" / "districts" / "demo.geojson"),
        "--set",
        "survey.alt=30",
    )
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ")
    assert "survey.alt" in lines[0] and "did you mean 'alt_m'" in lines[0]
    assert "Traceback" not in r.stderr


def test_camera_sensor_replaces_the_default_fov_everywhere():
    from detection.geometry import CameraIntrinsics
    from missions.camera import fields_of_view
    from sim.camera import PinholeCamera

    cfg = load_config(None, {"camera.sensor_width_mm": 13.2, "camera.focal_length_mm": 8.8})
    assert cfg.camera.hfov_deg is None
    hfov, _ = fields_of_view(cfg.camera)
    # 2 atan(13.2 / (2 * 8.8)) = 73.74 deg (pinhole model)
    assert hfov == pytest.approx(73.74, abs=0.01)
    fx = 8.8 * cfg.camera.image_width_px / 13.2
    assert CameraIntrinsics.from_settings(cfg.camera).fx_px == pytest.approx(fx)
    assert PinholeCamera.from_settings(cfg.camera).fx_px == pytest.approx(fx)
    with pytest.raises(ConfigError, match="not both"):
        load_config(
            None,
            {"camera.sensor_width_mm": 13.2, "camera.focal_length_mm": 8.8, "camera.hfov_deg": 70},
        )
