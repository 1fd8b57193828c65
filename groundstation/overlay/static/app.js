// dronepatrol officers' page: alerts that demand attention, a Leaflet map locating them and the
// officer, answers ("on my way"...), video and status from the ground station.
// Everything is served by the ground station (Leaflet is vendored): no CDN, works offline.
"use strict";

const $ = (id) => document.getElementById(id);
const Z = 20; // zoom of the #vehicle dataset.x/y working coordinates (Web Mercator px, ~0.15 m)
const SAFETY = new Set(["link_lost", "link_recovered", "battery_low", "geofence", "failsafe"]);
const ACKS = ["on_my_way", "resolved", "false_alarm"];

const view = {
  map: null, layers: {}, fitted: false, mapInfo: null, trail: [], trailLine: null,
  alerts: new Map(), markers: new Map(), selected: null, vehicle: null, me: null, meMarker: null,
  meCircle: null, officer: null, verified: false, armed: false, lastState: {}, baseLayers: [],
  trailTotal: -1, tz: null, replay: null, marks: null,
};
const STATUS_FIELDS = ["st-mode", "st-phase", "st-armed", "st-battery", "st-link", "st-alt", "st-speed", "st-sortie", "st-item", "st-time"];
const seen = new Set(JSON.parse(localStorage.getItem("dp_seen") || "[]"));
let messageSeq = -1;
let source = null;

// ---------------------------------------------------------------- geometry
function polygons(geom) {
  // -> list of polygons, each a list of rings of [lat, lon]
  const out = [];
  const add = (g) => {
    if (!g) return;
    if (g.type === "FeatureCollection") g.features.forEach((f) => add(f.geometry));
    else if (g.type === "Feature") add(g.geometry);
    else if (g.type === "Polygon") out.push(g.coordinates.map((r) => r.map((p) => [p[1], p[0]])));
    else if (g.type === "MultiPolygon") g.coordinates.forEach((pc) => out.push(pc.map((r) => r.map((p) => [p[1], p[0]]))));
  };
  add(geom);
  return out;
}

// great-circle distance (m) and initial bearing (deg) from a to b, both [lat, lon]
function distanceBearing(a, b) {
  const R = 6371008.8, rad = Math.PI / 180;
  const f1 = a[0] * rad, f2 = b[0] * rad, dl = (b[1] - a[1]) * rad;
  const h = Math.sin((f2 - f1) / 2) ** 2 + Math.cos(f1) * Math.cos(f2) * Math.sin(dl / 2) ** 2;
  const d = 2 * R * Math.asin(Math.min(1, Math.sqrt(h)));
  const y = Math.sin(dl) * Math.cos(f2);
  const x = Math.cos(f1) * Math.sin(f2) - Math.sin(f1) * Math.cos(f2) * Math.cos(dl);
  return [d, ((Math.atan2(y, x) / rad) + 360) % 360];
}

// text for Leaflet options that take HTML (tooltips, layer names, attribution)
function esc(text) { const d = document.createElement("span"); d.textContent = String(text ?? ""); return d.innerHTML; }

function fmtDistance(m) { return m < 1000 ? `${Math.round(m)} m` : `${(m / 1000).toFixed(1)} km`; }

// ---------------------------------------------------------------- map (Leaflet)
function setupMap() {
  const map = L.map("map", { zoomSnap: 0.5, maxZoom: 22, attributionControl: true, preferCanvas: false });
  map.attributionControl.setPrefix('<a href="/static/vendor/leaflet/LICENSE">Leaflet</a>');
  L.control.scale({ imperial: false, maxWidth: 120 }).addTo(map);
  const panes = [["district", 405], ["risk", 408], ["fence", 410], ["route", 415], ["trail", 420], ["alerts", 450], ["me", 460]];
  for (const [name, z] of panes) {
    const p = map.createPane(name);
    p.style.zIndex = z;
    p.id = `layer-${name}`;
    view.layers[name] = L.layerGroup().addTo(map);
  }
  // layers the officer can switch off (the base map joins in drawMap)
  view.layerControl = L.control.layers(null, {
    [t("district")]: view.layers.district, [t("risk")]: view.layers.risk, [t("fence")]: view.layers.fence, [t("route")]: view.layers.route,
    [t("flown")]: view.layers.trail, [t("alerts")]: view.layers.alerts,
  }, { collapsed: true }).addTo(map);
  map.setView([0, 0], 2);
  view.map = map;
  $("map").dataset.zoom = String(map.getZoom());
  map.on("zoomend", () => { $("map").dataset.zoom = String(map.getZoom()); });
}

