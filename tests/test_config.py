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
    assert msg == f"{f}:3: unknown key 'survey.side_overlp'; did you mean 'survey.side_overlap'?"


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
    assert lines == [
        "error: --set survey.alt=30: unknown key 'survey.alt'; did you mean 'survey.alt_m'?"
    ]


def test_cli_set_errors_name_the_set_not_the_config_file(cli, repo_root):
    """A --set typo over a config file that has the section is blamed on the --set, not a line."""
    demo = str(repo_root / "configs" / "demo.yaml")
    r = cli("plan", "--config", demo, "--set", "survey.alt=35")
    assert r.returncode == 2
    assert r.stderr.strip().splitlines() == [
        "error: --set survey.alt=35: unknown key 'survey.alt'; did you mean 'survey.alt_m'?"
    ]
    r = cli("plan", "--config", demo, "--set", "survey.alt_m=abc")
    assert r.returncode == 2
    (line,) = r.stderr.strip().splitlines()
    assert line.startswith("error: --set survey.alt_m=abc: survey.alt_m: "), line
    assert "demo.yaml" not in line and "got 'abc'" in line
    # A dedicated flag is named as a command-line option with its config key.
    r = cli("plan", "--config", demo, "--alt", "-5")
    assert r.returncode == 2
    (line,) = r.stderr.strip().splitlines()
    assert line.startswith("error: command-line option survey.alt_m=-5.0: survey.alt_m: "), line


def test_cli_set_without_key_or_value_is_an_error_not_ignored(cli, repo_root):
    demo = str(repo_root / "configs" / "demo.yaml")
    for text, what in (("survey.alt_m=", "no value after '='"), ("=35", "no key before '='")):
        r = cli("plan", "--config", demo, "--set", text)
        assert r.returncode == 2, (text, r.stdout)
        assert r.stderr.strip().splitlines() == [
            f"error: --set {text}: {what} (expected KEY=VALUE)"
        ]


def test_override_errors_name_their_source_file_errors_their_line(tmp_path):
    f = tmp_path / "c.yaml"
    f.write_text("survey:\n  alt_m: 30\n  speed_m_s: 4\n", encoding="utf-8")
    sources = {"survey.alt": "--set survey.alt=35", "survey.alt_m": "--set survey.alt_m=abc"}
    with pytest.raises(ConfigError) as err:
        load_config(f, {"survey.alt": 35}, sources=sources)
    assert str(err.value) == (
        "--set survey.alt=35: unknown key 'survey.alt'; did you mean 'survey.alt_m'?"
    )
    with pytest.raises(ConfigError) as err:
        load_config(f, {"survey.alt_m": "abc"}, sources=sources)
    assert str(err.value).startswith("--set survey.alt_m=abc: survey.alt_m: ")
    # Without a named source an override is still not blamed on the file.
    with pytest.raises(ConfigError) as err:
        load_config(f, {"survey.alt_m": -1})
    assert str(err.value).startswith("override survey.alt_m=-1: survey.alt_m: ")
    # A bad value inside a mapping given as an override names the override and the inner key.
    with pytest.raises(ConfigError) as err:
        load_config(f, {"area.home": {"lat_deg": 100, "lon_deg": 3}}, sources={"area.home": "X"})
    assert str(err.value).startswith("X: area.home.lat_deg: ")
    # The file's own bad value next to a good override keeps naming file:line.
    f.write_text("survey:\n  alt_m: 30\n  speed_m_s: fast\n", encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_config(f, {"survey.alt_m": 40}, sources=sources)
    assert str(err.value).startswith(f"{f}:3: survey.speed_m_s: ")


def test_check_across_keys_names_both_file_and_override(tmp_path):
    """camera's "hfov_deg or sensor size, not both" fails on the file's and the --set's keys."""
    f = tmp_path / "c.yaml"
    f.write_text("camera:\n  hfov_deg: 50\n", encoding="utf-8")
    overrides = {"camera.sensor_width_mm": 13.2, "camera.focal_length_mm": 8.8}
    sources = {k: f"--set {k}={v}" for k, v in overrides.items()}
    with pytest.raises(ConfigError) as err:
        load_config(f, overrides, sources=sources)
    msg = str(err.value)
    assert msg.startswith(
        f"{f}:1 and --set camera.sensor_width_mm=13.2 and --set camera.focal_length_mm=8.8: camera"
    ), msg


def test_unknown_key_without_a_close_one_lists_the_section_keys(tmp_path):
    f = tmp_path / "c.yaml"
    f.write_text("fence:\n  xyzzy: 1\n", encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_config(f)
    msg = str(err.value)
    assert msg.startswith(f"{f}:2: unknown key 'fence.xyzzy'; known keys of fence: "), msg
    assert "margin_m" in msg


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
