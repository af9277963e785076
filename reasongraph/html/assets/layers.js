/* reasongraph: the layer-columns figure of the dataset report, the paper's detection ratio by layer: per group, the
 * share of traces whose graph has a cycle (y, 0 to 1) at each layer of the run (x), a line with dots and 95%
 * Wilson whiskers.
 *
 * Needs common.js. RG._layers.panel(parent, s, width, tip, colorOf) draws the report payload's "layers":
 *   { specs: ["0.1", "0.5", ...] (the run's order), groups: [...], ratio: {group: [ratio per spec]}, lo: {...},
 *     hi: {...} }
 * colorOf(group) gives a group's color (the report's colors). When every spec is a number in (0, 1] (a depth
 * ratio) the layers sit at their ratio on a 0-to-1 axis; otherwise (layer indices, "-1") they are evenly spaced in
 * the run's order. A null ratio has no dot and breaks its line.
 */
(function () {
  "use strict";
  var RG = window.ReasonGraph;
  var C = RG._common, el = C.el, sv = C.sv, svText = C.svText, fmt = C.fmt, isNum = C.isNum, clip = C.clip;
  var NUMBER = /^\s*[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?\s*$/i;
  var T = 14, B = 46, L = 58, R = 24, H = 330, DODGE = 3;

  function list(v) { return Array.isArray(v) ? v : []; }
  function pick(obj, g) { return obj && typeof obj === "object" ? list(obj[g]) : []; }

  // depth ratios when every spec is a number in (0, 1], else null
  function ratios(specs) {
    var out = specs.map(function (s) { return NUMBER.test(String(s)) ? Number(s) : NaN; });
    return specs.length && out.every(function (v) { return v > 0 && v <= 1; }) ? out : null;
  }

  function panel(parent, s, width, tip, colorOf) {
    var specs = list(s.specs).map(function (x) { return x === null || x === undefined ? "?" : String(x); });
    var groups = list(s.groups).map(function (g) { return String(g); });
    var box = C.section(parent, "rg-layers-panel", "Detection ratio by layer",
      "The steps' hidden states taken at each layer of the run, each layer clustered on its own: the share of " +
      "traces whose reasoning graph has a cycle, per group (dots, with 95% Wilson intervals as whiskers; hover a " +
      "dot for its numbers). Depth ratio r: the output of block int(r \u00d7 number of blocks), 0 being the " +
      "embeddings.");
    if (!specs.length || !groups.length) {
      box.appendChild(el("p", "rg-muted", "No layers to show."));
      return box;
    }
    box.appendChild(legend(groups, colorOf));
    box.appendChild(figure(specs, groups, s, width, tip, colorOf));
    return box;
  }

  function legend(groups, colorOf) {
    var out = el("div", "rg-sw-legend");
    groups.forEach(function (g) {
      var item = el("span", "rg-sw-legend-item");
      var sw = el("span", "rg-sw-swatch");
      sw.style.background = colorOf(g);
      item.appendChild(sw);
      item.appendChild(el("span", null, g));
      out.appendChild(item);
    });
    return out;
  }

  function figure(specs, groups, s, width, tip, colorOf) {
    var W = Math.max(480, Math.min(900, Math.round(width - 60))), n = specs.length;
    var at = ratios(specs), P = 18; // inner padding of the evenly spaced axis
    function X(i) {
      if (at) return L + (W - L - R) * at[i];
      return n === 1 ? (L + W - R) / 2 : L + P + (W - L - R - 2 * P) * i / (n - 1);
    }
    function Y(v) { return T + (H - T - B) * (1 - Math.max(0, Math.min(1, v))); }
    var svg = sv("svg", { viewBox: "0 0 " + W + " " + H, role: "img" }, "rg-dist rg-layers");
    svg.setAttribute("aria-label", "detection ratio by layer, per group");
    svg.style.maxWidth = W + "px";
    [0, 0.25, 0.5, 0.75, 1].forEach(function (v) {
      svg.appendChild(sv("line", { x1: L, x2: W - R, y1: Y(v), y2: Y(v) }, "rg-grid"));
      svg.appendChild(svText(L - 6, Y(v) + 3.5, fmt(v), "rg-axis-tick", "end"));
    });
    xTicks(svg, specs, at, X, W);
    svg.appendChild(sv("line", { x1: L, x2: W - R, y1: Y(0), y2: Y(0) }, "rg-sw-axis"));
    svg.appendChild(sv("line", { x1: L, x2: L, y1: T, y2: Y(0) }, "rg-sw-axis"));
    svg.appendChild(svText((L + W - R) / 2, H - 6, at ? "layer (depth ratio)" : "layer (in the run's order)",
      "rg-axis-label", "middle"));
    var ym = (T + Y(0)) / 2, yl = svText(14, ym, "detection ratio: share of traces with a cycle", "rg-axis-label",
      "middle");
    yl.setAttribute("transform", "rotate(-90 14 " + ym + ")");
    svg.appendChild(yl);
    groups.forEach(function (g, gi) {
      svg.appendChild(series(g, specs, pick(s.ratio, g), pick(s.lo, g), pick(s.hi, g),
        X, Y, (gi - (groups.length - 1) / 2) * DODGE, colorOf(g)));
    });
    svg.addEventListener("mousemove", function (ev) {
      if (ev.target.__info) tip.show(ev.target.__info, ev.clientX, ev.clientY); else tip.hide();
    });
    svg.addEventListener("mouseleave", function () { tip.hide(); });
    return svg;
  }

  function xTicks(svg, specs, at, X, W) {
    var y = H - B + 16;
    if (at) {
      for (var k = 0; k <= 10; k++) {
        var x = L + (W - L - R) * k / 10;
        if (k) svg.appendChild(sv("line", { x1: x, x2: x, y1: T, y2: H - B }, "rg-grid"));
        svg.appendChild(svText(x, y, fmt(k / 10), "rg-axis-tick", "middle"));
      }
      return;
    }
    // one label per layer; every step-th when they would crowd
    var gap = specs.length > 1 ? X(1) - X(0) : W, step = Math.max(1, Math.ceil(36 / gap));
    specs.forEach(function (spec, i) {
      svg.appendChild(sv("line", { x1: X(i), x2: X(i), y1: T, y2: H - B }, "rg-grid"));
      if (i % step === 0) {
        svg.appendChild(svText(X(i), y, clip(spec, Math.max(3, Math.floor(gap * step / 6))), "rg-axis-tick",
          "middle"));
      }
    });
  }

  function series(g, specs, ratio, lo, hi, X, Y, dx, color) {
    var out = sv("g", null, "rg-sw-group"), d = "", drawn = false;
    out.setAttribute("data-group", g);
    var line = sv("path", null, "rg-sw-line");
    line.style.stroke = color;
    out.appendChild(line);
    specs.forEach(function (spec, i) {
      var v = ratio[i], x = X(i) + dx;
      if (!isNum(v)) { drawn = false; return; }
      d += (drawn ? "L" : "M") + x.toFixed(1) + "," + Y(v).toFixed(1);
      drawn = true;
      if (isNum(lo[i]) && isNum(hi[i])) {
        var y0 = Y(lo[i]).toFixed(1), y1 = Y(hi[i]).toFixed(1), xs = x.toFixed(1);
        var w = sv("path", { d: "M" + (x - 3).toFixed(1) + "," + y0 + "H" + (x + 3).toFixed(1) + "M" + xs + "," + y0 +
          "V" + y1 + "M" + (x - 3).toFixed(1) + "," + y1 + "H" + (x + 3).toFixed(1) }, "rg-sw-ci");
        w.style.stroke = color;
        out.appendChild(w);
      }
      var dot = sv("circle", { cx: x.toFixed(1), cy: Y(v).toFixed(1), r: 4 }, "rg-sw-dot");
      dot.style.fill = color;
      dot.setAttribute("data-spec", spec);
      dot.setAttribute("data-ratio", String(v));
      dot.__info = [g, "layer " + spec, "detection ratio " + C.estimate(v, lo[i], hi[i]) + " (95% Wilson)"];
      out.appendChild(dot);
    });
    if (d) line.setAttribute("d", d);
    return out;
  }

  RG._layers = { panel: panel };
})();
