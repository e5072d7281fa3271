/* mujun compliance map: parcels by overall status and by each rule, context zones, legend, search, measure
 * and fullscreen on a Leaflet map from one compact JSON payload (see gis/_map_data.py). No network access,
 * no dependencies beyond Leaflet 1.9. Every word shown comes from the payload (the rule set's legend). */
(function () {
  "use strict";

  function esc(s) {
    return String(s == null ? "" : s).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }

  function fmt(v, digits) {
    if (v == null || !isFinite(v)) return "—";
    var d = digits == null ? 2 : digits;
    return Number(v).toLocaleString("zh-CN", { maximumFractionDigits: d });
  }

  /* Decode the delta-encoded geometry stream into Leaflet latlng arrays, one entry per feature. */
  function decode(g, n, asLines) {
    var c = g.c, s = g.scale, x = 0, y = 0, ci = 0, ri = 0, pi = 0, out = new Array(n);
    for (var f = 0; f < n; f++) {
      var parts = [], np = g.pp[f];
      for (var p = 0; p < np; p++) {
        var rings = [], nr = g.pr[pi++];
        for (var r = 0; r < nr; r++) {
          var len = g.rl[ri++], ring = new Array(len);
          for (var k = 0; k < len; k++) {
            x += c[ci++];
            y += c[ci++];
            ring[k] = new L.LatLng(y / s, x / s);
          }
          rings.push(ring);
        }
        parts.push(asLines ? rings[0] : rings);
      }
      out[f] = parts.length === 1 ? parts[0] : parts;
    }
    return out;
  }

  /* Decode the parcel stream into typed arrays of normalised Web-Mercator coordinates (0..1, as
   * L.CRS.EPSG3857 at zoom 0 divided by 256), with ring/feature offsets and per-feature bounding boxes.
   * Projection happens once: at any zoom a pixel is just mx * 256 * 2^z. */
  function decodeTyped(g, n) {
    var c = g.c, s = g.scale, nRings = g.rl.length, nPts = c.length / 2;
    var mx = new Float64Array(nPts), my = new Float64Array(nPts);
    var ringStart = new Int32Array(nRings + 1), featRing = new Int32Array(n + 1);
    var bb = new Float64Array(n * 4), llbb = new Float64Array(n * 4);
    var x = 0, y = 0, ci = 0, pi = 0, ri = 0, pt = 0, maxLat = 85.0511287798, d = Math.PI / 180;
    for (var f = 0; f < n; f++) {
      featRing[f] = ri;
      var x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
      var lo0 = Infinity, la0 = Infinity, lo1 = -Infinity, la1 = -Infinity;
      for (var p = 0, np = g.pp[f]; p < np; p++) {
        for (var r = 0, nr = g.pr[pi++]; r < nr; r++) {
          ringStart[ri] = pt;
          for (var k = 0, len = g.rl[ri]; k < len; k++) {
            x += c[ci++];
            y += c[ci++];
            var lng = x / s, lat = Math.max(Math.min(y / s, maxLat), -maxLat);
            var sn = Math.sin(lat * d);
            var u = (lng + 180) / 360, v = 0.5 - Math.log((1 + sn) / (1 - sn)) / (4 * Math.PI);
            mx[pt] = u;
            my[pt] = v;
            pt++;
            if (u < x0) x0 = u;
            if (u > x1) x1 = u;
            if (v < y0) y0 = v;
            if (v > y1) y1 = v;
            if (lng < lo0) lo0 = lng;
            if (lng > lo1) lo1 = lng;
            if (lat < la0) la0 = lat;
            if (lat > la1) la1 = lat;
          }
          ri++;
        }
      }
      bb[4 * f] = x0; bb[4 * f + 1] = y0; bb[4 * f + 2] = x1; bb[4 * f + 3] = y1;
      llbb[4 * f] = la0; llbb[4 * f + 1] = lo0; llbb[4 * f + 2] = la1; llbb[4 * f + 3] = lo1;
    }
    ringStart[nRings] = pt;
    featRing[n] = ri;
    return { mx: mx, my: my, ringStart: ringStart, featRing: featRing, bb: bb, llbb: llbb, n: n };
  }

  /* A uniform grid over the features' boxes, for hit testing without looking at every parcel. */
  function buildGrid(G) {
    var n = G.n, bb = G.bb, gx0 = Infinity, gy0 = Infinity, gx1 = -Infinity, gy1 = -Infinity;
    for (var f = 0; f < n; f++) {
      if (!(bb[4 * f] <= bb[4 * f + 2])) continue;
      if (bb[4 * f] < gx0) gx0 = bb[4 * f];
      if (bb[4 * f + 1] < gy0) gy0 = bb[4 * f + 1];
      if (bb[4 * f + 2] > gx1) gx1 = bb[4 * f + 2];
      if (bb[4 * f + 3] > gy1) gy1 = bb[4 * f + 3];
    }
    var N = Math.max(1, Math.min(512, Math.ceil(Math.sqrt(n / 2))));
    var w = (gx1 - gx0) / N || 1e-12, h = (gy1 - gy0) / N || 1e-12;
    function cells(f, fn) {
      if (!(bb[4 * f] <= bb[4 * f + 2])) return;
      var i0 = Math.min(N - 1, Math.floor((bb[4 * f] - gx0) / w)), i1 = Math.min(N - 1, Math.floor((bb[4 * f + 2] - gx0) / w));
      var j0 = Math.min(N - 1, Math.floor((bb[4 * f + 1] - gy0) / h)), j1 = Math.min(N - 1, Math.floor((bb[4 * f + 3] - gy0) / h));
      for (var j = j0; j <= j1; j++) for (var i = i0; i <= i1; i++) fn(j * N + i);
    }
    var count = new Int32Array(N * N + 1), f;
    for (f = 0; f < n; f++) cells(f, function (cell) { count[cell + 1]++; });
    for (var k = 0; k < N * N; k++) count[k + 1] += count[k];
    var fill = count.slice(0, N * N), items = new Int32Array(count[N * N]);
    for (f = 0; f < n; f++) cells(f, function (cell) { items[fill[cell]++] = f; });
    return {
      query: function (u, v, tol, fn) {
        var i0 = Math.floor((u - tol - gx0) / w), i1 = Math.floor((u + tol - gx0) / w);
        var j0 = Math.floor((v - tol - gy0) / h), j1 = Math.floor((v + tol - gy0) / h);
        i0 = Math.max(0, i0); j0 = Math.max(0, j0); i1 = Math.min(N - 1, i1); j1 = Math.min(N - 1, j1);
        for (var j = j0; j <= j1; j++) for (var i = i0; i <= i1; i++) {
          var cell = j * N + i;
          for (var q = count[cell]; q < count[cell + 1]; q++) fn(items[q]);
        }
      }
    };
  }

  function pointInFeature(G, f, u, v) {
    var inside = false, mx = G.mx, my = G.my;
    for (var r = G.featRing[f]; r < G.featRing[f + 1]; r++) {
      var a = G.ringStart[r], b = G.ringStart[r + 1];
      for (var i = a, j = b - 1; i < b; j = i++) {
        if ((my[i] > v) !== (my[j] > v) && u < ((mx[j] - mx[i]) * (v - my[i])) / (my[j] - my[i]) + mx[i]) inside = !inside;
      }
    }
    return inside;
  }

  /* Geodesic polygon area in m² (same formula as Leaflet.draw's GeometryUtil). */
  function geodesicArea(latlngs) {
    var R = 6378137, area = 0, n = latlngs.length, rad = Math.PI / 180;
    if (n < 3) return 0;
    for (var i = 0; i < n; i++) {
      var p1 = latlngs[i], p2 = latlngs[(i + 1) % n];
      area += (p2.lng - p1.lng) * rad * (2 + Math.sin(p1.lat * rad) + Math.sin(p2.lat * rad));
    }
    return Math.abs((area * R * R) / 2);
  }

  /* Codes packed by gis/_map_data.pack: one character of the payload's alphabet each ("/" = -1), or a
   * plain array of integers when a code is too large for one character. */
  function unpacker(alphabet) {
    var lookup = new Int32Array(128).fill(-1);
    for (var i = 0; i < alphabet.length; i++) lookup[alphabet.charCodeAt(i)] = i;
    return function (x, n) {
      var len = n == null ? x.length : n, out = new Int32Array(len);
      if (typeof x === "string") for (var k = 0; k < len; k++) out[k] = lookup[x.charCodeAt(k)];
      else for (k = 0; k < len; k++) out[k] = x[k];
      return out;
    };
  }

  /* One parcel layer (the overall status or one rule): every parcel with a status of that layer on one
   * canvas, filled colour by colour (one path per colour), culled to the view, vertices closer than ~0.7 px
   * merged and sub-pixel parcels drawn as a dot: fast at 100 000 parcels. Each layer draws on its own. */
  var ParcelLayer = L.Layer.extend({
    options: { padding: 0.3, pane: "overlayPane", fillOpacity: 0.78 },
    initialize: function (G, codes, colors, shared, opts) {
      L.setOptions(this, opts);
      this._G = G;
      this._unpackCodes = codes; // a function: the codes are unpacked when first needed
      this._colors = colors;
      this._shared = shared; // {selected: parcel index or -1}
      this.drawnCount = 0;
      this.drawnBy = new Array(colors.length).fill(0);
      this._mjParcel = true;
    },
    codes: function () {
      if (!this._codes) this._codes = this._unpackCodes();
      return this._codes;
    },
    counts: function () {
      if (!this._counts) {
        var c = new Array(this._colors.length).fill(0), k = this.codes();
        for (var i = 0; i < k.length; i++) if (k[i] >= 0) c[k[i]]++;
        this._counts = c;
      }
      return this._counts;
    },
    onAdd: function (map) {
      var c = (this._canvas = L.DomUtil.create("canvas", "mj-parcels leaflet-zoom-animated"));
      c.style.pointerEvents = "none";
      c.setAttribute("data-layer", this.options.key);
      this.getPane().appendChild(c);
      this._reset();
      if (this.options.onAdd) this.options.onAdd(this);
    },
    onRemove: function () {
      L.DomUtil.remove(this._canvas);
      this.drawnCount = 0;
      this.drawnBy = new Array(this._colors.length).fill(0);
      if (this.options.onRemove) this.options.onRemove(this);
    },
    getEvents: function () {
      return { viewreset: this._reset, moveend: this._reset, zoomanim: this._animateZoom, resize: this._reset };
    },
    _animateZoom: function (e) {
      var scale = this._map.getZoomScale(e.zoom);
      var offset = this._map._latLngBoundsToNewLayerBounds(this._bounds, e.zoom, e.center).min;
      L.DomUtil.setTransform(this._canvas, offset, scale);
    },
    _reset: function () {
      var map = this._map, size = map.getSize(), pad = size.multiplyBy(this.options.padding).round();
      var topLeft = map.containerPointToLayerPoint(pad.multiplyBy(-1)).round();
      var full = size.add(pad.multiplyBy(2));
      var c = this._canvas, dpr = window.devicePixelRatio || 1;
      L.DomUtil.setPosition(c, topLeft);
      c.width = Math.round(full.x * dpr);
      c.height = Math.round(full.y * dpr);
      c.style.width = full.x + "px";
      c.style.height = full.y + "px";
      this._bounds = L.latLngBounds(map.layerPointToLatLng(topLeft), map.layerPointToLatLng(topLeft.add(full)));
      this._origin = map.getPixelOrigin().add(topLeft);
      this._size = full;
      this.redraw();
    },
    redraw: function () {
      if (!this._map) return this;
      var G = this._G, n = G.n, mx = G.mx, my = G.my, bb = G.bb, rs = G.ringStart, fr = G.featRing;
      var ctx = this._canvas.getContext("2d"), dpr = window.devicePixelRatio || 1;
      var scale = 256 * Math.pow(2, this._map.getZoom()), ox = this._origin.x, oy = this._origin.y;
      var W = this._size.x, H = this._size.y;
      var vx0 = ox / scale, vy0 = oy / scale, vx1 = (ox + W) / scale, vy1 = (oy + H) / scale;
      var codes = this.codes(), colors = this._colors, nc = colors.length, alpha = this.options.fillOpacity;
      ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
      ctx.clearRect(0, 0, W, H);
      ctx.lineJoin = "round";
      var vis = this._vis && this._vis.length === n ? this._vis : (this._vis = new Uint8Array(n));
      var drawn = 0, small = 0, by = new Int32Array(nc);
      for (var f = 0; f < n; f++) {
        var on = codes[f] >= 0 && bb[4 * f + 2] >= vx0 && bb[4 * f] <= vx1 && bb[4 * f + 3] >= vy0 && bb[4 * f + 1] <= vy1 ? 1 : 0;
        vis[f] = on;
        if (on) {
          drawn++;
          by[codes[f]]++;
          if ((bb[4 * f + 2] - bb[4 * f]) * scale < 3 && (bb[4 * f + 3] - bb[4 * f + 1]) * scale < 3) small++;
        }
      }
      var stroke = drawn > 0 && small < drawn / 2, batch = this.options.batch || 32;
      function flush(code) {
        ctx.globalAlpha = alpha;
        ctx.fillStyle = colors[code];
        ctx.fill("evenodd");
        if (stroke) {
          ctx.globalAlpha = 0.8;
          ctx.lineWidth = 0.5;
          ctx.strokeStyle = "#303030";
          ctx.stroke();
        }
      }
      for (var code = 0; code < nc; code++) {
        if (!by[code]) continue;
        ctx.beginPath();
        var any = 0;
        for (f = 0; f < n; f++) {
          if (!vis[f] || codes[f] !== code) continue;
          // Skia rasterises one path with many thousand contours very slowly: fill in batches
          if (++any % batch === 0) {
            flush(code);
            ctx.beginPath();
          }
          var w = (bb[4 * f + 2] - bb[4 * f]) * scale, h = (bb[4 * f + 3] - bb[4 * f + 1]) * scale;
          if (w < 1.5 && h < 1.5) {
            ctx.rect(bb[4 * f] * scale - ox, bb[4 * f + 1] * scale - oy, 1.5, 1.5);
            continue;
          }
          for (var r = fr[f]; r < fr[f + 1]; r++) {
            var a = rs[r], b = rs[r + 1];
            var px = mx[a] * scale - ox, py = my[a] * scale - oy;
            ctx.moveTo(px, py);
            for (var i = a + 1; i < b; i++) {
              var qx = mx[i] * scale - ox, qy = my[i] * scale - oy;
              if (i < b - 1 && Math.abs(qx - px) < 0.7 && Math.abs(qy - py) < 0.7) continue;
              ctx.lineTo(qx, qy);
              px = qx;
              py = qy;
            }
            ctx.closePath();
          }
        }
        if (any) flush(code);
      }
      ctx.globalAlpha = 1;
      var sel = this._shared.selected;
      if (sel >= 0 && vis[sel]) {
        ctx.beginPath();
        for (r = fr[sel]; r < fr[sel + 1]; r++) {
          a = rs[r]; b = rs[r + 1];
          ctx.moveTo(mx[a] * scale - ox, my[a] * scale - oy);
          for (i = a + 1; i < b; i++) ctx.lineTo(mx[i] * scale - ox, my[i] * scale - oy);
          ctx.closePath();
        }
        ctx.lineWidth = 3;
        ctx.strokeStyle = "#00e5ff";
        ctx.stroke();
      }
      this.drawnCount = drawn;
      this.drawnBy = Array.prototype.slice.call(by);
      this.fire("drawn", { count: drawn });
      return this;
    },
    /* the topmost parcel of this layer under a latlng (within tol pixels for parcels too small to hit) */
    hit: function (latlng, tolPx) {
      var G = this._G, codes = this.codes(), scale = 256 * Math.pow(2, this._map.getZoom());
      var lat = Math.max(Math.min(latlng.lat, 85.0511287798), -85.0511287798), sn = Math.sin((lat * Math.PI) / 180);
      var u = (latlng.lng + 180) / 360, v = 0.5 - Math.log((1 + sn) / (1 - sn)) / (4 * Math.PI);
      var tol = (tolPx || 3) / scale, best = -1, near = -1, bb = G.bb;
      if (!G.grid) G.grid = buildGrid(G);
      G.grid.query(u, v, tol, function (f) {
        if (f <= best || codes[f] < 0) return;
        if (u >= bb[4 * f] && u <= bb[4 * f + 2] && v >= bb[4 * f + 1] && v <= bb[4 * f + 3] && pointInFeature(G, f, u, v)) best = f;
        else if (u >= bb[4 * f] - tol && u <= bb[4 * f + 2] + tol && v >= bb[4 * f + 1] - tol && v <= bb[4 * f + 3] + tol &&
          (bb[4 * f + 2] - bb[4 * f]) * scale < 6) near = f;
      });
      return best >= 0 ? best : near;
    },
    featureBounds: function (f) {
      var b = this._G.llbb;
      return L.latLngBounds([b[4 * f], b[4 * f + 1]], [b[4 * f + 2], b[4 * f + 3]]);
    }
  });

  /* The layer control with group headings; the parcel layers are exclusive (one colouring at a time). */
  var LayersControl = L.Control.Layers.extend({
    _onInputClick: function (e) {
      var target = e && e.target, self = this;
      if (target && target.checked && target.layerId != null) {
        var obj = this._getLayer(target.layerId);
        if (obj && obj.layer._mjParcel) {
          this._layerControlInputs.forEach(function (input) {
            if (input !== target && self._getLayer(input.layerId).layer._mjParcel) input.checked = false;
          });
        }
      }
      L.Control.Layers.prototype._onInputClick.call(this, e);
    },
    _update: function () {
      this._lastGroup = null;
      return L.Control.Layers.prototype._update.call(this);
    },
    _addItem: function (obj) {
      var label = L.Control.Layers.prototype._addItem.call(this, obj);
      var group = obj.layer._mjGroup, heads = this.options.groupTitles || {};
      if (obj.overlay && group !== this._lastGroup) {
        this._lastGroup = group;
        if (heads[group]) {
          var head = L.DomUtil.create("div", "mj-layer-head");
          head.textContent = heads[group];
          this._overlaysList.insertBefore(head, label);
        }
      }
      label.setAttribute("data-group", group || "");
      return label;
    }
  });

  /* Leaflet's scale bar in 米 / 公里 */
  var ScaleControl = L.Control.Scale.extend({
    _updateMetric: function (maxMeters) {
      var meters = this._getRoundNum(maxMeters);
      this._updateScale(this._mScale, meters < 1000 ? meters + " 米" : meters / 1000 + " 公里", meters / maxMeters);
    }
  });

  function swatch(color, kind, style) {
    if (kind === "hatch") {
      return '<svg class="mj-sw-svg" width="24" height="12" aria-hidden="true"><line x1="0" y1="6" x2="24" y2="6" stroke="' +
        style.hatch + '" stroke-width="' + Math.min(style.hatchWeight, 9) + '" stroke-dasharray="' + style.hatchDash +
        '" stroke-opacity="0.85"/><line x1="0" y1="6" x2="24" y2="6" stroke="' + style.color + '" stroke-width="' +
        style.weight + '" stroke-dasharray="' + (style.dash || "") + '"/></svg>';
    }
    if (kind === "line" || kind === "dash") {
      return '<svg class="mj-sw-svg" width="24" height="12" aria-hidden="true"><line x1="0" y1="6" x2="24" y2="6" stroke="' +
        color + '" stroke-width="' + Math.max(2, (style && style.weight) || 2) + '" stroke-dasharray="' +
        ((style && style.dash) || "") + '"/></svg>';
    }
    return '<i class="mj-sw" style="background:' + color + '"></i>';
  }

  function build(map, data) {
    var t0 = performance.now();
    var S = data.statuses, colors = data.colors, labels = data.labels;
    var P = data.parcels, n = P.ids.length, V = data.verdicts, unpack = unpacker(data.alphabet);
    /* the verdict table and the parcels' own data, unpacked on the first popup (not before the first paint) */
    var Voff, Vr, Vs, Vx, Vt, Vk, Vm, Vc, infoFields, shownStatus = {};
    (V.visible || []).forEach(function (c) { shownStatus[c] = 1; });
    function unpackVerdicts() {
      if (Voff) return;
      var Vn = unpack(V.n, n);
      Voff = new Int32Array(n + 1);
      for (var q = 0; q < n; q++) Voff[q + 1] = Voff[q] + Vn[q];
      Vr = unpack(V.r); Vs = unpack(V.s); Vx = unpack(V.x); Vt = unpack(V.t); Vk = unpack(V.k);
      Vm = unpack(V.m); Vc = unpack(V.c);
      infoFields = (P.info || []).map(function (f) { return { label: f.label, strs: f.strs, codes: unpack(f.codes, n) }; });
    }
    function infoLine(i) {
      var parts = [];
      for (var k = 0; k < infoFields.length; k++) {
        var f = infoFields[k], c = f.codes[i];
        if (c >= 0 && f.strs[c]) parts.push(f.label + "：" + f.strs[c]);
      }
      return parts.join(" · ");
    }
    var state = { layer: null, measuring: false, selected: -1 };
    var groupTitles = { rule: "按规则着色", note: data.noteLabel || "数据提示", zone: "参考图层", choro: "园区、区县汇总" };
    map.createPane("mujunZones").style.zIndex = 450;
    map.getPane("mujunZones").style.pointerEvents = "none";
    map.createPane("mujunChoro").style.zIndex = 420;
    var zoneRenderer = L.svg({ pane: "mujunZones" });
    var container = map.getContainer();

    /* parcel layers: the overall status and one per rule, sharing the decoded geometry */
    var G = decodeTyped(P.geom, n);
    var colorList = S.map(function (s) { return colors[s]; });
    var parcelLayers = {}, layerInfo = {};
    function activeLayer() { return state.layer ? parcelLayers[state.layer] : null; }
    (data.layers || []).forEach(function (info) {
      var layer = new ParcelLayer(G, function () { return unpack(P.st[info.key], n); }, colorList, state, {
        key: info.key,
        fillOpacity: data.fillOpacity || 0.78,
        onAdd: function (self) {
          // one colouring at a time: a layer added by code (search, API) takes the place of the others
          Object.keys(parcelLayers).forEach(function (k) {
            if (parcelLayers[k] !== self && map.hasLayer(parcelLayers[k])) map.removeLayer(parcelLayers[k]);
          });
          state.layer = info.key;
          updateLegend();
        },
        onRemove: function () {
          if (state.layer === info.key) state.layer = null;
          hideTip();
          updateLegend();
        }
      });
      layer._mjGroup = info.group === "overall" ? "overall" : info.group;
      parcelLayers[info.key] = layer;
      layerInfo[info.key] = info;
    });
    var overall = parcelLayers.overall;
    function ensureActive() { if (!activeLayer()) overall.addTo(map); }
    function featureBounds(i) { return overall.featureBounds(i); }
    var index = {};
    for (var j = 0; j < n; j++) index[P.ids[j]] = j;

    /* dark text on light colours (合规, 不适用), white on dark ones (WCAG relative luminance) */
    function textOn(hex) {
      var c = [1, 3, 5].map(function (i) {
        var v = parseInt(hex.substr(i, 2), 16) / 255;
        return v <= 0.04045 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
      });
      return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2] > 0.18 ? "#1a1a1a" : "#ffffff";
    }
    function badge(code) {
      if (code < 0) return "";
      var bg = colors[S[code]];
      return '<span class="mj-badge" style="background:' + bg + ";color:" + textOn(bg) + '">' + esc(labels[S[code]]) + "</span>";
    }
    function layerTitle(key) {
      var info = layerInfo[key];
      if (!info) return "";
      return info.group === "note" ? (data.noteLabel || "数据提示") + "：" + info.title : info.title;
    }

    /* hover: a tooltip that stays inside the map (flips to the other side of the cursor near an edge) */
    var tipEl = L.DomUtil.create("div", "leaflet-tooltip mj-tip", container);
    tipEl.style.display = "none";
    function showTip(html, cp) {
      tipEl.innerHTML = html;
      tipEl.style.display = "block";
      var size = map.getSize(), w = tipEl.offsetWidth, h = tipEl.offsetHeight, gap = 14, m = 4;
      var x = cp.x + gap, y = cp.y - h - gap;
      if (x + w > size.x - m) x = cp.x - gap - w;
      if (y < m) y = cp.y + gap;
      x = Math.max(m, Math.min(x, size.x - w - m));
      y = Math.max(m, Math.min(y, size.y - h - m));
      tipEl.style.left = Math.round(x) + "px";
      tipEl.style.top = Math.round(y) + "px";
    }
    function hideTip() { tipEl.style.display = "none"; }

    function tooltipHtml(i) {
      var code = activeLayer().codes()[i];
      return "<b>" + esc(P.ids[i]) + "</b> · " + fmt(P.mu[i], 2) + " 亩<br>" + esc(layerTitle(state.layer)) + "：" +
        (code >= 0 ? '<span style="color:' + colors[S[code]] + '">●</span> ' + esc(labels[S[code]]) : "无判定");
    }

    function verdictHtml(k) {
      var s = Vs[k], value = V.X[Vx[k]], thr = V.T[Vt[k]], code = V.K[Vk[k]];
      var msg = V.M[Vm[k]], cite = V.C[Vc[k]], r = Vr[k];
      var h = '<div class="mj-v" data-rule="' + esc(V.rules[r]) + '" data-status="' + (s >= 0 ? S[s] : "") + '">' +
        '<div class="mj-v-head">' + badge(s) + ' <b class="mj-v-title">' + esc(V.titles[r]) + "</b>" +
        ' <span class="mj-id">' + esc(V.rules[r]) + "</span>" +
        (code ? ' <span class="mj-code">' + esc(code) + "</span>" : "") + "</div>";
      if (value || thr) {
        h += '<div class="mj-v-nums">' + (value ? "数值：" + esc(value) : "") + (value && thr ? "　" : "") +
          (thr ? "标准：" + esc(thr) : "") + "</div>";
      }
      if (msg) h += '<div class="mj-v-msg">' + esc(msg) + "</div>";
      if (cite) h += '<div class="mj-cite">依据：' + esc(cite) + "</div>";
      return h + "</div>";
    }

    /* popup: what is wrong first (the verdicts arrive sorted by group), data notes, the rest collapsed */
    function popupHtml(i) {
      unpackVerdicts();
      var a = Voff[i], b = Voff[i + 1], st = overall.codes()[i];
      var h = '<div class="mj-popup"><div class="mj-pop-head"><b>宗地 ' + esc(P.ids[i]) + "</b>　" +
        fmt(P.mu[i], 2) + " 亩　总体：" + (st >= 0 ? badge(st) : "—") + "</div>";
      var line = infoLine(i);
      if (line) h += '<div class="mj-info">' + esc(line) + "</div>";
      if (b <= a) return h + '<div class="mj-none">没有规则判定记录</div></div>';
      var main = "", notes = "", rest = "", nRest = 0, restBy = {};
      for (var k = a; k < b; k++) {
        if (shownStatus[Vs[k]] && !V.notes[Vr[k]]) main += verdictHtml(k);
        else if (shownStatus[Vs[k]]) notes += verdictHtml(k);
        else {
          rest += verdictHtml(k);
          nRest++;
          var lab = Vs[k] >= 0 ? labels[S[Vs[k]]] : "其他";
          restBy[lab] = (restBy[lab] || 0) + 1;
        }
      }
      h += '<div class="mj-verdicts">';
      if (!main && !notes) h += '<div class="mj-none">没有不合规、预警或数据缺失的规则</div>';
      h += main;
      if (notes) h += '<div class="mj-group-head">' + esc(data.noteLabel || "数据提示") + "</div>" + notes;
      if (nRest) {
        var parts = Object.keys(restBy).map(function (l) { return esc(l) + " " + restBy[l]; });
        h += '<details class="mj-rest"><summary>其余 ' + nRest + " 条（" + parts.join("、") + "）</summary>" + rest + "</details>";
      }
      return h + "</div></div>";
    }
    var popup = L.popup({ maxWidth: 520, minWidth: 300, maxHeight: 380, autoPanPadding: [20, 20], autoPanPaddingTopLeft: [190, 20] });
    function redrawActive() { var l = activeLayer(); if (l) l.redraw(); }
    function openParcel(i, latlng) {
      state.selected = i;
      redrawActive();
      popup.setLatLng(latlng || featureBounds(i).getCenter()).setContent(popupHtml(i)).openOn(map);
    }
    map.on("popupclose", function (e) {
      if (e.popup === popup) { state.selected = -1; redrawActive(); }
    });
    var hoverPending = null, choroHover = null;
    function onClick(e) {
      var layer = activeLayer();
      if (state.measuring || !layer) return;
      var i = layer.hit(e.latlng, 3);
      if (i >= 0) openParcel(i, e.latlng);
    }
    function onMove(e) {
      if (hoverPending) { hoverPending = e; return; }
      hoverPending = e;
      requestAnimationFrame(function () {
        var ev = hoverPending, layer = activeLayer();
        hoverPending = null;
        if (choroHover && choroHover.event === ev.originalEvent) {
          showTip(choroHover.html, ev.containerPoint);
          return;
        }
        var i = layer ? layer.hit(ev.latlng, 3) : -1;
        if (i >= 0) {
          showTip(tooltipHtml(i), ev.containerPoint);
          if (!state.measuring) container.style.cursor = "pointer";
        } else {
          hideTip();
          if (!state.measuring) container.style.cursor = "";
        }
      });
    }
    map.on("click", onClick);
    map.on("mousemove", onMove);
    map.on("mouseout", hideTip);

    /* context zones (SVG, non-interactive, above the parcels); protection lines get a ticked edge */
    var overlays = {};
    var zoneLegend = [];
    (data.zones || []).forEach(function (z) {
      var zl = decode(z.geom, z.names.length, z.lines), st = z.style;
      var lg = L.layerGroup();
      for (var i = 0; i < zl.length; i++) {
        if (!zl[i] || !zl[i].length) continue;
        var base = { pane: "mujunZones", renderer: zoneRenderer, interactive: false };
        var make = z.lines ? L.polyline : L.polygon;
        if (st.hatch) {
          lg.addLayer(make(zl[i], L.extend({}, base, {
            color: st.hatch, weight: st.hatchWeight, opacity: 0.85, dashArray: st.hatchDash, lineCap: "butt", fill: false
          })));
        }
        lg.addLayer(make(zl[i], L.extend({}, base, {
          color: st.color, weight: st.weight, dashArray: st.dash || null, lineCap: st.dash ? "butt" : "round",
          fill: !z.lines && st.fillOpacity > 0, fillColor: st.color, fillOpacity: st.fillOpacity || 0
        })));
      }
      lg._mjGroup = "zone";
      overlays[esc(z.label) + "（" + zl.length + "）"] = lg;
      if (z.show) lg.addTo(map);
      zoneLegend.push(swatch(st.color, st.hatch ? "hatch" : st.fillOpacity > 0 ? "fill" : "line", st) + esc(z.label));
    });

    /* parks and districts coloured by the status of an aggregate verdict about them */
    var choroLayers = [];
    (data.choropleths || []).forEach(function (ch) {
      var cl = decode(ch.geom, ch.names.length, false);
      var lg = L.featureGroup();
      for (var i = 0; i < cl.length; i++) {
        if (!cl[i] || !cl[i].length) continue;
        var code = ch.st[i];
        var poly = L.polygon(cl[i], {
          pane: "mujunChoro", color: "#333", weight: 1, fillColor: code >= 0 ? colors[S[code]] : "#ffffff",
          fillOpacity: code >= 0 ? 0.7 : 0.15
        });
        poly._mjTip = "<b>" + esc(ch.names[i]) + "</b><br>" + esc(ch.title) + "：" +
          (code >= 0 ? badge(code) : "无数据") +
          (ch.value[i] ? "<br>数值：" + esc(ch.value[i]) : "") + (ch.threshold[i] ? "　标准：" + esc(ch.threshold[i]) : "") +
          (ch.message[i] ? '<div class="mj-tip-msg">' + esc(ch.message[i]) + "</div>" : "");
        poly.on("mousemove", function (e) { choroHover = { event: e.originalEvent, html: this._mjTip }; });
        lg.addLayer(poly);
      }
      lg._mjChoro = ch;
      lg._mjGroup = "choro";
      overlays[esc(ch.title)] = lg;
      choroLayers.push(lg);
    });

    /* base maps; a basemap whose tiles do not load (no internet) says so instead of going blank */
    var offline = L.DomUtil.create("div", "mj-offline", container);
    offline.textContent = "离线，底图不可用";
    offline.style.display = "none";
    var tiles = { loaded: 0, failed: 0 };
    function tileNotice() { offline.style.display = tiles.failed > 0 && tiles.loaded === 0 ? "block" : "none"; }
    var bases = {}, firstBase = null;
    (data.basemaps || []).forEach(function (bm) {
      var layer = bm.url
        ? L.layerGroup(bm.urls.map(function (u) {
            return L.tileLayer(u, { attribution: bm.attribution, subdomains: bm.subdomains || "abc", maxZoom: 18 })
              .on("tileerror", function () { tiles.failed++; tileNotice(); })
              .on("tileload", function () { tiles.loaded++; tileNotice(); });
          }))
        : L.layerGroup();
      bases[esc(bm.label)] = layer;
      if (bm.active) firstBase = layer;
    });
    map.on("baselayerchange", function () { tiles.loaded = 0; tiles.failed = 0; tileNotice(); });
    if (firstBase) firstBase.addTo(map);

    var ov = {};
    (data.layers || []).forEach(function (info) {
      var name = info.key === "overall" ? esc(info.title) + "（" + n + " 宗）" : esc(info.title);
      ov[name] = parcelLayers[info.key];
    });
    Object.keys(overlays).forEach(function (k) { ov[k] = overlays[k]; });
    var layerControl = new LayersControl(bases, ov, {
      // a small map (a page's embedded frame) keeps the long list folded behind the layers button
      collapsed: data.collapseLayers || Object.keys(ov).length > 32 || map.getSize().x < 800 || map.getSize().y < 500,
      position: "topright", groupTitles: groupTitles
    }).addTo(map);

    /* legend */
    var legend = L.control({ position: "bottomleft" });
    var legendDiv;
    legend.onAdd = function () {
      legendDiv = L.DomUtil.create("div", "mj-legend leaflet-bar");
      L.DomEvent.disableClickPropagation(legendDiv);
      L.DomEvent.disableScrollPropagation(legendDiv);
      return legendDiv;
    };
    legend.addTo(map);
    function updateLegend() {
      if (!legendDiv) return;
      var layer = activeLayer();
      var h = '<div class="mj-legend-title">' + esc(data.title || "工业用地合规评估") + "</div>";
      if (layer) {
        var counts = layer.counts(), any = false;
        h += '<div class="mj-legend-sub">' + esc(state.layer === "overall" ? layerTitle("overall") : "按规则着色：" + layerTitle(state.layer)) + "</div>";
        for (var s = 0; s < S.length; s++) {
          if (!counts[s]) continue;
          any = true;
          h += '<div class="mj-legend-row" data-status="' + S[s] + '">' + swatch(colors[S[s]]) + esc(labels[S[s]]) +
            ' <span class="mj-count">' + counts[s] + "</span></div>";
        }
        if (!any) h += '<div class="mj-legend-row mj-none">无宗地</div>';
      } else {
        h += '<div class="mj-legend-sub mj-none">未显示宗地（在图层中勾选一种着色）</div>';
      }
      if (zoneLegend.length) h += '<div class="mj-legend-sub">参考图层</div><div class="mj-legend-row">' + zoneLegend.join('</div><div class="mj-legend-row">') + "</div>";
      var shown = choroLayers.filter(function (lg) { return map.hasLayer(lg); });
      if (shown.length) {
        h += '<div class="mj-legend-sub">' + shown.map(function (lg) { return esc(lg._mjChoro.title); }).join("<br>") + "</div>";
        var seen = {};
        shown.forEach(function (lg) { lg._mjChoro.st.forEach(function (c) { if (c >= 0) seen[c] = 1; }); });
        Object.keys(seen).sort().forEach(function (c) {
          h += '<div class="mj-legend-row">' + swatch(colors[S[c]]) + esc(labels[S[c]]) + "</div>";
        });
      }
      if (data.note) h += '<div class="mj-note">' + esc(data.note) + "</div>";
      legendDiv.innerHTML = h;
    }
    map.on("overlayadd overlayremove", function (e) {
      if (e.layer && e.layer._mjChoro) updateLegend();
    });
    overall.addTo(map);
    updateLegend();

    /* search by parcel id */
    var Search = L.Control.extend({
      options: { position: "topleft" },
      onAdd: function () {
        var div = L.DomUtil.create("div", "mj-search leaflet-bar");
        div.innerHTML = '<input type="search" placeholder="搜索宗地编号" aria-label="搜索宗地编号" list="mj-ids">' +
          '<datalist id="mj-ids"></datalist><div class="mj-search-msg"></div>';
        L.DomEvent.disableClickPropagation(div);
        L.DomEvent.disableScrollPropagation(div);
        var input = div.querySelector("input"), list = div.querySelector("datalist"), msg = div.querySelector(".mj-search-msg");
        input.addEventListener("input", function () {
          var q = input.value.trim().toLowerCase(), opts = [];
          if (q.length >= 1) {
            for (var i = 0; i < n && opts.length < 20; i++) {
              if (String(P.ids[i]).toLowerCase().indexOf(q) >= 0) opts.push('<option value="' + esc(P.ids[i]) + '">');
            }
          }
          list.innerHTML = opts.join("");
        });
        input.addEventListener("keydown", function (ev) {
          if (ev.key !== "Enter") return;
          var q = input.value.trim(), i = index[q];
          if (i == null) {
            var lower = q.toLowerCase();
            for (var k = 0; k < n; k++) if (String(P.ids[k]).toLowerCase() === lower) { i = k; break; }
          }
          if (i == null) { msg.textContent = "未找到宗地：" + q; return; }
          msg.textContent = "";
          ensureActive();
          map.fitBounds(featureBounds(i), { maxZoom: 17, animate: false });
          openParcel(i);
        });
        return div;
      }
    });
    new Search().addTo(map);

    /* measure distance and area */
    var Measure = L.Control.extend({
      options: { position: "topleft" },
      onAdd: function () {
        var div = L.DomUtil.create("div", "mj-measure leaflet-bar");
        var btn = L.DomUtil.create("a", "mj-btn", div);
        btn.href = "#";
        btn.title = "测量距离和面积（单击加点，双击或再次点击按钮结束）";
        btn.innerHTML = '<svg width="18" height="18" viewBox="0 0 24 24" aria-hidden="true"><path fill="none" stroke="#222" stroke-width="2" d="M3 17 17 3l4 4L7 21z M7 13l2 2 M10 10l2 2 M13 7l2 2"/></svg>';
        btn.setAttribute("role", "button");
        var out = L.DomUtil.create("div", "mj-measure-out", div);
        var pts = [], line = null, area = null;
        L.DomEvent.disableClickPropagation(div);
        function clear() {
          pts = [];
          if (line) map.removeLayer(line);
          if (area) map.removeLayer(area);
          line = area = null;
        }
        function redraw() {
          if (line) map.removeLayer(line);
          if (area) map.removeLayer(area);
          line = L.polyline(pts, { color: "#1f4e9c", weight: 2, dashArray: "5 4", interactive: false }).addTo(map);
          var d = 0;
          for (var i = 1; i < pts.length; i++) d += map.distance(pts[i - 1], pts[i]);
          var txt = "距离 " + (d >= 1000 ? fmt(d / 1000, 3) + " 公里" : fmt(d, 1) + " 米");
          if (pts.length >= 3) {
            area = L.polygon(pts, { color: "#1f4e9c", weight: 1, fillOpacity: 0.1, interactive: false }).addTo(map);
            var m2 = geodesicArea(pts);
            txt += "<br>面积 " + fmt(m2, 0) + " 平方米 = " + fmt(m2 * 15 / 10000, 2) + " 亩";
          }
          out.innerHTML = txt;
        }
        function onClick(e) { pts.push(e.latlng); redraw(); }
        function stop() {
          state.measuring = false;
          L.DomUtil.removeClass(div, "mj-active");
          map.off("click", onClick);
          map.doubleClickZoom.enable();
          map.getContainer().style.cursor = "";
        }
        L.DomEvent.on(btn, "click", function (e) {
          L.DomEvent.preventDefault(e);
          if (state.measuring) { stop(); return; }
          clear();
          out.innerHTML = "单击地图加点";
          state.measuring = true;
          L.DomUtil.addClass(div, "mj-active");
          map.on("click", onClick);
          map.doubleClickZoom.disable();
          map.getContainer().style.cursor = "crosshair";
        });
        map.on("dblclick", function () { if (state.measuring) stop(); });
        map.getContainer().addEventListener("keydown", function (e) {
          if (e.key === "Escape") { stop(); clear(); out.innerHTML = ""; }
        });
        return div;
      }
    });
    new Measure().addTo(map);

    /* fullscreen */
    var Full = L.Control.extend({
      options: { position: "topleft" },
      onAdd: function () {
        var div = L.DomUtil.create("div", "mj-full leaflet-bar");
        var btn = L.DomUtil.create("a", "mj-btn", div);
        btn.href = "#";
        btn.title = "全屏";
        btn.innerHTML = '<svg width="18" height="18" viewBox="0 0 24 24" aria-hidden="true"><path fill="none" stroke="#222" stroke-width="2.2" d="M3 9V3h6 M15 3h6v6 M21 15v6h-6 M9 21H3v-6"/></svg>';
        btn.setAttribute("role", "button");
        var el = map.getContainer();
        L.DomEvent.on(btn, "click", function (e) {
          L.DomEvent.stop(e);
          var on = document.fullscreenElement === el || L.DomUtil.hasClass(el, "mj-fullscreen");
          if (on) {
            if (document.fullscreenElement && document.exitFullscreen) document.exitFullscreen();
            L.DomUtil.removeClass(el, "mj-fullscreen");
          } else if (el.requestFullscreen) {
            el.requestFullscreen().catch(function () { L.DomUtil.addClass(el, "mj-fullscreen"); map.invalidateSize(); });
          } else {
            L.DomUtil.addClass(el, "mj-fullscreen");
          }
          setTimeout(function () { map.invalidateSize(); }, 100);
        });
        return div;
      }
    });
    new Full().addTo(map);
    new ScaleControl({ imperial: false, position: "bottomleft" }).addTo(map);

    /* the first view fits every parcel (or every zone when there are none) */
    if (data.bounds) map.fitBounds(data.bounds, { animate: false, padding: [16, 16] });
    var api = {
      map: map, parcels: overall, layers: parcelLayers, index: index, layerControl: layerControl, data: data,
      openParcel: openParcel, active: activeLayer, tooltip: tipEl, offlineNotice: offline,
      setLayer: function (key) {
        if (key == null) { var l = activeLayer(); if (l) map.removeLayer(l); }
        else if (parcelLayers[key]) parcelLayers[key].addTo(map);
      },
      state: state, buildMs: performance.now() - t0
    };
    window.mujunMaps = window.mujunMaps || [];
    window.mujunMaps.push(api);
    /* first paint: the canvas is drawn on the next animation frame after the layers were added */
    requestAnimationFrame(function () {
      requestAnimationFrame(function () {
        api.readyMs = performance.now();
        window.mujunReady = api.readyMs;
        document.documentElement.setAttribute("data-mujun-ready", "1");
      });
    });
    return api;
  }

  window.MujunMap = { build: build, decode: decode };
})();
