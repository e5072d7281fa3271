/* The tiled compliance map: parcels and zone layers as Mapbox Vector Tiles drawn by Leaflet.VectorGrid.
   Colours, labels and rule titles come from the page's config (rules/vocabulary.py via the server).
   window.mujunTiles exposes the map and counts for the tests and benchmarks/maps.py. */
(function () {
  "use strict";
  // VectorGrid 1.3 calls L.DomEvent.fakeStop on a click on a canvas feature; Leaflet 1.8 removed it (it marked
  // the DOM event as handled so the map does not also take the click).
  if (!L.DomEvent.fakeStop) { L.DomEvent.fakeStop = function (ev) { ev._stopped = true; return this; }; }
  var cfg = JSON.parse(document.getElementById("tiled-map-config").textContent);
  var state = {column: "status", styled: 0, tilesLoaded: 0, firstLoadMs: null, map: null, parcels: null};
  window.mujunTiles = state;

  function url(collection) { return cfg.tiles.replace("{collection}", collection); }
  function esc(text) {
    return String(text == null ? "" : text).replace(/[&<>"']/g, function (c) {
      return {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c];
    });
  }

  function parcelStyle(props) {
    state.styled += 1;
    var s = props[state.column];
    return {fill: true, fillColor: cfg.colors[s] || "#ffffff", fillOpacity: s ? 0.8 : 0.2,
            color: "#555555", weight: 0.4, opacity: 0.6};
  }

  var map = L.map("tiled-map", {preferCanvas: true, attributionControl: false, maxZoom: 20});
  state.map = map;
  L.control.scale({imperial: false}).addTo(map);
  var e = cfg.extent;
  if (e) { map.fitBounds([[e[1], e[0]], [e[3], e[2]]]); } else { map.setView([30.657, 104.066], 11); }
  if (map.getZoom() < cfg.minZoom) {  // too far out to draw parcels: open on the first parcel, a district around it
    map.setView(cfg.start ? [cfg.start[1], cfg.start[0]] : map.getCenter(), cfg.minZoom + 1);
  }
  var hint = document.getElementById("tiled-zoom-hint");
  function showHint() { hint.style.display = map.getZoom() < cfg.minZoom ? "" : "none"; }
  map.on("zoomend", showHint);
  showHint();

  var overlays = {};
  var zoneColors = ["#c00000", "#1f5fbf", "#238b45", "#6a3d9a", "#b15928", "#555555", "#e7298a"];
  cfg.zones.forEach(function (z, i) {
    var styles = {};
    styles[z.id] = {fill: false, color: zoneColors[i % zoneColors.length], weight: 1.5, opacity: 0.9};
    overlays[z.title] = L.vectorGrid.protobuf(url(z.id), {
      rendererFactory: L.canvas.tile, vectorTileLayerStyles: styles, interactive: false, maxNativeZoom: 18,
      maxZoom: 20, pane: "overlayPane"
    });
  });

  var styles = {parcels: parcelStyle};
  var parcels = L.vectorGrid.protobuf(url("parcels"), {
    rendererFactory: L.canvas.tile, vectorTileLayerStyles: styles, interactive: true, maxNativeZoom: 18,
    minZoom: cfg.minZoom,
    maxZoom: 20, getFeatureId: function (f) { return f.properties.parcel_id; }
  });
  state.parcels = parcels;
  parcels.on("tileload", function () { state.tilesLoaded += 1; });
  parcels.on("load", function () {
    if (state.firstLoadMs === null) { state.firstLoadMs = performance.now(); }
    state.lastLoadMs = performance.now();
  });
  parcels.addTo(map);
  overlays["宗地"] = parcels;
  L.control.layers(null, overlays, {collapsed: true}).addTo(map);

  function ruleTitle(column) {
    var found = cfg.rules.filter(function (r) { return r.column === column; })[0];
    return found ? found.title : "";
  }

  parcels.on("click", function (ev) {
    var p = ev.layer.properties || {};
    var pid = p.parcel_id;
    if (!pid) { return; }
    var popup = L.popup({maxWidth: 420}).setLatLng(ev.latlng)
      .setContent('<div class="mj-popup">宗地 ' + esc(pid) + " · 正在读取结论…</div>").openOn(map);
    fetch(cfg.verdicts.replace("{parcel_id}", encodeURIComponent(pid)), {credentials: "same-origin"})
      .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); })
      .then(function (v) {
        var rows = v.rules.map(function (x) {
          return "<tr><td>" + esc(x.title) + '</td><td style="color:' + esc(cfg.colors[x.status] || "#000") + '">' +
            esc(cfg.labels[x.status] || x.status) + "</td><td>" + esc(x.message) + "</td></tr>";
        }).join("");
        var link = cfg.parcel.replace("{parcel_id}", encodeURIComponent(pid));
        popup.setContent('<div class="mj-popup"><b>宗地 ' + esc(pid) + "</b>：" + esc(cfg.labels[p.status] || "未评估") +
          (state.column !== "status" ? "（" + esc(ruleTitle(state.column)) + "：" + esc(cfg.labels[p[state.column]] || "—") + "）" : "") +
          "<table>" + rows + '</table><a href="' + esc(link) + '" target="_top">宗地详情</a></div>');
      })
      .catch(function () {
        popup.setContent('<div class="mj-popup">宗地 ' + esc(pid) + " 的结论读取失败，请刷新后重试</div>");
      });
  });

  document.getElementById("tiled-rule").addEventListener("change", function (ev) {
    state.column = ev.target.value;
    state.styled = 0;
    parcels.redraw();  // tiles come again from the browser's cache (their ETag and max-age)
  });
})();
