/* mujun compliance map: builds parcels, context zones, legend, search, measure and fullscreen on a
 * Leaflet map from one compact JSON payload (see gis/_map_data.py). No network access, no dependencies
 * beyond Leaflet 1.9. */
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

  /* Every parcel on one canvas, filled colour by colour (one path per colour), culled to the view,
   * vertices closer than ~0.7 px merged and sub-pixel parcels drawn as a dot: fast at 100 000 parcels. */
  var ParcelLayer = L.Layer.extend({
    options: { padding: 0.3, pane: "overlayPane" },
    initialize: function (G, styleOf, opts) {
      L.setOptions(this, opts);
      this._G = G;
      this._styleOf = styleOf; // () -> {codes: Int8Array|Array, colors: [..], noneColor}
      this.drawnCount = 0;
      this.selected = -1;
    },
    count: function () { return this._G.n; },
    onAdd: function (map) {
      var c = (this._canvas = L.DomUtil.create("canvas", "mj-parcels leaflet-zoom-animated"));
      c.style.pointerEvents = "none";
      this.getPane().appendChild(c);
      this._reset();
    },
    onRemove: function () {
      L.DomUtil.remove(this._canvas);
      this.drawnCount = 0;
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
      var st = this._styleOf(), codes = st.codes, colors = st.colors;
      ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
      ctx.clearRect(0, 0, W, H);
      ctx.lineJoin = "round";
      var vis = this._vis && this._vis.length === n ? this._vis : (this._vis = new Uint8Array(n));
      var drawn = 0, small = 0;
      for (var f = 0; f < n; f++) {
        var on = bb[4 * f + 2] >= vx0 && bb[4 * f] <= vx1 && bb[4 * f + 3] >= vy0 && bb[4 * f + 1] <= vy1 ? 1 : 0;
        vis[f] = on;
        if (on) {
          drawn++;
          if ((bb[4 * f + 2] - bb[4 * f]) * scale < 3 && (bb[4 * f + 3] - bb[4 * f + 1]) * scale < 3) small++;
        }
      }
      var stroke = drawn > 0 && small < drawn / 2, batch = this.options.batch || 32;
      function flush(code) {
        ctx.globalAlpha = code < 0 ? 0.25 : 0.78;
        ctx.fillStyle = code < 0 ? st.noneColor : colors[code];
        ctx.fill("evenodd");
        if (stroke) {
          ctx.globalAlpha = 0.8;
          ctx.lineWidth = 0.5;
          ctx.strokeStyle = "#303030";
          ctx.stroke();
        }
      }
      for (var code = -1; code < colors.length; code++) {
        ctx.beginPath();
        var any = 0;
        for (f = 0; f < n; f++) {
          if (!vis[f] || (codes[f] == null ? -1 : codes[f]) !== code) continue;
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
      if (this.selected >= 0 && vis[this.selected]) {
        ctx.beginPath();
        f = this.selected;
        for (r = fr[f]; r < fr[f + 1]; r++) {
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
      this.fire("drawn", { count: drawn });
      return this;
    },
    /* the topmost parcel under a latlng (within tol pixels for parcels too small to hit) */
    hit: function (latlng, tolPx) {
      var G = this._G, scale = 256 * Math.pow(2, this._map.getZoom());
      var lat = Math.max(Math.min(latlng.lat, 85.0511287798), -85.0511287798), sn = Math.sin((lat * Math.PI) / 180);
      var u = (latlng.lng + 180) / 360, v = 0.5 - Math.log((1 + sn) / (1 - sn)) / (4 * Math.PI);
      var tol = (tolPx || 3) / scale, best = -1, near = -1, bb = G.bb;
      if (!this._grid) this._grid = buildGrid(G);
      this._grid.query(u, v, tol, function (f) {
        if (f <= best) return;
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

  function swatch(color, kind) {
    if (kind === "line") {
      return '<i class="mj-sw mj-sw-line" style="border-color:' + color + '"></i>';
    }
    if (kind === "dash") {
      return '<i class="mj-sw mj-sw-dash" style="border-color:' + color + '"></i>';
    }
    return '<i class="mj-sw" style="background:' + color + '"></i>';
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

  function build(map, data) {
    var t0 = performance.now();
    var S = data.statuses, colors = data.colors, labels = data.labels;
    var n = data.parcels.ids.length;
    var P = data.parcels;
    var state = { family: "overall", measuring: false };
    map.createPane("mujunZones").style.zIndex = 450;
    map.getPane("mujunZones").style.pointerEvents = "none";
    map.createPane("mujunChoro").style.zIndex = 420;
    var zoneRenderer = L.svg({ pane: "mujunZones" });

    function statusOf(i) {
      var arr = P.st[state.family];
      var code = arr ? arr[i] : -1;
      return code >= 0 ? S[code] : null;
    }

    /* parcels: one canvas layer drawing every parcel from typed arrays */
    var G = decodeTyped(P.geom, n);
    var colorList = S.map(function (s) { return colors[s]; });
    var group = new ParcelLayer(G, function () {
      return { codes: P.st[state.family] || [], colors: colorList, noneColor: "#ffffff" };
    });
    var index = {};
    for (var j = 0; j < n; j++) index[P.ids[j]] = j;

    function restyle() {
      group.redraw();
      updateLegend();
    }

    function tooltipHtml(i) {
      var st = statusOf(i);
      return (
        "<b>" + esc(P.ids[i]) + "</b> · " + fmt(P.mu[i], 2) + " 亩<br>" +
        (state.family === "overall" ? "总体" : data.familyLabels[state.family]) + "：" +
        (st ? '<span style="color:' + colors[st] + '">●</span> ' + labels[st] : "无相关规则")
      );
    }

    function popupHtml(i) {
      var V = data.verdicts, a = V.off[i], b = V.off[i + 1], st = P.st.overall[i];
      var h = '<div class="mj-popup"><div class="mj-pop-head"><b>宗地 ' + esc(P.ids[i]) + "</b>　" +
        fmt(P.mu[i], 2) + " 亩　总体：" +
        (st >= 0 ? '<span class="mj-badge" style="background:' + colors[S[st]] + '">' + labels[S[st]] + "</span>" : "—") +
        "</div>";
      if (P.info && P.info[i]) h += '<div class="mj-info">' + esc(P.info[i]) + "</div>";
      if (b <= a) return h + '<div class="mj-none">没有规则判定记录</div></div>';
      h += '<table class="mj-verdicts"><thead><tr><th>规则</th><th>结论</th><th>数值 / 标准</th><th>说明与依据</th></tr></thead><tbody>';
      for (var k = a; k < b; k++) {
        var s = V.s[k] >= 0 ? S[V.s[k]] : null, thr = V.strs[V.t[k]], val = V.v[k], code = V.strs[V.k[k]];
        h += "<tr><td>" + esc(V.rule_labels[V.r[k]]) + '<br><code>' + esc(V.rules[V.r[k]]) + "</code></td>" +
          "<td>" + (s ? '<span class="mj-badge" style="background:' + colors[s] + '">' + labels[s] + "</span>" : "") +
          (code ? '<br><code>' + esc(code) + "</code>" : "") + "</td>" +
          "<td>" + (val == null ? "—" : fmt(val, 2)) + (thr ? " / " + esc(thr) : "") + "</td>" +
          "<td>" + esc(V.strs[V.m[k]]) + (V.strs[V.c[k]] ? '<div class="mj-cite">依据：' + esc(V.strs[V.c[k]]) + "</div>" : "") +
          "</td></tr>";
      }
      return h + "</tbody></table></div>";
    }
    var popup = L.popup({ maxWidth: 640, minWidth: 320, maxHeight: 360, autoPanPadding: [20, 20] });
    function openParcel(i, latlng) {
      group.selected = i;
      group.redraw();
      popup.setLatLng(latlng || group.featureBounds(i).getCenter()).setContent(popupHtml(i)).openOn(map);
    }
    map.on("popupclose", function (e) {
      if (e.popup === popup) { group.selected = -1; group.redraw(); }
    });
    var tip = L.tooltip({ direction: "top", offset: [0, -8], opacity: 0.95 });
    var hoverPending = null;
    function onClick(e) {
      if (state.measuring || !map.hasLayer(group)) return;
      var i = group.hit(e.latlng, 3);
      if (i >= 0) openParcel(i, e.latlng);
    }
    function onMove(e) {
      if (hoverPending) { hoverPending = e; return; }
      hoverPending = e;
      requestAnimationFrame(function () {
        var ev = hoverPending;
        hoverPending = null;
        if (!map.hasLayer(group)) return;
        var i = group.hit(ev.latlng, 3);
        var cont = map.getContainer();
        if (i >= 0) {
          tip.setLatLng(ev.latlng).setContent(tooltipHtml(i));
          if (!map.hasLayer(tip)) map.openTooltip(tip);
          if (!state.measuring) cont.style.cursor = "pointer";
        } else {
          if (map.hasLayer(tip)) map.closeTooltip(tip);
          if (!state.measuring) cont.style.cursor = "";
        }
      });
    }
    map.on("click", onClick);
    map.on("mousemove", onMove);
    map.on("mouseout", function () { if (map.hasLayer(tip)) map.closeTooltip(tip); });

    /* context zones (SVG, non-interactive, above the parcels) */
    var overlays = {};
    var zoneLegend = [];
    (data.zones || []).forEach(function (z) {
      var zl = decode(z.geom, z.names.length, z.lines);
      var lg = L.layerGroup();
      for (var i = 0; i < zl.length; i++) {
        if (!zl[i] || !zl[i].length) continue;
        var o = {
          pane: "mujunZones", renderer: zoneRenderer, interactive: false, color: z.style.color,
          weight: z.style.weight, dashArray: z.style.dash || null, fill: !z.lines && z.style.fillOpacity > 0,
          fillColor: z.style.color, fillOpacity: z.style.fillOpacity || 0
        };
        lg.addLayer(z.lines ? L.polyline(zl[i], o) : L.polygon(zl[i], o));
      }
      overlays[z.label + "（" + zl.length + "）"] = lg;
      if (z.show) lg.addTo(map);
      zoneLegend.push(swatch(z.style.color, z.style.dash ? "dash" : "line") + esc(z.label));
    });

    /* per-mu choropleths of parks and districts */
    var choroLayers = [];
    (data.choropleths || []).forEach(function (ch) {
      var cl = decode(ch.geom, ch.names.length, false);
      var lg = L.featureGroup();
      for (var i = 0; i < cl.length; i++) {
        var v = ch.values[i], ratio = v == null ? null : v / ch.target;
        var col = "#ffffff";
        for (var b = 0; b < ch.breaks.length; b++) if (ratio != null && ratio >= ch.breaks[b]) col = ch.colors[b];
        var poly = L.polygon(cl[i], {
          pane: "mujunChoro", color: "#333", weight: 1, fillColor: ratio == null ? "#ffffff" : col,
          fillOpacity: ratio == null ? 0.2 : 0.75
        });
        poly.bindTooltip(
          "<b>" + esc(ch.names[i]) + "</b><br>" + ch.label + "：" + (v == null ? "无数据" : fmt(v, 1) + " " + ch.unit) +
          "<br>目标：≥ " + fmt(ch.target, 1) + " " + ch.unit + (ratio == null ? "" : "（" + fmt(ratio * 100, 0) + "%）") +
          (ch.land && ch.land[i] != null ? "<br>计入用地：" + fmt(ch.land[i], 1) + " 亩" : "") +
          (ch.notes && ch.notes[i] ? "<br>" + esc(ch.notes[i]) : ""),
          { sticky: true }
        );
        lg.addLayer(poly);
      }
      lg._mjChoro = ch;
      overlays[ch.title] = lg;
      choroLayers.push(lg);
    });

    /* family colouring as overlays: ticking one recolours the parcels (one at a time) */
    var familyLayers = {};
    var FamilyLayer = L.Layer.extend({
      onAdd: function () {
        var self = this;
        // after the layer control has finished handling the click, so that its checkboxes follow
        setTimeout(function () {
          Object.keys(familyLayers).forEach(function (k) {
            if (k !== self._fam && map.hasLayer(familyLayers[k])) map.removeLayer(familyLayers[k]);
          });
        }, 0);
        state.family = this._fam;
        restyle();
      },
      onRemove: function () {
        if (state.family === this._fam) {
          state.family = "overall";
          restyle();
        }
      }
    });
    var famOverlays = {};
    data.families.forEach(function (f) {
      var fl = new FamilyLayer();
      fl._fam = f;
      familyLayers[f] = fl;
      famOverlays["按规则着色：" + data.familyLabels[f]] = fl;
    });

    /* base maps */
    var bases = {}, firstBase = null;
    (data.basemaps || []).forEach(function (bm) {
      var layer = bm.url
        ? L.layerGroup(bm.urls.map(function (u) {
            return L.tileLayer(u, { attribution: bm.attribution, subdomains: bm.subdomains || "abc", maxZoom: 18 });
          }))
        : L.layerGroup();
      bases[bm.label] = layer;
      if (bm.active) firstBase = layer;
    });
    if (firstBase) firstBase.addTo(map);

    var ov = {};
    ov["宗地：" + (data.overallLabel || "总体合规状态") + "（" + n + "）"] = group;
    Object.keys(famOverlays).forEach(function (k) { ov[k] = famOverlays[k]; });
    Object.keys(overlays).forEach(function (k) { ov[k] = overlays[k]; });
    var layerControl = L.control.layers(bases, ov, { collapsed: data.collapseLayers || Object.keys(overlays).length + data.families.length > 14, position: "topright" }).addTo(map);
    group.addTo(map);

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
      var arr = P.st[state.family] || [], counts = {};
      for (var i = 0; i < arr.length; i++) if (arr[i] >= 0) counts[arr[i]] = (counts[arr[i]] || 0) + 1;
      var title = state.family === "overall" ? data.overallLabel || "总体合规状态" : "按规则着色：" + data.familyLabels[state.family];
      var h = '<div class="mj-legend-title">' + esc(data.title || "工业用地合规评估") + "</div>";
      h += '<div class="mj-legend-sub">' + esc(title) + "</div>";
      for (var s = 0; s < S.length; s++) {
        if (!counts[s] && data.legendStatuses.indexOf(S[s]) < 0) continue;
        h += '<div class="mj-legend-row" data-status="' + S[s] + '">' + swatch(colors[S[s]]) + labels[S[s]] +
          ' <span class="mj-count">' + (counts[s] || 0) + "</span></div>";
      }
      if (zoneLegend.length) h += '<div class="mj-legend-sub">图层</div><div class="mj-legend-row">' + zoneLegend.join("</div><div class=\"mj-legend-row\">") + "</div>";
      choroLayers.forEach(function (lg) {
        if (!map.hasLayer(lg)) return;
        var ch = lg._mjChoro;
        h += '<div class="mj-legend-sub">' + esc(ch.title) + "（占目标比例）</div>";
        for (var b = 0; b < ch.breaks.length; b++) {
          var hi = b + 1 < ch.breaks.length ? " – " + fmt(ch.breaks[b + 1] * 100, 0) + "%" : " 以上";
          h += '<div class="mj-legend-row">' + swatch(ch.colors[b]) + fmt(ch.breaks[b] * 100, 0) + "%" + hi + "</div>";
        }
      });
      if (data.note) h += '<div class="mj-note">' + esc(data.note) + "</div>";
      legendDiv.innerHTML = h;
    }
    map.on("overlayadd overlayremove", function (e) {
      if (e.layer && e.layer._mjChoro) updateLegend();
    });
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
          if (!map.hasLayer(group)) group.addTo(map);
          map.fitBounds(group.featureBounds(i), { maxZoom: 17, animate: false });
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
    L.control.scale({ imperial: false, position: "bottomleft" }).addTo(map);

    if (data.bounds) map.fitBounds(data.bounds, { animate: false });
    var api = {
      map: map, parcels: group, index: index, layerControl: layerControl, data: data,
      openParcel: openParcel, setFamily: function (f) {
        if (f === "overall") {
          if (familyLayers[state.family]) map.removeLayer(familyLayers[state.family]);
        } else if (familyLayers[f]) {
          familyLayers[f].addTo(map);
        }
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
