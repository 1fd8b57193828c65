"""The one config schema of dronepatrol, and its loader.

A config is a YAML file (``configs/default.yaml`` documents every key). Sections are owned by the
packages that use them (``missions.settings``, ``sim.settings``, ``detection.settings``,
``broadcast.settings``, ``groundstation.settings``) and composed here.

Loading rules:

* Unknown keys are rejected with a "did you mean" suggestion naming the full dotted key
  (difflib).
* Errors say where the bad key or value came from: a file's line
  (``demo.yaml:12: survey.alt_m: ...``) or, for an override, its source
  (``--set survey.alt=35: unknown key 'survey.alt'; did you mean 'survey.alt_m'?``).
* Relative paths in a file are relative to that file's folder.
* CLI flags override file values through dotted keys (``survey.alt_m=40``).
"""

from __future__ import annotations

import copy
import difflib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, Field, ValidationError

from broadcast.settings import BroadcastSettings
from detection.privacy import PrivacySettings
from detection.settings import DetectionSettings
from groundstation.settings import (
    ConnectionSettings,
    DisplaySettings,
    FleetSettings,
    OverlaySettings,
    PolicySettings,
    RecordingSettings,
    SafetySettings,
)
from missions.errors import ConfigError
from missions.settings import (
    AreaSettings,
    CameraSettings,
    FenceSettings,
    RallySettings,
    SortieSettings,
    StrictModel,
    SurveySettings,
)
from sim.settings import SimSettings, SitlSettings

REPO_ROOT = Path(__file__).resolve().parent.parent
"""Repository root (for a source checkout or an editable install)."""

DEFAULT_CONFIG_PATH = REPO_ROOT / "configs" / "default.yaml"


class Config(StrictModel):
    """Root of the dronepatrol config. Each attribute is one YAML section."""

    area: AreaSettings = Field(default_factory=AreaSettings)
    camera: CameraSettings = Field(default_factory=CameraSettings)
    survey: SurveySettings = Field(default_factory=SurveySettings)
    sorties: SortieSettings = Field(default_factory=SortieSettings)
    fence: FenceSettings = Field(default_factory=FenceSettings)
    rally: RallySettings = Field(default_factory=RallySettings)
    connection: ConnectionSettings = Field(default_factory=ConnectionSettings)
    sim: SimSettings = Field(default_factory=SimSettings)
    sitl: SitlSettings = Field(default_factory=SitlSettings)
    detection: DetectionSettings = Field(default_factory=DetectionSettings)
    broadcast: BroadcastSettings = Field(default_factory=BroadcastSettings)
    policy: PolicySettings = Field(default_factory=PolicySettings)
    overlay: OverlaySettings = Field(default_factory=OverlaySettings)
    recording: RecordingSettings = Field(default_factory=RecordingSettings)
    display: DisplaySettings = Field(default_factory=DisplaySettings)
    privacy: PrivacySettings = Field(default_factory=PrivacySettings)
    safety: SafetySettings = Field(default_factory=SafetySettings)
    fleet: FleetSettings = Field(default_factory=FleetSettings)


def load_config(
    path: str | os.PathLike | None = None,
    overrides: dict[str, Any] | None = None,
    *,
    sources: Mapping[str, str] | None = None,
) -> Config:
    """Load and validate a config.

    Args:
        path: YAML file; ``None`` gives the built-in defaults (the values of default.yaml).
        overrides: Dotted keys to values (``{"survey.alt_m": 40}``) applied over the file, as CLI
            flags do. ``None`` values are skipped (a flag that was not given).
        sources: Where each override came from, by dotted key, for error messages (the CLI
            passes ``{"survey.alt": "--set survey.alt=35"}``); an override without one is
            named ``override KEY=VALUE``.

    Returns:
        The validated :class:`Config`, with relative paths resolved against the file's folder.

    Raises:
        ConfigError: The file is missing or not YAML, a key is unknown (with a suggestion naming
            the full dotted key), or a value is invalid. The message starts with where the bad
            key or value came from: ``FILE:LINE`` for the file, the override's source (e.g.
            ``--set survey.alt_m=abc``) for an override.
    """
    data: dict[str, Any] = {}
    lines: dict[tuple, int] = {}
    where = "config"
    base_dir = Path.cwd()
    if path is not None:
        p = Path(path)
        where = str(p)
        if not p.is_file():
            raise ConfigError(f"{p}: config file not found")
        from missions.textio import decode_text, read_bytes

        text = decode_text(read_bytes(p, ConfigError, "config file"), str(p), ConfigError)
        data, lines = _parse_yaml(text, where)
        base_dir = p.resolve().parent
    file_data = copy.deepcopy(data)
    origins: dict[tuple, str] = {}
    for key, value in (overrides or {}).items():
        if value is None:
            continue
        _set_dotted(data, key, value)
        label = (sources or {}).get(key) or f"override {key}={value!r}"
        origins[_dotted_loc(key)] = label
    try:
        cfg = Config.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_format_validation_error(exc, where, lines, origins)) from None
    _resolve_paths(cfg, base_dir, file_data)
    return cfg


