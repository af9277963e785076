/* reasongraph: what every view shares. Loaded first; the other scripts read it from window.ReasonGraph._common.
 *
 * The namespace (window.ReasonGraph), DOM and SVG builders, number and estimate formatting, the entropy
 * classes and their colors, the group colors, panels and the tooltip. Data reaches the page only through
 * textContent / createTextNode / setAttribute, never innerHTML, so untrusted strings (trace text, ids, group and
 * model names) can never become markup. Everything is scoped to a root element (no document-level ids), so
 * several views can share a page.
 */
(function () {
  "use strict";
  var RG = (window.ReasonGraph = window.ReasonGraph || {});
  var SVGNS = "http://www.w3.org/2000/svg";

  // entropy classes: the same colors in the text strip, the graph nodes and the legends
  var BIN_COLORS = ["#ffffff", "#fff3bf", "#ffe066", "#ffc078", "#ffa94d", "#ff8787", "#f03e3e", "#c92a2a",
    "#7d1a1a"];
  // groups (models, runs): the same color for a group in every figure of a report, by its index in payload.groups
  var GROUP_COLORS = ["#1971c2", "#e8590c", "#2f9e44", "#862e9c", "#c2255c", "#0c8599", "#5c940d", "#495057"];

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function sv(tag, attrs, cls) {
    var e = document.createElementNS(SVGNS, tag);
    if (attrs) for (var k in attrs) if (Object.prototype.hasOwnProperty.call(attrs, k)) e.setAttribute(k, attrs[k]);
    if (cls) e.setAttribute("class", cls);
    return e;
  }
  function svText(x, y, text, cls, anchor) {
    var t = sv("text", { x: x, y: y }, cls);
    if (anchor) t.setAttribute("text-anchor", anchor);
    t.textContent = String(text);
    return t;
  }
  // a number for people: integers as they are, others to 3 significant digits; null, NaN and infinities "n/a"
  function fmt(v) {
    if (v === null || v === undefined) return "n/a";
    if (typeof v === "boolean") return v ? "yes" : "no";
    if (typeof v === "number") {
      if (!isFinite(v)) return "n/a";
      if (Number.isInteger(v)) return String(v);
      var a = Math.abs(v);
      if (a !== 0 && (a < 0.001 || a >= 1e5)) return v.toExponential(2);
      return String(+v.toPrecision(3));
    }
    return String(v);
  }
  // an estimate with its interval (and p when given): "0.52 [0.44, 0.6], p = 0.0012"; "n/a" parts where null
  function estimate(value, lo, hi, p) {
    var s = fmt(value);
    if (isNum(lo) || isNum(hi)) s += " [" + fmt(lo) + ", " + fmt(hi) + "]";
    if (p !== undefined) s += ", p = " + fmt(p);
    return s;
  }
  function clip(s, n) { s = String(s); return s.length > n ? s.slice(0, n - 1) + "\u2026" : s; }
  function groupColor(i) {
    var n = GROUP_COLORS.length;
    return i >= 0 ? GROUP_COLORS[i % n] : "#495057";
  }
  function isNum(v) { return typeof v === "number" && isFinite(v); }
  function binLabels(edges) {
    var out = ["< " + edges[0]];
    for (var i = 1; i < edges.length; i++) out.push(edges[i - 1] + "\u2013" + edges[i]);
    out.push("\u2265 " + edges[edges.length - 1]);
    return out;
  }
  function section(parent, cls, title, help) {
    var s = el("section", "rg-panel " + cls);
    var h = el("div", "rg-panel-head");
    h.appendChild(el("h2", null, title));
    if (help) h.appendChild(el("p", "rg-help", help));
    s.appendChild(h);
    parent.appendChild(s);
    return s;
  }
  function extent(values) {
    var lo = Infinity, hi = -Infinity;
    for (var i = 0; i < values.length; i++) {
      var v = values[i];
      if (v === null || !isFinite(v)) continue;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    return lo <= hi ? [lo, hi] : null;
  }

  // one tooltip per view: show(lines, clientX, clientY), the first line in bold; hide()
  function Tooltip(root) {
    var box = el("div", "rg-tooltip");
    box.setAttribute("role", "tooltip");
    root.appendChild(box);
    return {
      show: function (lines, clientX, clientY) {
        box.textContent = "";
        for (var i = 0; i < lines.length; i++) box.appendChild(el("div", i === 0 ? "rg-tt-head" : null, lines[i]));
        box.style.display = "block";
        var r = root.getBoundingClientRect();
        var x = clientX - r.left + 14, y = clientY - r.top + 14;
        var maxX = root.clientWidth - box.offsetWidth - 4;
        box.style.left = Math.max(0, Math.min(x, maxX)) + "px";
        box.style.top = y + "px";
      },
      hide: function () { box.style.display = "none"; },
    };
  }

  // the y-axis of one chart of a stack: the plot's background, three grid lines with their ticks and, when given,
  // a dashed reference line, over the extent of ``values`` (and ``ref``) padded by 8%; returns the scale Y(v).
  // box: {left, right, top, bottom} in SVG units.
  function yAxis(g, values, box, ref) {
    var all = isNum(ref) ? values.concat([ref]) : values;
    var ext = extent(all) || [0, 1], lo = ext[0], hi = ext[1];
    if (hi === lo) { lo -= Math.abs(lo) * 0.1 || 0.5; hi += Math.abs(hi) * 0.1 || 0.5; }
    var pad = (hi - lo) * 0.08;
    lo -= pad; hi += pad;
    function Y(v) { return box.bottom - (box.bottom - box.top) * (v - lo) / (hi - lo); }
    g.appendChild(sv("rect", { x: box.left, y: box.top, width: box.right - box.left, height: box.bottom - box.top },
      "rg-plot-bg"));
    [lo + pad, (lo + hi) / 2, hi - pad].forEach(function (v) {
      g.appendChild(sv("line", { x1: box.left, x2: box.right, y1: Y(v), y2: Y(v) }, "rg-grid"));
      g.appendChild(svText(box.left - 6, Y(v) + 3.5, fmt(v), "rg-axis-tick", "end"));
    });
    if (isNum(ref)) g.appendChild(sv("line", { x1: box.left, x2: box.right, y1: Y(ref), y2: Y(ref) }, "rg-ck-one"));
    return Y;
  }

  RG._common = { el: el, sv: sv, svText: svText, fmt: fmt, estimate: estimate, clip: clip, isNum: isNum,
    binLabels: binLabels, section: section, extent: extent, Tooltip: Tooltip, BIN_COLORS: BIN_COLORS,
    groupColor: groupColor, yAxis: yAxis };
})();