function drawMap(info) {
  view.mapInfo = info;
  const map = view.map;
  for (const name of ["district", "risk", "fence", "route"]) view.layers[name].clearLayers();
  view.baseLayers.forEach((l) => { map.removeLayer(l); view.layerControl.removeLayer(l); });
  view.baseLayers = [];
  const bounds = L.latLngBounds([]);
  for (const poly of polygons(info.district)) {
    const outer = L.polygon(poly, { pane: "district", className: "district", fillRule: "evenodd" }).addTo(view.layers.district);
    bounds.extend(outer.getBounds());
    poly.slice(1).forEach((hole) => L.polygon(hole, { pane: "district", className: "hole" }).addTo(view.layers.district));
  }
  drawRisk(info.risk);
  for (const poly of polygons(info.fence)) {
    const f = L.polygon(poly, { pane: "fence", className: "fence", fill: false }).addTo(view.layers.fence);
    bounds.extend(f.getBounds());
  }
  (info.route || []).forEach((r, i) => {
    if (!r.length) return;
    const line = L.polyline(r, { pane: "route", className: "route" }).addTo(view.layers.route);
    line.getElement()?.setAttribute("data-sortie", String(i + 1));
    bounds.extend(line.getBounds());
  });
  if (info.home) {
    L.marker(info.home, { pane: "route", icon: L.divIcon({ className: "home-icon", html: "H", iconSize: [18, 18] }), interactive: false }).addTo(view.layers.route);
    bounds.extend(info.home);
  }
  if (!view.fitted) {
    for (const a of view.alerts.values()) if (a.lat_deg != null) bounds.extend([a.lat_deg, a.lon_deg]);
    if (bounds.isValid()) { map.fitBounds(bounds, { padding: [16, 16], maxZoom: 19 }); view.fitted = true; }
    else if (info.basemap && info.basemap.bounds) {
      const [w, s, e, n] = info.basemap.bounds;
      map.fitBounds([[s, w], [n, e]]);
    }
  }
  // base layers after the view is set: a tile layer scales its native tiles to any zoom, so it
  // is limited to two zooms below its own and to its bounds (else a world view asks millions)
  if (info.basemap) {
    const b = info.basemap;
    const opts = {
      maxNativeZoom: b.maxzoom, minNativeZoom: b.minzoom, minZoom: Math.max(0, b.minzoom - 2), maxZoom: 22,
      className: "basemap", attribution: esc(b.attribution || b.name || ""),
    };
    if (b.bounds) opts.bounds = [[b.bounds[1], b.bounds[0]], [b.bounds[3], b.bounds[2]]];
    const layer = L.tileLayer(b.url, opts).addTo(map);
    view.baseLayers.push(layer);
    view.layerControl.addOverlay(layer, esc(b.name || "base map"));
  }
  if (info.tile_url) {
    view.baseLayers.push(L.tileLayer(info.tile_url, { maxZoom: 22, maxNativeZoom: 19, className: "xyz" }).addTo(map));
  }
  if (typeof fleetMap === "function") fleetMap(info);
  drawTrail();
}

function drawTrail() {
  if (!view.map) return;
  if (!view.trailLine) view.trailLine = L.polyline([], { pane: "trail", className: "trail", interactive: false }).addTo(view.layers.trail);
  view.trailLine.setLatLngs(view.trail);
}

function moveVehicle(s) {
  if (s.lat_deg == null || s.lon_deg == null || !view.map) return;
  if (!view.vehicle) {
    const icon = L.divIcon({ className: "vehicle-icon", iconSize: [28, 28], html: '<div id="vehicle"><svg viewBox="-14 -14 28 28" width="28" height="28"><path d="M0,-12 L8,10 L0,5 L-8,10 Z"/></svg></div>' });
    view.vehicle = L.marker([s.lat_deg, s.lon_deg], { icon, pane: "me", interactive: false, keyboard: false }).addTo(view.map);
  }
  view.vehicle.setLatLng([s.lat_deg, s.lon_deg]);
  const v = $("vehicle");
  if (!v) return;
  v.style.display = "";
  const yaw = s.yaw_deg || 0;
  v.firstChild.style.transform = `rotate(${yaw.toFixed(1)}deg)`;
  const p = view.map.project([s.lat_deg, s.lon_deg], Z);
  Object.assign(v.dataset, { lat: s.lat_deg.toFixed(7), lon: s.lon_deg.toFixed(7), yaw: yaw.toFixed(1), x: p.x.toFixed(2), y: p.y.toFixed(2) });
  if (!view.fitted && view.map) { view.map.setView([s.lat_deg, s.lon_deg], 18); view.fitted = true; }
}