def parse_override(text: str) -> tuple[str, Any]:
    """Parse one ``--set KEY=VALUE`` argument; the value is read as YAML (``40``, ``true``, ``[1,2]``).

    Raises:
        ConfigError: No ``=`` in the text, no key before it or no value after it.
    """
    if "=" not in text:
        raise ConfigError(f"--set {text!r}: expected KEY=VALUE, e.g. survey.alt_m=40")
    key, _, raw = text.partition("=")
    if not key.strip():
        raise ConfigError(f"--set {text}: no key before '=' (expected KEY=VALUE)")
    if not raw.strip():
        raise ConfigError(f"--set {text}: no value after '=' (expected KEY=VALUE)")
    try:
        value = yaml.safe_load(raw)
    except yaml.YAMLError:
        value = raw
    return key.strip(), value


# --- internals --------------------------------------------------------------------------------------


def _parse_yaml(text: str, where: str) -> tuple[dict, dict[tuple, int]]:
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        size = _expanded_size(node)
        if size > MAX_YAML_NODES:
            raise ConfigError(
                f"{where}: YAML aliases expand to more than {MAX_YAML_NODES:,} values "
                "(an alias bomb?); write the values out"
            )
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{where}{line}: not valid YAML: {problem}") from None
    if data is None:
        return {}, {}
    if not isinstance(data, dict):
        raise ConfigError(
            f"{where}: the top level must be a mapping of sections, not {type(data).__name__}"
        )
    lines: dict[tuple, int] = {}

    def walk(n, loc: tuple) -> None:
        """Record the 1-based line of every mapping key and sequence item under ``n``."""
        if isinstance(n, yaml.MappingNode):
            for k, v in n.value:
                key = (*loc, k.value)
                lines[key] = k.start_mark.line + 1
                walk(v, key)
        elif isinstance(n, yaml.SequenceNode):
            for i, v in enumerate(n.value):
                lines[(*loc, i)] = v.start_mark.line + 1
                walk(v, (*loc, i))

    walk(node, ())
    return data, lines


MAX_YAML_NODES = 200_000
"""A config whose aliases expand to more values than this is refused (a "billion laughs" file
would otherwise hang every step that walks it)."""


def _expanded_size(node, memo: dict | None = None) -> int:
    """How many values ``node`` stands for with every alias expanded (shared nodes counted each
    time they are used), computed once per node; capped just above :data:`MAX_YAML_NODES`."""
    memo = {} if memo is None else memo
    if node is None:
        return 0
    key = id(node)
    if key in memo:
        return memo[key]
    memo[key] = 1  # a recursive alias counts once
    total = 1
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            total += _expanded_size(k, memo) + _expanded_size(v, memo)
            if total > MAX_YAML_NODES:
                break
    elif isinstance(node, yaml.SequenceNode):
        for v in node.value:
            total += _expanded_size(v, memo)
            if total > MAX_YAML_NODES:
                break
    memo[key] = min(total, MAX_YAML_NODES + 1)
    return memo[key]


def _set_dotted(data: dict, key: str, value: Any) -> None:
    parts = key.split(".")
    cur = data
    for part in parts[:-1]:
        nxt = cur.get(part)
        if not isinstance(nxt, dict):
            nxt = {}
            cur[part] = nxt
        cur = nxt
    cur[parts[-1]] = value


