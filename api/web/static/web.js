/* mujun web pages: run progress polling, the parcel mini-map and a click-to-add-vertex polygon tool. */
"use strict";

function mujunPollRun(statusUrl, pageUrl) {
  function tick() {
    fetch(statusUrl, {credentials: "same-origin"}).then(function (r) { return r.json(); }).then(function (s) {
      var bar = document.getElementById("run-progress");
      var pct = Math.round((s.progress || 0) * 100);
      if (bar) { bar.style.width = pct + "%"; bar.textContent = pct + "%"; }
      var stage = document.getElementById("run-stage");
      if (stage) { stage.textContent = {queued: "排队中", running: "评估中"}[s.status] || s.status; }
      if (s.status === "done" || s.status === "failed") { window.location.href = pageUrl; }
      else { setTimeout(tick, 700); }
    }).catch(function () { setTimeout(tick, 2000); });
  }
  tick();
}

function mujunMiniMap(id, geojson, colors) {
  var map = L.map(id, {attributionControl: false});
  var layer = L.geoJSON(geojson, {style: function (f) {
    return {color: "#333", weight: 2, fillColor: colors[f.properties.status] || "#777", fillOpacity: 0.6};
  }}).addTo(map);
  map.fitBounds(layer.getBounds(), {maxZoom: 17, padding: [20, 20]});
  L.control.scale({imperial: false}).addTo(map);
  return map;
}

/* Draw a polygon: click to add a vertex, double-click or "完成" closes it; the textarea gets the GeoJSON. */
function mujunDrawTool(id, textareaId) {
  var map = L.map(id, {doubleClickZoom: false, attributionControl: false}).setView([30.657, 104.066], 12);
  L.control.scale({imperial: false}).addTo(map);
  var pts = [], line = null, poly = null, marks = L.layerGroup().addTo(map);
  var area = document.getElementById(textareaId), info = document.getElementById("draw-info");
  fetch(window.location.pathname.replace(/check$/, "check/context.geojson"), {credentials: "same-origin"})
    .then(function (r) { return r.ok ? r.json() : null; }).then(function (ctx) {
      if (!ctx || !ctx.features || !ctx.features.length) { return; }
      var lyr = L.geoJSON(ctx, {interactive: false, style: function (f) {
        var c = {red_line: "#c00000", blue_line: "#1f5fbf", parks: "#238b45", ring: "#555"}[f.properties.layer] || "#888";
        return {color: c, weight: 1, fillOpacity: 0.08};
      }}).addTo(map);
      if (!pts.length && !poly) { map.fitBounds(lyr.getBounds()); }
    }).catch(function () {});
  function ring() { return pts.map(function (p) { return [+p.lng.toFixed(7), +p.lat.toFixed(7)]; }); }
  function redraw() {
    marks.clearLayers();
    if (line) { map.removeLayer(line); line = null; }
    pts.forEach(function (p) { L.circleMarker(p, {radius: 4, color: "#1f3b57"}).addTo(marks); });
    if (pts.length > 1) { line = L.polyline(pts, {color: "#1f3b57", dashArray: "4 4"}).addTo(map); }
    if (info) { info.textContent = pts.length ? "已画 " + pts.length + " 个点" : ""; }
  }
  function finish() {
    if (pts.length < 3) { if (info) { info.textContent = "至少需要 3 个点"; } return; }
    var r = ring(); r.push(r[0]);
    if (poly) { map.removeLayer(poly); }
    poly = L.polygon(pts, {color: "#d7301f", weight: 2, fillOpacity: 0.3}).addTo(map);
    area.value = JSON.stringify({type: "Polygon", coordinates: [r]});
    if (info) { info.textContent = "已闭合：" + pts.length + " 个顶点"; }
    pts = []; redraw();
  }
  map.on("click", function (e) { if (poly && !pts.length) { map.removeLayer(poly); poly = null; } pts.push(e.latlng); redraw(); });
  map.on("dblclick", function (e) { finish(); });
  document.getElementById("draw-finish").addEventListener("click", finish);
  document.getElementById("draw-undo").addEventListener("click", function () { pts.pop(); redraw(); });
  document.getElementById("draw-clear").addEventListener("click", function () {
    pts = []; if (poly) { map.removeLayer(poly); poly = null; } area.value = ""; redraw();
  });
  try {  // show a pasted or previously submitted polygon
    var g = JSON.parse(area.value || "null");
    if (g) { poly = L.geoJSON(g, {style: {color: "#d7301f", weight: 2, fillOpacity: 0.3}}).addTo(map); map.fitBounds(poly.getBounds(), {maxZoom: 17}); }
  } catch (err) { /* not JSON yet */ }
  window.mujunDrawMap = map;
  return map;
}