// five-colour risk map (五色装户图): households/blocks coloured by class, combat symbols as letters
const RISK_FILL = { red: "#d62728", orange: "#ff7f0e", yellow: "#e5c100", green: "#2ca02c", white: "#bbbbbb" };
const COMBAT_MARK = { gate: "G", checkpoint: "C", exit: "E" };
function drawRisk(layer) {
  const group = view.layers.risk;
  for (const f of (layer && layer.features) || []) {
    const p = f.properties || {}, geom = f.geometry || {};
    const pts = geom.type === "Point" ? [geom.coordinates] : geom.type === "MultiPoint" ? geom.coordinates : [];
    const tip = esc(p.layer === "combat" ? `${p.kind}${p.name ? ": " + p.name : ""}` : `${p.risk} ${p.risk_zh || ""} · ${p.name || p.id || ""}`);
    const tag = (l) => {
      const e = l.getElement();
      if (e) { e.setAttribute("data-id", String(f.id ?? p.id ?? "")); if (p.risk) e.setAttribute("data-risk", p.risk); }
      l.bindTooltip(tip);
      return l;
    };
    if (p.layer === "combat") {
      pts.forEach(([lon, lat]) => tag(L.marker([lat, lon], { pane: "risk", icon: L.divIcon({ className: `combat combat-${p.kind}`, html: COMBAT_MARK[p.kind] || "?", iconSize: [16, 16] }) }).addTo(group)));
      continue;
    }
    const style = { pane: "risk", className: `risk risk-${p.risk}`, color: RISK_FILL[p.risk] || "#888", fillColor: RISK_FILL[p.risk] || "#888", fillOpacity: 0.45, weight: 1 };
    for (const poly of polygons(geom)) tag(L.polygon(poly, style).addTo(group));
    pts.forEach(([lon, lat]) => tag(L.circleMarker([lat, lon], { ...style, radius: 5 }).addTo(group)));
  }
}

function addAlertMarker(a) {
  if (a.lat_deg == null || a.lon_deg == null || !view.map) return;
  const old = view.markers.get(a.id);
  if (old) old.remove();
  const cls = `alert ${SAFETY.has(a.kind) ? "safety" : a.kind}${a.ack ? " acked" : ""}${view.selected === a.id ? " selected" : ""}`;
  const m = L.circleMarker([a.lat_deg, a.lon_deg], { pane: "alerts", radius: 9, className: cls }).addTo(view.layers.alerts);
  m.getElement().setAttribute("data-id", a.id);
  m.bindTooltip(esc(`${fmtTime(a.t_s)} ${alertText(a)}`));
  m.on("click", () => select(a.id, false));
  view.markers.set(a.id, m);
  if (!view.fitted && view.mapInfo) { view.map.setView([a.lat_deg, a.lon_deg], 17); view.fitted = true; } // no plan: frame the alerts
}

// ---------------------------------------------------------------- where am I
function startLocating() {
  if (!("geolocation" in navigator) || view.watching) return;
  view.watching = true;
  $("my-position").textContent = t("locating");
  navigator.geolocation.watchPosition((pos) => {
    view.me = [pos.coords.latitude, pos.coords.longitude];
    const acc = pos.coords.accuracy || 0;
    if (!view.meMarker) {
      view.meCircle = L.circle(view.me, { pane: "me", radius: acc, className: "me-accuracy", interactive: false }).addTo(view.layers.me);
      view.meMarker = L.circleMarker(view.me, { pane: "me", radius: 7, className: "me" }).addTo(view.layers.me);
      view.meMarker.getElement().id = "me";
    }
    view.meMarker.setLatLng(view.me);
    view.meCircle.setLatLng(view.me).setRadius(acc);
    view.meMarker.bindTooltip(t("you_are_here"));
    $("my-position").textContent = `${t("you_are_here")} ±${Math.round(acc)} m`;
    document.querySelectorAll("[data-alert-id]").forEach(updateDistance);
  }, () => { $("my-position").textContent = t("no_location"); view.watching = false; },
  { enableHighAccuracy: true, maximumAge: 5000, timeout: 30000 });
}