def _model_at(loc: tuple) -> type[BaseModel] | None:
    """The settings model class that holds the key at ``loc`` (for suggestions)."""
    model: Any = Config
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        fields = getattr(model, "model_fields", None)
        if not fields or part not in fields:
            return None
        ann = fields[part].annotation
        model = _first_model(ann)
        if model is None:
            return None
    return model if hasattr(model, "model_fields") else None


def _first_model(ann: Any) -> Any:
    if isinstance(ann, type) and issubclass(ann, BaseModel):
        return ann
    for arg in getattr(ann, "__args__", ()) or ():
        found = _first_model(arg)
        if found is not None:
            return found
    return None


def _dotted_loc(key: str) -> tuple:
    """``"sim.scene.groups.0.name"`` -> ``("sim", "scene", "groups", 0, "name")``."""
    return tuple(int(p) if p.isdigit() else p for p in key.split("."))


def _error_origin(
    loc: tuple, where: str, lines: dict[tuple, int], origins: dict[tuple, str]
) -> str:
    """Where the key or value at ``loc`` came from: ``FILE:LINE``, an override, or both.

    An override at ``loc`` or above it set the value, so it alone is named. Otherwise the file's
    line of ``loc`` is named, together with the overrides below ``loc`` (a check across keys,
    such as camera's "hfov_deg or sensor size, not both", can be failed by both). Failing both,
    the file's nearest enclosing key is named, or the file alone.
    """
    if not loc:  # a check on the whole config
        return where
    above = [k for k in origins if loc[: len(k)] == k]
    if above:
        return origins[max(above, key=len)]
    below = [origins[k] for k in origins if k[: len(loc)] == loc]
    if loc in lines:
        return " and ".join([f"{where}:{lines[loc]}", *below])
    if below:
        return " and ".join(below)
    for n in range(len(loc) - 1, 0, -1):
        if loc[:n] in lines:
            return f"{where}:{lines[loc[:n]]}"
    return where


def _format_validation_error(
    exc: ValidationError, where: str, lines: dict[tuple, int], origins: dict[tuple, str]
) -> str:
    messages = []
    for err in exc.errors():
        loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
        dotted = ".".join(str(p) for p in loc) or "(top level)"
        prefix = _error_origin(loc, where, lines, origins)
        if err["type"] == "extra_forbidden":
            model = _model_at(loc)
            known = list(model.model_fields) if model is not None else []
            guess = difflib.get_close_matches(str(loc[-1]), known, n=1, cutoff=0.5)
            parent = ".".join(str(p) for p in loc[:-1])
            if guess:
                hint = f"; did you mean '{'.'.join(filter(None, (parent, guess[0])))}'?"
            elif known:
                hint = f"; known keys{' of ' + parent if parent else ''}: {', '.join(known)}"
            else:
                hint = ""
            messages.append(f"{prefix}: unknown key '{dotted}'{hint}")
        else:
            got = err.get("input")
            got_txt = f" (got {got!r})" if got is not None and not isinstance(got, dict) else ""
            messages.append(f"{prefix}: {dotted}: {err['msg']}{got_txt}")
    first = messages[0]
    more = f" (and {len(messages) - 1} more error(s))" if len(messages) > 1 else ""
    return first + more


def _resolve_paths(cfg: Config, base_dir: Path, data: dict) -> None:
    """Make relative paths that came from the file absolute against the file's folder.

    Paths given as overrides (CLI flags), and output folders marked ``cwd_relative`` (where
    recordings go), stay relative to the working directory, as a user expects.
    """

    def fix(model: BaseModel, raw: Any) -> None:
        """Resolve ``model``'s file-given relative paths against ``base_dir``, recursively."""
        for name, info in type(model).model_fields.items():
            value = getattr(model, name)
            extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
            if extra.get("cwd_relative"):
                continue
            sub_raw = raw.get(name) if isinstance(raw, dict) else None
            if (
                isinstance(value, Path)
                and not value.is_absolute()
                and sub_raw is not None
                and Path(str(sub_raw)) == value
            ):
                object.__setattr__(model, name, (base_dir / value).resolve())
            elif isinstance(value, BaseModel):
                fix(value, sub_raw)

    fix(cfg, data)
