// dronepatrol live overlay: video, map, alerts and status from the ground station.
// No libraries and no network beyond this server (the field laptop is offline).
"use strict";

const $ = (id) => document.getElementById(id);
const SVGNS = "http://www.w3.org/2000/svg";
const Z = 20; // web-mercator zoom of the map's working coordinates (~0.15 m per unit)
const TILE = 256;
const SAFETY = new Set(["link_lost", "link_recovered", "battery_low", "geofence", "failsafe"]);

const view = { origin: null, box: null, scale: 1, mapInfo: null, trail: [], alerts: new Map(), selected: null };
let messageSeq = -1;
let source = null;

// ---------------------------------------------------------------- projection (Web Mercator)
// Browsers draw SVG in single precision: coordinates are kept small by measuring them from an
// origin (the first point seen), so that centimetres survive at zoom 20.
function mercator(lat, lon) {
  const n = TILE * Math.pow(2, Z);
  const s = Math.sin((Math.max(-85, Math.min(85, lat)) * Math.PI) / 180);
  return [((lon + 180) / 360) * n, (0.5 - Math.log((1 + s) / (1 - s)) / (4 * Math.PI)) * n];
}

function project(lat, lon) {
  const [x, y] = mercator(lat, lon);
  if (!view.origin) view.origin = [Math.round(x), Math.round(y)];
  return [x - view.origin[0], y - view.origin[1]];
}

function eachCoord(geom, fn) {
  if (!geom) return;
  if (geom.type === "FeatureCollection") return geom.features.forEach((f) => eachCoord(f.geometry, fn));
  if (geom.type === "Feature") return eachCoord(geom.geometry, fn);
  const walk = (c) => (typeof c[0] === "number" ? fn(c[1], c[0]) : c.forEach(walk));
  if (geom.coordinates) walk(geom.coordinates);
}

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

function ringPath(ring) {
  return ring.map((p, i) => { const [x, y] = project(p[0], p[1]); return (i ? "L" : "M") + x.toFixed(1) + "," + y.toFixed(1); }).join("") + "Z";
}