function updateDistance(card) {
  const a = view.alerts.get(card.dataset.alertId);
  const out = card.querySelector(".dist");
  if (!a || !out) return;
  if (!view.me || a.lat_deg == null) { out.textContent = ""; return; }
  const [d, brg] = distanceBearing(view.me, [a.lat_deg, a.lon_deg]);
  out.textContent = t("away", { d: fmtDistance(d), dir: COMPASS[LANG][Math.round(brg / 45) % 8] });
  card.dataset.distanceM = d.toFixed(1);
  card.dataset.bearingDeg = brg.toFixed(1);
}

// ---------------------------------------------------------------- status bar
// Times are shown in the ground station's display time zone (display.timezone), not the
// browser's: the page, the terminal and the report say the same clock time.
function fmtTime(ts) {
  if (ts == null) return "–";
  const tz = view.tz || {};
  if (tz.name) {
    try { return new Date(ts * 1000).toLocaleTimeString(LANG === "zh" ? "zh-CN" : "en-GB", { hour12: false, timeZone: tz.name }); } catch (e) { /* unknown to this browser: use the offset */ }
  }
  const d = new Date((ts + 60 * (tz.utc_offset_min || 0)) * 1000);
  const p = (n) => String(n).padStart(2, "0");
  return `${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}`;
}

function tzLabel() {
  const tz = view.tz || {};
  if (tz.name) return tz.name;
  const m = tz.utc_offset_min || 0;
  if (!m) return "UTC";
  const a = Math.abs(m);
  return `UTC${m < 0 ? "-" : "+"}${String(Math.floor(a / 60)).padStart(2, "0")}:${String(a % 60).padStart(2, "0")}`;
}

function clearState() {
  // nothing known yet (a seek to before the first telemetry): every field blank, no vehicle
  for (const id of STATUS_FIELDS) setText(id, "–");
  view.lastState = {};
  const v = $("vehicle");
  if (!v) return;
  v.style.display = "none";
  for (const k of ["lat", "lon", "yaw", "x", "y"]) delete v.dataset[k];
}

function setText(id, text, cls) {
  const e = $(id);
  e.textContent = text;
  e.className = cls || "";
}

function showState(s) {
  Object.assign(view.lastState, s);
  if (s.mode != null) setText("st-mode", s.mode);
  if (s.phase != null) setText("st-phase", s.phase);
  if (s.armed != null) setText("st-armed", s.armed ? t("armed") : t("disarmed"), s.armed ? "warn" : "");
  if (s.battery_pct != null) {
    const v = s.battery_v != null ? ` ${s.battery_v.toFixed(1)} V` : "";
    setText("st-battery", `${Math.round(s.battery_pct)} %${v}`, s.battery_pct < 20 ? "bad" : s.battery_pct < 35 ? "warn" : "ok");
  }
  if (s.link_ok != null) setText("st-link", s.link_ok ? "OK" : "LOST", s.link_ok ? "ok" : "bad");
  if (s.alt_m != null) setText("st-alt", `${s.alt_m.toFixed(1)} m`);
  if (s.groundspeed_m_s != null) setText("st-speed", `${s.groundspeed_m_s.toFixed(1)} m/s`);
  if (s.sortie != null) setText("st-sortie", s.sorties ? `${s.sortie}/${s.sorties}` : `${s.sortie}`);
  if (s.mission_seq != null) setText("st-item", s.mission_count ? `${s.mission_seq}/${s.mission_count}` : `${s.mission_seq}`);
  if (s.t_s != null) setText("st-time", fmtTime(s.t_s));
  moveVehicle(s);
  if (s.vehicles && typeof fleetState === "function") fleetState(s.vehicles, s.vehicle);
  if (s.trail_points) {
    // every position the hub recorded since the last message (all telemetry at any speed)
    let added = false;
    for (const p of s.trail_points) {
      const last = view.trail[view.trail.length - 1];
      if (!last || last[0] !== p[0] || last[1] !== p[1]) { view.trail.push(p); added = true; }
    }
    if (added) drawTrail();
  } else if (s.trail_point) {
    const last = view.trail[view.trail.length - 1];
    if (!last || last[0] !== s.trail_point[0] || last[1] !== s.trail_point[1]) {
      view.trail.push(s.trail_point);
      if (view.trail.length > 100000) view.trail.shift();
      drawTrail();
    }
  }
}

// ---------------------------------------------------------------- alerts
function alertText(a) {
  const zh = LANG === "zh";
  const colour = zh ? a.colour_zh || a.colour : a.colour;
  const c = colour ? t("in_colour", { c: colour }) : "";
  if (a.kind === "gathering") return t("gathering", { n: a.count }) + (a.radius_m != null ? t("within", { r: a.radius_m.toFixed(1) }) : "");
  if (a.kind === "unmasked") return t("unmasked", { c });
  if (a.kind === "mask_incorrect") return t("mask_incorrect", { c });
  return a.message ? `${t("k_" + a.kind)}: ${a.message}` : t("k_" + a.kind);
}

