"""The district's five-colour risk map (五色装户图) and its "combat map" features.

A risk map is a GeoJSON FeatureCollection (lon, lat order) of households, buildings or blocks:

* **Risk features**: Point, MultiPoint, Polygon or MultiPolygon features whose ``properties``
  carry ``risk`` in red / orange / yellow / green / white (Chinese 红 / 橙 / 黄 / 绿 / 白, with
  or without 色, are accepted and stored in English). Red was "returned from Wuhan", orange "from
  Hubei", yellow "from other cities", green "empty", white "normal"; the district re-checked
  households in rounds until everything was white. Each feature should have an ``id`` (the
  feature's top-level ``id`` or ``properties.id``); features without one get ``"#N"`` (0-based).
  A point stands for a household: it covers a disc of ``point_radius_m`` around it.
* **Combat-map features** (gates, checkpoints, controlled exits) have ``kind`` (or ``combat``)
  in gate / checkpoint / exit (门 / 卡口 / 出口) and no ``risk``; they are drawn as map symbols
  and take no part in planning.

Every bad value raises :class:`RiskMapError` with one line naming the file and the feature.
Pure: shapely and pydantic, no groundstation imports.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import shapely
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator
from shapely.geometry import Point, shape
from shapely.geometry.base import BaseGeometry

from missions.errors import InputError
from missions.geo import LocalFrame
from missions.shapes import geo_to_local

RISK_CLASSES = ("red", "orange", "yellow", "green", "white")
"""Risk classes, most urgent first."""
PRIORITY_CLASSES = ("red", "orange", "yellow")
"""Classes the planner visits first, in this order (green = empty, white = normal)."""
RISK_COLOURS = {"red": "#d62728", "orange": "#ff7f0e", "yellow": "#e5c100", "green": "#2ca02c",
                "white": "#bbbbbb"}  # fmt: skip
"""Map colours of the classes (preview, report, live page)."""
RISK_ZH = {"red": "红", "orange": "橙", "yellow": "黄", "green": "绿", "white": "白"}
_ALIASES = {**{v: k for k, v in RISK_ZH.items()}, **{v + "色": k for k, v in RISK_ZH.items()}}
_ALIASES.update({"橘": "orange", "橘色": "orange"})
COMBAT_KINDS = ("gate", "checkpoint", "exit")
"""Combat-map symbol kinds: a gate of a compound, a checkpoint, a controlled exit."""
_COMBAT_ALIASES = {
    "门": "gate", "大门": "gate", "卡口": "checkpoint", "检查点": "checkpoint",
    "出口": "exit", "controlled_exit": "exit", "controlled exit": "exit",
}  # fmt: skip
POINT_RADIUS_M = 10.0
"""Default radius of the ground a household point stands for, metres."""
_GEOMS = ("Point", "MultiPoint", "Polygon", "MultiPolygon")


class RiskMapError(InputError):
    """A risk map file that cannot be read or used (message names the file and the feature)."""


def normalise_risk(value) -> str:
    """The English class of a risk value (``"红"`` → ``"red"``).

    Raises:
        ValueError: Not one of the five classes.
    """
    text = str(value).strip()
    low = text.lower()
    if low in RISK_CLASSES:
        return low
    if text in _ALIASES:
        return _ALIASES[text]
    raise ValueError(f"risk {value!r} is not one of red/orange/yellow/green/white (红/橙/黄/绿/白)")


def _normalise_kind(value) -> str:
    text = str(value).strip()
    low = text.lower().replace("-", "_")
    if low in COMBAT_KINDS:
        return low
    if text in _COMBAT_ALIASES or low in _COMBAT_ALIASES:
        return _COMBAT_ALIASES.get(text) or _COMBAT_ALIASES[low]
    raise ValueError(f"kind {value!r} is not one of gate/checkpoint/exit (门/卡口/出口)")


class _Props(BaseModel):
    """The properties the risk map reads (others are kept untouched)."""

    model_config = ConfigDict(extra="allow")
    id: str | int | None = None
    risk: str | None = None
    kind: str | None = None
    combat: str | None = None
    name: str | None = None

    @field_validator("risk")
    @classmethod
    def _risk(cls, v):
        return None if v is None else normalise_risk(v)


@dataclass
class RiskFeature:
    """One household, building or block of the risk map.

    Attributes:
        id: Feature id (string).
        risk: One of :data:`RISK_CLASSES`.
        geometry: Shapely geometry in (lon, lat).
        name: Label, or None.
        properties: All properties as read (updated by :func:`set_risk`).
    """

    id: str
    risk: str
    geometry: BaseGeometry
    name: str | None = None
    properties: dict = field(default_factory=dict)


@dataclass
class CombatFeature:
    """A combat-map symbol: ``kind`` in :data:`COMBAT_KINDS`, geometry in (lon, lat)."""

    id: str
    kind: str
    geometry: BaseGeometry
    name: str | None = None


@dataclass
class RiskMap:
    """A parsed risk map.

    Attributes:
        source: File it came from (for messages).
        features: Risk features in file order.
        combat: Combat-map features in file order.
        point_radius_m: Radius a household point stands for, metres.
    """

    source: str
    features: list[RiskFeature]
    combat: list[CombatFeature] = field(default_factory=list)
    point_radius_m: float = POINT_RADIUS_M
    _cache: dict = field(default_factory=dict, repr=False, compare=False)

    def counts(self) -> dict[str, int]:
        """Number of features per class (every class present, zeros included)."""
        out = dict.fromkeys(RISK_CLASSES, 0)
        for f in self.features:
            out[f.risk] += 1
        return out

    def local_features(self, frame: LocalFrame) -> list[tuple[str, BaseGeometry]]:
        """``(class, ground)`` of every feature in ``frame``'s local metres, in file order; a
        household point becomes a disc of ``point_radius_m``."""
        out = []
        for f in self.features:
            g = geo_to_local(f.geometry, frame)
            if g.geom_type in ("Point", "MultiPoint"):
                g = g.buffer(self.point_radius_m)
            out.append((f.risk, g))
        return out

    def regions_local(self, frame: LocalFrame) -> dict[str, BaseGeometry]:
        """Ground of each class in local metres (points buffered by ``point_radius_m``).

        A place claimed by several classes belongs to the most urgent one. Classes with no
        feature are absent.
        """
        parts: dict[str, list] = {}
        for risk, g in self.local_features(frame):
            parts.setdefault(risk, []).append(g)
        out: dict[str, BaseGeometry] = {}
        taken = None
        for c in RISK_CLASSES:
            if c not in parts:
                continue
            g = shapely.union_all(parts[c])
            if taken is not None:
                g = g.difference(taken)
            out[c] = g
            taken = g if taken is None else shapely.union_all([taken, g])
        return out

    def classify(
        self, lat_deg: float, lon_deg: float, frame: LocalFrame | None = None
    ) -> str | None:
        """The risk class at a place: the most urgent feature containing it (a point feature
        within ``point_radius_m``), or None outside every feature.

        Args:
            lat_deg, lon_deg: The place, WGS-84 degrees.
            frame: Local frame for the point radius (the plan's); default one centred on the map.
                Features are projected once per frame and cached.
        """
        if frame is None:
            c = shapely.union_all([f.geometry for f in self.features]).centroid
            frame = LocalFrame(float(c.y), float(c.x))
        key = (frame.lat0_deg, frame.lon0_deg)
        local = self._cache.get(key)
        if local is None:
            local = sorted(self.local_features(frame), key=lambda rg: RISK_CLASSES.index(rg[0]))
            for _, g in local:
                shapely.prepare(g)
            self._cache[key] = local
        x, y = frame.to_local(lat_deg, lon_deg)
        p = Point(float(x), float(y))
        for risk, g in local:
            if g.covers(p):
                return risk
        return None

    def to_geojson(self) -> dict:
        """The layer as a GeoJSON FeatureCollection (``layer``: ``risk`` or ``combat``), for maps."""
        feats = []
        for f in self.features:
            props = {**f.properties, "id": f.id, "risk": f.risk, "risk_zh": RISK_ZH[f.risk],
                     "layer": "risk"}  # fmt: skip
            feats.append({"type": "Feature", "id": f.id, "properties": props,
                          "geometry": shapely.geometry.mapping(f.geometry)})  # fmt: skip
        for c in self.combat:
            props = {"id": c.id, "kind": c.kind, "name": c.name, "layer": "combat"}
            feats.append({"type": "Feature", "id": c.id, "properties": props,
                          "geometry": shapely.geometry.mapping(c.geometry)})  # fmt: skip
        return {"type": "FeatureCollection", "features": feats}


def _read_json(path: str | os.PathLike) -> dict:
    p = Path(path)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RiskMapError(f"{p}: risk map not found") from None
    except (OSError, UnicodeDecodeError) as e:
        raise RiskMapError(f"{p}: cannot read the risk map: {e}") from None
    except json.JSONDecodeError as e:
        raise RiskMapError(f"{p}: not JSON (line {e.lineno}: {e.msg})") from None
    if not isinstance(data, dict) or data.get("type") != "FeatureCollection":
        raise RiskMapError(f"{p}: a risk map must be a GeoJSON FeatureCollection")
    if not isinstance(data.get("features"), list):
        raise RiskMapError(f"{p}: 'features' must be a list")
    return data


def _feature_id(feat: dict, props: _Props, i: int) -> str:
    fid = feat.get("id", props.id)
    return f"#{i}" if fid is None else str(fid)


def read_risk_map(data: dict, source: str, point_radius_m: float = POINT_RADIUS_M) -> RiskMap:
    """Parse a risk map FeatureCollection (see the module notes).

    Args:
        data: The GeoJSON document (a dict).
        source: Its file name, for messages.
        point_radius_m: Radius a household point stands for, metres.

    Raises:
        RiskMapError: A feature with a bad geometry, a bad ``risk`` or ``kind``, neither of them,
            duplicate ids, coordinates outside lat/lon ranges.
    """
    risk, combat, seen = [], [], set()
    for i, feat in enumerate(data.get("features", [])):
        where = f"{source}: feature {i}"
        if not isinstance(feat, dict) or feat.get("type") != "Feature":
            raise RiskMapError(f"{where}: not a GeoJSON Feature")
        try:
            props = _Props.model_validate(feat.get("properties") or {})
        except ValidationError as e:
            err = e.errors()[0]
            loc = ".".join(str(x) for x in err["loc"])
            fid = (feat.get("properties") or {}).get("id", feat.get("id"))
            label = f"{where}" + (f" (id {fid!r})" if fid is not None else "")
            raise RiskMapError(
                f"{label}: {loc}: {err['msg'].removeprefix('Value error, ')}"
            ) from None
        fid = _feature_id(feat, props, i)
        where = f"{source}: feature {i} (id {fid!r})"
        if fid in seen:
            raise RiskMapError(f"{where}: duplicate id")
        seen.add(fid)
        geom = feat.get("geometry")
        if not isinstance(geom, dict) or geom.get("type") not in _GEOMS:
            got = geom.get("type") if isinstance(geom, dict) else geom
            raise RiskMapError(f"{where}: geometry must be one of {'/'.join(_GEOMS)}, got {got!r}")
        try:
            g = shape(geom)
        except Exception as e:  # shapely raises several types on malformed coordinates
            raise RiskMapError(f"{where}: bad coordinates: {e}") from None
        if g.is_empty:
            raise RiskMapError(f"{where}: empty geometry")
        minx, miny, maxx, maxy = g.bounds
        if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
            raise RiskMapError(f"{where}: coordinates out of range (GeoJSON is lon, lat)")
        if not g.is_valid:
            raise RiskMapError(f"{where}: invalid polygon ({shapely.is_valid_reason(g)})")
        kind_raw = props.kind if props.kind is not None else props.combat
        if props.risk is not None:
            extra = props.model_extra or {}
            full = {**(feat.get("properties") or {}), **extra, "risk": props.risk}
            risk.append(RiskFeature(fid, props.risk, g, props.name, full))
        elif kind_raw is not None:
            try:
                kind = _normalise_kind(kind_raw)
            except ValueError as e:
                raise RiskMapError(f"{where}: {e}") from None
            combat.append(CombatFeature(fid, kind, g, props.name))
        else:
            raise RiskMapError(
                f"{where}: no 'risk' (red/orange/yellow/green/white) and no combat 'kind' "
                "(gate/checkpoint/exit)"
            )
    if not risk:
        raise RiskMapError(f"{source}: no feature with a 'risk' property")
    return RiskMap(source=source, features=risk, combat=combat, point_radius_m=point_radius_m)


def load_risk_map(path: str | os.PathLike, point_radius_m: float = POINT_RADIUS_M) -> RiskMap:
    """Read and parse a risk map file (see :func:`read_risk_map`).

    Raises:
        RiskMapError: Missing or unreadable file, or a bad feature.
    """
    return read_risk_map(_read_json(path), str(path), point_radius_m)


def set_risk(
    path: str | os.PathLike, feature_id: str, risk: str, *, by: str, at: datetime | None = None
) -> tuple[str, str]:
    """Change one feature's colour in a risk map file, recording who and when.

    The feature's ``properties`` get ``risk`` (English), ``risk_updated_by``, ``risk_updated_at``
    (ISO 8601 UTC) and one more entry in ``risk_history`` (``{from, to, by, at}``), the way the
    district's rounds of checks kept the map current. The file is rewritten atomically.

    Args:
        path: The risk map file.
        feature_id: The feature's id (top-level ``id`` or ``properties.id``, compared as text).
        risk: The new class (English or Chinese).
        by: Who made the change (an officer's name or login).
        at: When (default now, UTC).

    Returns:
        (old class, new class).

    Raises:
        RiskMapError: Bad file, unknown id, bad class, empty ``by``.
    """
    p = Path(path)
    data = _read_json(p)
    read_risk_map(data, str(p))  # the file must be valid before we touch it
    try:
        new = normalise_risk(risk)
    except ValueError as e:
        raise RiskMapError(f"--risk: {e}") from None
    if not str(by).strip():
        raise RiskMapError("--by: say who changed the colour")
    when = (at or datetime.now(timezone.utc)).astimezone(timezone.utc)
    stamp = when.isoformat(timespec="seconds").replace("+00:00", "Z")
    for i, feat in enumerate(data["features"]):
        props = feat.setdefault("properties", {}) or {}
        fid = feat.get("id", props.get("id"))
        if (f"#{i}" if fid is None else str(fid)) != str(feature_id):
            continue
        if props.get("risk") is None:
            raise RiskMapError(
                f"{p}: feature {feature_id!r} is a combat-map symbol, not a household"
            )
        old = normalise_risk(props["risk"])
        props["risk"] = new
        props["risk_updated_by"] = str(by).strip()
        props["risk_updated_at"] = stamp
        hist = props.get("risk_history")
        hist = hist if isinstance(hist, list) else []
        hist.append({"from": old, "to": new, "by": str(by).strip(), "at": stamp})
        props["risk_history"] = hist
        feat["properties"] = props
        tmp = p.with_name(p.name + ".tmp")
        tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        os.replace(tmp, p)
        return old, new
    raise RiskMapError(f"{p}: no feature with id {feature_id!r}")
