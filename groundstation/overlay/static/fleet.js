// A fleet (docs/fleet.md): every vehicle's marker and flown trail in its colour, each vehicle's
// planned route in that colour, and a switch choosing whose video (and status) the page shows.
// app.js calls fleetMap(info), fleetLoad(snapshot) and fleetState(vehicles); one vehicle: no-op.
"use strict";

// none of them red, orange, yellow or green: those are the no-fly zones, the risk map and the district
const FLEET_COLOURS = ["#1f77b4", "#9467bd", "#17becf", "#e377c2", "#8c564b", "#393b79", "#7f7f7f", "#637939"];
const fleetView = { ids: [], markers: new Map(), trails: new Map(), lines: new Map(), video: null };

function fleetColour(id) {
  const k = fleetView.ids.indexOf(id);
  return FLEET_COLOURS[(k < 0 ? 0 : k) % FLEET_COLOURS.length];
}

function fleetMap(info) {
  const owners = info.route_owners || [];
  if (!owners.length) return;
  let i = 0;
  view.layers.route.eachLayer((layer) => {
    if (!(layer instanceof L.Polyline)) return;
    const owner = owners[i++];
    const e = layer.getElement();
    if (e && owner != null) {
      e.style.stroke = FLEET_COLOURS[owner % FLEET_COLOURS.length];
      e.setAttribute("data-vehicle-index", String(owner));
    }
  });
}

function fleetSwitch() {
  const sel = document.getElementById("video-vehicle");
  if (!sel) return;
  sel.hidden = fleetView.ids.length < 2;
  const have = Array.from(sel.options).map((o) => Number(o.value));
  if (have.join() !== fleetView.ids.join()) {
    sel.replaceChildren(...fleetView.ids.map((id) => {
      const o = document.createElement("option");
      o.value = String(id);
      o.textContent = `${t("drone")} ${id}`;
      return o;
    }));
  }
  if (fleetView.video != null) sel.value = String(fleetView.video);
}

function fleetVehicle(v) {
  if (!fleetView.ids.includes(v.id)) {
    fleetView.ids.push(v.id);
    fleetView.ids.sort((a, b) => a - b);
    fleetSwitch();
  }
  if (v.lat_deg == null || v.lon_deg == null || !view.map) return;
  const colour = fleetColour(v.id);
  const trail = fleetView.trails.get(v.id) || [];
  const last = trail[trail.length - 1];
  if (!last || last[0] !== v.lat_deg || last[1] !== v.lon_deg) trail.push([v.lat_deg, v.lon_deg]);
  fleetView.trails.set(v.id, trail);
  let line = fleetView.lines.get(v.id);
  if (!line) {
    line = L.polyline([], { pane: "trail", className: "trail fleet-trail", interactive: false }).addTo(view.layers.trail);
    fleetView.lines.set(v.id, line);
  }
  line.setLatLngs(trail);
  line.getElement()?.style.setProperty("stroke", colour);
  let m = fleetView.markers.get(v.id);
  if (!m) {
    const icon = L.divIcon({ className: "fleet-icon", iconSize: [22, 22], html: `<div class="fleet-vehicle" data-vehicle="${v.id}" style="background:${colour}">${v.id}</div>` });
    m = L.marker([v.lat_deg, v.lon_deg], { icon, pane: "me", keyboard: false, title: `${t("drone")} ${v.id}` }).addTo(view.map);
    m.on("click", () => fleetSelect(v.id));
    fleetView.markers.set(v.id, m);
  }
  m.setLatLng([v.lat_deg, v.lon_deg]);
  const e = m.getElement()?.firstChild;
  if (e) Object.assign(e.dataset, { lat: v.lat_deg.toFixed(7), lon: v.lon_deg.toFixed(7), mode: v.mode || "", phase: v.phase || "" });
}

function fleetLoad(snap) {
  const vehicles = snap.vehicles || [];
  if (!vehicles.length) return;
  fleetView.video = snap.video_vehicle;
  for (const v of vehicles) {
    fleetView.trails.set(v.id, (v.trail || []).slice());
    const lastPt = v.trail && v.trail[v.trail.length - 1];
    fleetVehicle({ ...v, ...(lastPt ? { lat_deg: lastPt[0], lon_deg: lastPt[1] } : {}) });
  }
  fleetSwitch();
}

function fleetState(vehicles, selected) {
  if (selected != null) fleetView.video = selected;
  for (const v of vehicles) fleetVehicle(v);
  fleetSwitch();
}

async function fleetSelect(id) {
  const r = await fetch(`/api/video?vehicle=${encodeURIComponent(id)}`, { method: "POST" }).catch(() => null);
  if (r && r.ok) { fleetView.video = (await r.json()).video_vehicle; fleetSwitch(); }
}

document.getElementById("video-vehicle")?.addEventListener("change", (ev) => fleetSelect(Number(ev.target.value)));