function ackText(ack) {
  return `${t(ack.state)} · ${ack.officer}${ack.verified ? " ✓" : ""} · ${fmtTime(ack.t_s)}`;
}

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text != null) e.textContent = text;
  return e;
}

// one alert as a card (list item or the pinned banner)
function alertCard(a, tag) {
  const card = el(tag, "");
  const safety = SAFETY.has(a.kind);
  card.className = `alert ${a.kind}${safety ? " safety" : ""}${a.ack ? "" : " unacked"}${seen.has(a.id) ? "" : " unseen"}${view.selected === a.id ? " selected" : ""}`;
  card.dataset.id = a.id;
  card.dataset.alertId = a.id;
  card.dataset.kind = a.kind;
  if (a.risk) card.dataset.risk = a.risk;
  card.dataset.ack = a.ack ? a.ack.state : "";
  const head = el("div", "head");
  head.append(el("span", "kind", t("k_" + a.kind)), el("span", "when", fmtTime(a.t_s)));
  if (a.risk) {
    const badge = el("span", `risk risk-${a.risk}`, `${t("risk_of")} ${t("r_" + a.risk)}`);
    badge.style.background = RISK_FILL[a.risk] || "#888";
    head.append(badge);
  }
  const body = el("div", "body");
  body.append(el("div", "msg", alertText(a)), el("div", "dist"));
  const where = el("div", "where");
  if (a.lat_deg != null) where.textContent = `${a.lat_deg.toFixed(6)}, ${a.lon_deg.toFixed(6)}` + (a.confidence != null && !safety ? ` · ${t("conf")} ${a.confidence.toFixed(2)}` : "");
  body.append(where);
  body.append(el("div", "ack-state", a.ack ? ackText(a.ack) : t("unanswered")));
  const row = el("div", "row");
  row.append(body);
  if (a.has_snapshot) {
    const img = el("img", "snap");
    img.loading = "lazy";
    img.alt = t("snapshot");
    img.src = `/api/alerts/${encodeURIComponent(a.id)}/snapshot`;
    row.append(img);
  }
  const buttons = el("div", "answers");
  if (!seen.has(a.id)) {
    const b = el("button", "seen", t("seen"));
    b.type = "button";
    b.addEventListener("click", (ev) => { ev.stopPropagation(); markSeen(a.id); });
    buttons.append(b);
  }
  for (const state of ACKS) {
    const b = el("button", `ack ${state}${a.ack && a.ack.state === state ? " chosen" : ""}`, t(state));
    b.type = "button";
    b.dataset.state = state;
    b.addEventListener("click", (ev) => { ev.stopPropagation(); answer(a.id, state); });
    buttons.append(b);
  }
  card.append(head, row, buttons);
  card.addEventListener("click", () => select(a.id, true));
  updateDistance(card);
  return card;
}

function renderAlert(a) {
  const li = alertCard(a, "li");
  const old = document.querySelector(`#alerts li[data-id="${CSS.escape(a.id)}"]`);
  if (old) old.replaceWith(li);
  else {
    // newest first (by time)
    const next = [...$("alerts").children].find((c) => (view.alerts.get(c.dataset.id)?.t_s ?? 0) < a.t_s);
    $("alerts").insertBefore(li, next || null);
  }
  $("alert-count").textContent = String(view.alerts.size);
  addAlertMarker(a);
}

function renderPinned() {
  const pin = $("pinned");
  const unseen = [...view.alerts.values()].filter((a) => !seen.has(a.id)).sort((x, y) => y.t_s - x.t_s);
  pin.replaceChildren();
  pin.hidden = unseen.length === 0;
  if (!unseen.length) { document.title = view.title || "dronepatrol"; return; }
  const label = el("div", "pin-label", `${t("new_alert")}${unseen.length > 1 ? ` (${unseen.length})` : ""}`);
  pin.append(label, alertCard(unseen[0], "div"));
  document.title = `(${unseen.length}) ${view.title || "dronepatrol"}`;
}