function el(tag, attrs, parent) {
  const e = document.createElementNS(SVGNS, tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  if (parent) parent.appendChild(e);
  return e;
}

// ---------------------------------------------------------------- map
function fitMap(info) {
  let minX = Infinity, minY = Infinity, maxX = -Infinity, maxY = -Infinity;
  const grow = (lat, lon) => {
    const [x, y] = project(lat, lon);
    minX = Math.min(minX, x); maxX = Math.max(maxX, x); minY = Math.min(minY, y); maxY = Math.max(maxY, y);
  };
  eachCoord(info.district, grow);
  eachCoord(info.fence, grow);
  (info.route || []).forEach((r) => r.forEach((p) => grow(p[0], p[1])));
  if (info.home) grow(info.home[0], info.home[1]);
  view.trail.forEach((p) => grow(p[0], p[1]));
  if (!isFinite(minX)) return null;
  const w = Math.max(maxX - minX, 200), h = Math.max(maxY - minY, 200);
  const pad = 0.08 * Math.max(w, h);
  return [minX - pad, minY - pad, w + 2 * pad, h + 2 * pad];
}

function drawMap(info) {
  view.mapInfo = info;
  const svg = $("map");
  const box = fitMap(info) || view.box;
  if (box) { view.box = box; svg.setAttribute("viewBox", box.map((v) => v.toFixed(1)).join(" ")); }
  updateScale();
  for (const id of ["layer-tiles", "layer-district", "layer-fence", "layer-route", "layer-home"]) $(id).replaceChildren();
  if (info.tile_url && view.box) drawTiles(info.tile_url);
  for (const poly of polygons(info.district)) {
    el("path", { d: poly.map(ringPath).join(" ") }, $("layer-district"));
    poly.slice(1).forEach((hole) => el("path", { d: ringPath(hole), class: "hole" }, $("layer-district")));
  }
  for (const poly of polygons(info.fence)) el("path", { d: poly.map(ringPath).join(" ") }, $("layer-fence"));
  drawRisk(info.risk);
  (info.route || []).forEach((r, i) => {
    const pts = r.map((p) => project(p[0], p[1]).map((v) => v.toFixed(1)).join(",")).join(" ");
    el("polyline", { points: pts, "data-sortie": i + 1 }, $("layer-route"));
  });
  if (info.home) {
    const [x, y] = project(info.home[0], info.home[1]);
    const t = el("text", { x, y, "text-anchor": "middle", "dominant-baseline": "middle", "font-size": 16 * view.scale }, $("layer-home"));
    t.textContent = "H";
  }
  drawTrail();
  redrawAlertMarkers();
}

// five-colour risk map (五色装户图): households/blocks coloured by class, combat symbols as letters
const RISK_FILL = { red: "#d62728", orange: "#ff7f0e", yellow: "#e5c100", green: "#2ca02c", white: "#bbbbbb" };
const COMBAT_MARK = { gate: "G", checkpoint: "C", exit: "E" };  // Latin: CJK fonts may be absent
function drawRisk(layer) {
  const g = $("layer-risk");
  if (!g) return;
  g.replaceChildren();
  for (const f of (layer && layer.features) || []) {
    const p = f.properties || {}, geom = f.geometry || {};
    const pts = geom.type === "Point" ? [geom.coordinates] : geom.type === "MultiPoint" ? geom.coordinates : [];
    const attrs = { "data-id": f.id ?? p.id, "data-risk": p.risk || "", "data-layer": p.layer };
    if (p.layer === "combat") {
      pts.forEach(([lon, lat]) => {
        const [x, y] = project(lat, lon);
        const t = el("text", { ...attrs, x, y, class: "combat", fill: "#ffffff", stroke: "#000000", "stroke-width": 0.5 * view.scale, "font-weight": "bold", "text-anchor": "middle", "dominant-baseline": "middle", "font-size": 14 * view.scale }, g);
        el("title", {}, t).textContent = `${p.kind}${p.name ? ": " + p.name : ""}`;
        t.insertBefore(document.createTextNode(COMBAT_MARK[p.kind] || "?"), t.firstChild);
      });
      continue;
    }
    const style = { fill: RISK_FILL[p.risk] || "#888", "fill-opacity": 0.45, stroke: RISK_FILL[p.risk] || "#888" };
    for (const poly of polygons(geom)) el("path", { ...attrs, ...style, d: poly.map(ringPath).join(" ") }, g);
    pts.forEach(([lon, lat]) => {
      const [x, y] = project(lat, lon);
      el("circle", { ...attrs, ...style, cx: x, cy: y, r: 5 * view.scale }, g);
    });
  }
}

function drawTiles(url) {
  const [bx0, by0, bw] = view.box;
  const bx = bx0 + view.origin[0], by = by0 + view.origin[1];
  const px = Math.max(256, $("map").clientWidth || 800);
  const z = Math.max(0, Math.min(19, Math.round(Z - Math.log2(bw / px))));
  const size = TILE * Math.pow(2, Z - z);
  const n = Math.pow(2, z);
  const bh = view.box[3];
  for (let tx = Math.floor(bx / size); tx <= Math.floor((bx + bw) / size); tx++) {
    for (let ty = Math.floor(by / size); ty <= Math.floor((by + bh) / size); ty++) {
      if (tx < 0 || ty < 0 || tx >= n || ty >= n) continue;
      const href = url.replace("{z}", z).replace("{x}", tx).replace("{y}", ty);
      el("image", { href, x: tx * size - view.origin[0], y: ty * size - view.origin[1], width: size, height: size, opacity: 0.75 }, $("layer-tiles"));
    }
  }
}

function updateScale() {
  const svg = $("map");
  if (!view.box || !svg.clientWidth) return;
  view.scale = Math.max(view.box[2] / svg.clientWidth, view.box[3] / svg.clientHeight);
}

function drawTrail() {
  const d = view.trail.map((p, i) => { const [x, y] = project(p[0], p[1]); return (i ? "L" : "M") + x.toFixed(1) + "," + y.toFixed(1); }).join("");
  $("trail").setAttribute("d", d);
}

function moveVehicle(s) {
  if (s.lat_deg == null || s.lon_deg == null) return;
  const v = $("vehicle");
  const [x, y] = project(s.lat_deg, s.lon_deg);
  v.style.display = "";
  v.setAttribute("transform", `translate(${x.toFixed(2)},${y.toFixed(2)}) rotate(${(s.yaw_deg || 0).toFixed(1)}) scale(${view.scale.toFixed(4)})`);
  v.dataset.lat = s.lat_deg.toFixed(7);
  v.dataset.lon = s.lon_deg.toFixed(7);
  v.dataset.yaw = (s.yaw_deg || 0).toFixed(1);
  v.dataset.x = x.toFixed(2);
  v.dataset.y = y.toFixed(2);
}

// ---------------------------------------------------------------- status bar
function fmtTime(t) {
  if (t == null) return "–";
  const d = new Date(t * 1000);
  return d.toLocaleTimeString([], { hour12: false });
}

function setText(id, text, cls) {
  const e = $(id);
  e.textContent = text;
  e.className = cls || "";
}

function showState(s) {
  if (s.mode != null) setText("st-mode", s.mode);
  if (s.phase != null) setText("st-phase", s.phase);
  if (s.armed != null) setText("st-armed", s.armed ? "ARMED" : "disarmed", s.armed ? "warn" : "");
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
  if (s.trail_point) {
    const last = view.trail[view.trail.length - 1];
    if (!last || last[0] !== s.trail_point[0] || last[1] !== s.trail_point[1]) {
      view.trail.push(s.trail_point);
      if (view.trail.length > 4000) view.trail.shift();
      drawTrail();
    }
  }
}

// ---------------------------------------------------------------- alerts and log
function alertText(a) {
  if (a.kind === "gathering") return `${a.count} people gathered` + (a.radius_m != null ? ` (within ${a.radius_m.toFixed(1)} m)` : "");
  if (a.kind === "unmasked") return `person${a.colour ? " in " + a.colour : ""} without a mask`;
  if (a.kind === "mask_incorrect") return `person${a.colour ? " in " + a.colour : ""} with the mask below the nose`;
  return a.message || a.kind;
}

function addAlert(a, fresh) {
  view.alerts.set(a.id, a);
  const li = document.createElement("li");
  const safety = SAFETY.has(a.kind);
  li.className = `alert ${a.kind}${safety ? " safety" : ""}${fresh ? " new" : ""}`;
  li.dataset.id = a.id;
  li.dataset.kind = a.kind;
  if (a.risk) li.dataset.risk = a.risk;
  const kind = document.createElement("span"); kind.className = "kind"; kind.textContent = a.kind.replace("_", " ");
  const when = document.createElement("span"); when.className = "when"; when.textContent = fmtTime(a.t_s);
  const msg = document.createElement("span"); msg.className = "msg"; msg.textContent = alertText(a);
  const where = document.createElement("span"); where.className = "where";
  where.textContent = a.lat_deg != null ? `${a.lat_deg.toFixed(6)}, ${a.lon_deg.toFixed(6)}` + (a.confidence != null && !safety ? ` · conf ${a.confidence.toFixed(2)}` : "") : (safety ? a.message || "" : "");
  li.append(kind, when, msg, where);
  if (a.risk) {
    const risk = document.createElement("span"); risk.className = "risk"; risk.textContent = `risk ${a.risk}`;
    risk.style.background = RISK_FILL[a.risk] || "#888";
    li.append(risk);
  }
  if (a.has_snapshot) {
    const img = document.createElement("img");
    img.loading = "lazy";
    img.alt = "snapshot";
    img.src = `/api/alerts/${encodeURIComponent(a.id)}/snapshot`;
    li.append(img);
  }
  li.addEventListener("click", () => select(a.id));
  $("alerts").prepend(li);
  $("alert-count").textContent = String(view.alerts.size);
  addAlertMarker(a);
}

function addAlertMarker(a) {
  if (a.lat_deg == null || a.lon_deg == null) return;
  const [x, y] = project(a.lat_deg, a.lon_deg);
  const c = el("circle", { cx: x, cy: y, r: 7 * view.scale, class: `${SAFETY.has(a.kind) ? "safety" : a.kind}`, "data-id": a.id }, $("layer-alerts"));
  const title = el("title", {}, c);
  title.textContent = `${fmtTime(a.t_s)} ${alertText(a)}`;
  c.addEventListener("click", () => select(a.id));
}

function redrawAlertMarkers() {
  $("layer-alerts").replaceChildren();
  for (const a of view.alerts.values()) addAlertMarker(a);
}

function select(id) {
  view.selected = id;
  document.querySelectorAll("#alerts li").forEach((li) => li.classList.toggle("selected", li.dataset.id === id));
  document.querySelectorAll("#layer-alerts circle").forEach((c) => c.classList.toggle("selected", c.dataset.id === id));
  const li = document.querySelector(`#alerts li[data-id="${CSS.escape(id)}"]`);
  if (li) li.scrollIntoView({ block: "nearest" });
}

function addLog(entry) {
  const li = document.createElement("li");
  li.className = entry.level || "info";
  const t = document.createElement("span"); t.className = "t"; t.textContent = fmtTime(entry.t_s);
  li.append(t, document.createTextNode(entry.text));
  $("log").prepend(li);
  while ($("log").children.length > 300) $("log").lastChild.remove();
}

// ---------------------------------------------------------------- replay controls
let seeking = false;
function showReplay(r) {
  if (!r || r.error) return;
  document.body.classList.add("replay");
  $("replay-bar").hidden = false;
  $("rp-play").textContent = r.paused ? "play" : "pause";
  $("rp-play").dataset.paused = r.paused ? "1" : "0";
  const seek = $("rp-seek");
  seek.min = r.start_s; seek.max = r.end_s;
  if (!seeking) seek.value = r.t_s;
  $("rp-speed").value = String(r.speed);
  $("rp-time").textContent = `${fmtTime(r.t_s)} (${Math.round(r.t_s - r.start_s)} / ${Math.round(r.end_s - r.start_s)} s)`;
}

function post(path) { return fetch(path, { method: "POST" }).then((r) => r.ok ? r.json() : null).then(showReplay).catch(() => {}); }

function setupReplay() {
  $("rp-play").addEventListener("click", () => post($("rp-play").dataset.paused === "1" ? "/api/replay/play" : "/api/replay/pause"));
  $("rp-speed").addEventListener("change", (e) => post(`/api/replay/speed?x=${e.target.value}`));
  const seek = $("rp-seek");
  seek.addEventListener("input", () => { seeking = true; });
  seek.addEventListener("change", () => { seeking = false; post(`/api/replay/seek?t=${seek.value}`); });
}

// ---------------------------------------------------------------- data flow
async function loadSnapshot() {
  const snap = await (await fetch("/api/snapshot")).json();
  document.title = `${snap.title} overlay`;
  $("title").textContent = snap.title + (snap.mode === "replay" ? " · replay" : "");
  view.trail = snap.trail || [];
  view.alerts.clear();
  $("alerts").replaceChildren();
  $("log").replaceChildren();
  for (const a of snap.alerts) addAlert(a, false);
  for (const e of snap.log) addLog(e);
  const info = await (await fetch("/api/map")).json();
  drawMap(info);
  showState(snap.state || {});
  if (snap.replay) showReplay(snap.replay);
  messageSeq = snap.message_seq;
}

function connectEvents() {
  if (source) source.close();
  source = new EventSource(`/api/events?since=${messageSeq}`);
  source.onopen = () => setText("conn", "connected", "ok");
  source.onerror = () => setText("conn", "reconnecting…", "warn");
  const on = (kind, fn) => source.addEventListener(kind, (ev) => {
    if (ev.lastEventId) messageSeq = Number(ev.lastEventId);
    fn(JSON.parse(ev.data));
  });
  on("state", showState);
  on("alert", (a) => { if (!view.alerts.has(a.id)) addAlert(a, true); });
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
        const t = Number(r.headers.get("X-Frame-Time"));
        const blob = await r.blob();
        const next = URL.createObjectURL(blob);
        img.src = next;
        if (url) URL.revokeObjectURL(url);
        url = next;
        shown += 1;
        img.dataset.frameSeq = String(seq);
        img.dataset.frameTime = String(t);
        img.dataset.framesShown = String(shown);
        const dt = (performance.now() - t0) / 1000;
        $("video-info").textContent = `frame ${r.headers.get("X-Frame-Index")} · ${fmtTime(t)} · ${(shown / Math.max(dt, 1e-3)).toFixed(1)} fps shown`;
        if (dt > 10) { t0 = performance.now(); shown = 0; }
      } else if (r.status !== 204) {
        await new Promise((res) => setTimeout(res, 1000));
      }
    } catch (e) {
      $("video-info").textContent = "video: reconnecting…";
      await new Promise((res) => setTimeout(res, 1000));
    }
  }
}

window.addEventListener("resize", () => { updateScale(); if (view.mapInfo) drawMap(view.mapInfo); });

(async function main() {
  setupReplay();
  for (;;) {
    try { await loadSnapshot(); break; } catch (e) { setText("conn", "waiting for the ground station…", "warn"); await new Promise((r) => setTimeout(r, 1000)); }
  }
  connectEvents();
  videoLoop();
})();