function addAlert(a, fresh) {
  const isNew = !view.alerts.has(a.id);
  view.alerts.set(a.id, a);
  // at load, answered or older (10 min) alerts are not news; a recent unanswered one stays pinned
  if (!fresh && isNew && !view.initialised && (a.ack || Date.now() / 1000 - a.t_s > 600)) seen.add(a.id);
  renderAlert(a);
  if (fresh && isNew) { notify(a); renderPinned(); }
}

function markSeen(id) {
  seen.add(id);
  localStorage.setItem("dp_seen", JSON.stringify([...seen].slice(-2000)));
  const a = view.alerts.get(id);
  if (a) renderAlert(a);
  renderPinned();
}

function applyAck(msg) {
  const a = view.alerts.get(msg.alert_id);
  if (!a) return;
  a.acks = msg.acks;
  a.ack = msg.ack;
  renderAlert(a);
  renderPinned();
}

function officerName() {
  if (view.officer) return view.officer;
  return $("officer-name").value.trim();
}

async function answer(id, state) {
  const name = officerName();
  if (!name) { notice(t("name_needed")); $("officer-name").focus(); return; }
  localStorage.setItem("dp_officer", name);
  markSeen(id);
  try {
    const r = await fetch(`/api/alerts/${encodeURIComponent(id)}/ack`, {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ officer: name, state }),
    });
    if (!r.ok) notice((await r.json()).detail || String(r.status));
  } catch (e) { notice(t("reconnecting")); }
}

function notice(text) {
  const n = $("notice");
  n.textContent = text;
  n.hidden = false;
  clearTimeout(view.noticeTimer);
  view.noticeTimer = setTimeout(() => { n.hidden = true; }, 4000);
}

function select(id, pan, jump = true) {
  view.selected = id;
  // in a replay, clicking an alert (card, map marker or seek-bar mark) jumps to when it was raised
  const raised = view.alerts.get(id) || (view.marks || []).find((m) => m.id === id);
  if (jump && view.replay && raised && raised.t_s != null) post(`/api/replay/seek?t=${raised.t_s}`);
  document.querySelectorAll("#alerts li").forEach((li) => li.classList.toggle("selected", li.dataset.id === id));
  for (const [mid, m] of view.markers) m.getElement()?.classList.toggle("selected", mid === id);
  const a = view.alerts.get(id);
  if (pan && a && a.lat_deg != null && view.map) {
    const pts = [[a.lat_deg, a.lon_deg]];
    if (view.me) pts.push(view.me);
    view.map.fitBounds(pts, { padding: [40, 40], maxZoom: 19 });
    if (window.matchMedia("(max-width: 900px)").matches) $("map-panel").scrollIntoView({ block: "start" });
  }
  if (!pan) document.querySelector(`#alerts li[data-id="${CSS.escape(id)}"]`)?.scrollIntoView({ block: "nearest" });
}

// ---------------------------------------------------------------- attention: sound, vibration, notification
function notify(a) {
  const audio = $("alert-sound");
  audio.dataset.fired = String(Number(audio.dataset.fired) + 1);
  audio.dataset.lastAlert = a.id;
  audio.currentTime = 0;
  const p = audio.play();
  if (p) p.then(() => { audio.dataset.played = String(Number(audio.dataset.played) + 1); }).catch(() => { audio.dataset.blocked = "1"; });
  // browsers allow vibration only after a tap on the page (else a console error)
  if (navigator.vibrate && (view.armed || navigator.userActivation?.hasBeenActive)) navigator.vibrate([300, 120, 300]);
  if ("Notification" in window && Notification.permission === "granted") {
    try { new Notification(`${t("new_alert")}: ${t("k_" + a.kind)}`, { body: alertText(a), tag: a.id }); } catch (e) { /* mobile needs a service worker */ }
  }
}

function arm() {
  const audio = $("alert-sound");
  audio.muted = true;
  const p = audio.play();
  const done = () => { audio.pause(); audio.currentTime = 0; audio.muted = false; };
  if (p) p.then(done).catch(done); else done();
  view.armed = true;
  $("arm").textContent = t("armed_sound");
  $("arm").classList.add("on");
  $("arm").dataset.armed = "1";
  if ("Notification" in window && Notification.permission === "default") Notification.requestPermission().catch(() => {});
  startLocating();
}

// ---------------------------------------------------------------- log
function addLog(entry) {
  const li = el("li", `${entry.level || "info"}${entry.quiet ? " quiet" : ""}`);
  li.append(el("span", "t", fmtTime(entry.t_s)), document.createTextNode(entry.text));
  $("log").prepend(li);
  while ($("log").children.length > 300) $("log").lastChild.remove();
}

// ---------------------------------------------------------------- replay controls
let seeking = false;
function showReplay(r) {
  if (!r || r.error) return;
  document.body.classList.add("replay");
  $("replay-bar").hidden = false;
  $("rp-play").textContent = r.paused ? t("play") : t("pause");
  $("rp-play").dataset.paused = r.paused ? "1" : "0";
  const seek = $("rp-seek");
  seek.min = r.start_s; seek.max = r.end_s;
  if (!seeking) seek.value = r.t_s;
  $("rp-speed").value = String(r.speed);
  $("rp-time").textContent = `${fmtTime(r.t_s)} ${tzLabel()} (${Math.round(r.t_s - r.start_s)} / ${Math.round(r.end_s - r.start_s)} s)`;
  $("rp-time").dataset.t = String(r.t_s);
  const first = !view.replay;
  view.replay = r;
  if (first) loadMarks();
}

async function loadMarks() {
  // alert markers on the seek bar: every alert of the recording, clickable
  let marks = [];
  try { marks = (await (await fetch("/api/replay/marks")).json()).marks || []; } catch (e) { return; }
  view.marks = marks;
  const box = $("rp-marks");
  box.replaceChildren();
  const r = view.replay;
  const span = Math.max(1e-9, r.end_s - r.start_s);
  for (const m of marks) {
    const b = document.createElement("button");
    b.type = "button";
    b.className = `mark ${SAFETY.has(m.kind) ? "safety" : m.kind}`;
    b.dataset.id = m.id;
    b.dataset.t = String(m.t_s);
    b.title = `${fmtTime(m.t_s)} ${t("k_" + m.kind)}`;
    b.style.left = `${(100 * (m.t_s - r.start_s)) / span}%`;
    b.addEventListener("click", () => { view.selected = m.id; post(`/api/replay/seek?t=${m.t_s}`); });
    box.append(b);
  }
}

function post(path) { return fetch(path, { method: "POST" }).then((r) => r.ok ? r.json() : null).then(showReplay).catch(() => {}); }

function setupControls() {
  $("rp-play").addEventListener("click", () => post($("rp-play").dataset.paused === "1" ? "/api/replay/play" : "/api/replay/pause"));
  $("rp-speed").addEventListener("change", (e) => post(`/api/replay/speed?x=${e.target.value}`));
  const seek = $("rp-seek");
  seek.addEventListener("input", () => { seeking = true; });
  seek.addEventListener("change", () => { seeking = false; post(`/api/replay/seek?t=${seek.value}`); });
  $("arm").addEventListener("click", arm);
  $("lang").addEventListener("click", () => {
    LANG = LANG === "zh" ? "en" : "zh";
    localStorage.setItem("dp_lang", LANG);
    const u = new URL(location.href); u.searchParams.delete("lang"); history.replaceState(null, "", u);
    relabel();
  });
  $("log-all").addEventListener("change", (e) => document.body.classList.toggle("log-all", e.target.checked));
  $("officer-name").value = localStorage.getItem("dp_officer") || "";
  // any first tap on the page arms the sound (browsers allow audio only after a gesture)
  document.addEventListener("pointerdown", () => { if (!view.armed) arm(); }, { once: true, capture: true });
}

function relabel() {
  applyStrings();
  if (view.armed) $("arm").textContent = t("armed_sound");
  for (const a of view.alerts.values()) renderAlert(a);
  renderPinned();
  showState(view.lastState);
}

// ---------------------------------------------------------------- data flow
async function loadSnapshot() {
  document.body.dataset.loading = "1";
  const snap = await (await fetch("/api/snapshot")).json();
  view.title = snap.title + (snap.mode === "replay" ? ` · ${t("replay")}` : "");
  $("title").textContent = view.title;
  document.body.classList.toggle("serve", snap.mode === "serve");
  view.tz = snap.timezone || view.tz;
  view.trail = snap.trail || [];
  view.trailTotal = snap.trail_total != null ? snap.trail_total : -1;
  view.alerts.clear();
  view.markers.forEach((m) => m.remove());
  view.markers.clear();
  $("alerts").replaceChildren();
  $("log").replaceChildren();
  $("alert-count").textContent = "0";
  clearState();
  if (!snap.frame_seq) clearVideo();
  drawTrail();
  for (const a of snap.alerts) addAlert(a, false);
  $("alert-count").textContent = String(view.alerts.size);
  for (const e of snap.log) addLog(e);
  drawMap(await (await fetch("/api/map")).json());
  if (typeof fleetLoad === "function") fleetLoad(snap);
  showState(snap.state || {});
  if (snap.replay) showReplay(snap.replay);
  if (view.selected && view.alerts.has(view.selected)) select(view.selected, false, false);
  messageSeq = snap.message_seq;
  view.initialised = true;
  renderPinned();
  document.body.dataset.epoch = String(snap.epoch);
  document.body.dataset.loading = "0";
}

function clearVideo() {
  // no frame at this time (before the video starts): show none rather than a later one
  const img = $("video");
  img.removeAttribute("src");
  img.dataset.frameTime = "";
  img.dataset.cleared = "1";
  $("video-info").textContent = t("no_video_now");
}

function connectEvents() {
  if (source) source.close();
  source = new EventSource(`/api/events?since=${messageSeq}&trail=${view.trailTotal}`);
  source.onopen = () => setText("conn", t("connected"), "ok");
  source.onerror = () => setText("conn", t("reconnecting"), "warn");
  const on = (kind, fn) => source.addEventListener(kind, (ev) => {
    if (ev.lastEventId) messageSeq = Number(ev.lastEventId);
    fn(JSON.parse(ev.data));
  });
  on("state", showState);
  on("alert", (a) => addAlert(a, true));
  on("ack", applyAck);
  on("log", addLog);
  on("map", async () => drawMap(await (await fetch("/api/map")).json()));
  on("reset", async () => { source.close(); await loadSnapshot(); connectEvents(); });
  on("replay", showReplay);
}

async function videoLoop() {
  const img = $("video");
  let seq = 0, shown = 0, t0 = performance.now(), url = null;
  for (;;) {
    try {
      const r = await fetch(`/api/frame?after=${seq}`, { cache: "no-store" });
      if (r.status === 200) {
        seq = Number(r.headers.get("X-Frame-Seq"));
        const ft = Number(r.headers.get("X-Frame-Time"));
        const next = URL.createObjectURL(await r.blob());
        img.src = next;
        if (url) URL.revokeObjectURL(url);
        url = next;
        shown += 1;
        document.body.classList.add("has-video");
        img.dataset.frameSeq = String(seq);
        img.dataset.frameTime = String(ft);
        img.dataset.cleared = "0";
        img.dataset.framesShown = String(shown);
        // capture -> shown, by this device's clock (exact on the ground station itself)
        const behind = Date.now() / 1000 - ft;
        img.dataset.latencyMs = String(Math.round(1000 * behind));
        const dt = (performance.now() - t0) / 1000;
        const lag = behind >= 0 && behind < 60 && !document.body.classList.contains("replay") ? ` · ${behind.toFixed(1)} s ${t("behind")}` : "";
        $("video-info").textContent = `${t("frame")} ${r.headers.get("X-Frame-Index")} · ${fmtTime(ft)} · ${(shown / Math.max(dt, 1e-3)).toFixed(1)} ${t("fps_shown")}${lag}`;
        if (dt > 10) { t0 = performance.now(); shown = 0; }
      } else if (r.status !== 204) {
        await new Promise((res) => setTimeout(res, 1000));
      }
    } catch (e) {
      $("video-info").textContent = t("video_reconnecting");
      await new Promise((res) => setTimeout(res, 1000));
    }
  }
}

async function whoami() {
  try {
    const w = await (await fetch("/api/whoami")).json();
    view.officer = w.officer;
    view.verified = w.verified;
    if (w.officer) {
      $("officer-name").hidden = true;
      $("officer-badge").hidden = false;
      $("officer-badge").textContent = w.officer;
    }
  } catch (e) { /* retried by the snapshot loop */ }
}

window.addEventListener("resize", () => view.map && view.map.invalidateSize());
// the map's box changes when the first video frame takes its place above it
if (window.ResizeObserver) new ResizeObserver(() => view.map && view.map.invalidateSize()).observe($("map"));

(async function main() {
  applyStrings();
  setupMap();
  setupControls();
  if (navigator.permissions) {
    navigator.permissions.query({ name: "geolocation" }).then((p) => { if (p.state === "granted") startLocating(); }).catch(() => {});
  }
  for (;;) {
    try { await loadSnapshot(); break; } catch (e) { setText("conn", t("waiting_gs"), "warn"); await new Promise((r) => setTimeout(r, 1000)); }
  }
  await whoami();
  connectEvents();
  if (document.body.classList.contains("serve")) return; // the service has no video
  if (new URLSearchParams(location.search).get("video") === "0") { document.body.classList.add("no-video"); return; } // saves mobile data
  videoLoop();
})();
