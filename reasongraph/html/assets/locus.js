/* reasongraph: the locus page, window.ReasonGraph.renderLocus(root, payload). Where two checkpoints' token entropy
 * parts: per scope (all texts, then each group) three panels.
 *   depth   the logit-lens ratio B/A per layer (each model's head, and A's head on both trunks) and the
 *           representation similarities (CKA, k-NN overlap, Procrustes residual, spectral entropy) on one shared
 *           depth axis, the collapse locus marked across them;
 *   patch   the Shapley late share by split layer (residual patching), with its intervals and the 1/2 line;
 *   text    the drop by A's entropy percentile (deciles), and the forking-token and onset numbers.
 *
 * Needs common.js. The payload (reasongraph/html/locus_view.py): { title, a, b, options, notes, n_texts, n_skipped,
 * scopes: [{name, n_texts, n_tokens, n_sampled, summary: {}, layers: {layer: [], ...}, splits: {layer: [], ...},
 * temperature: {}, text: {buckets: [], ...}}] }. Any number may be null. Data reaches the page only through
 * textContent / setAttribute, never innerHTML.
 */
(function () {
  "use strict";
  var RG = window.ReasonGraph;
  var C = RG._common, el = C.el, sv = C.sv, svText = C.svText, fmt = C.fmt, isNum = C.isNum, clip = C.clip;
  var COLORS = { own: "#d9480f", ahead: "#862e9c", cka: "#1864ab", knn: "#0c8599", procrustes: "#5c940d",
    seA: "#495057", seB: "#e8590c", late: "#1971c2", drop: "#c92a2a", share: "#f08c00" };
  var L = 64, R = 24, CHART_H = 118, GAP = 10, TOP = 8, AXIS_H = 34;

  function list(v) { return Array.isArray(v) ? v : []; }

  RG.renderLocus = function (root, data) {
    if (!root || !data) return;
    root.textContent = "";
    root.classList.add("rg-root", "rg-locus-view");
    var tip = C.Tooltip(root), width = root.clientWidth || 1200;
    header(root, data);
    var scopes = list(data.scopes);
    if (!scopes.length) root.appendChild(el("p", "rg-muted", "No scope to show."));
    scopes.forEach(function (s) { scopeView(root, s, scopes.length > 1, width, tip); });
    return root;
  };

  function header(root, d) {
    var h = el("header", "rg-header"), o = d.options || {};
    h.appendChild(el("h1", null, d.title || "Where the entropy collapses"));
    var facts = ["A: " + ((d.a || {}).name || "?"), "B: " + ((d.b || {}).name || "?"), fmt(d.n_texts) + " texts",
      "lens every " + fmt(o.layer_stride) + " layer(s), patching every " + fmt(o.patch_stride),
      "T = " + fmt(o.temperature)];
    if (d.n_skipped) facts.push(fmt(d.n_skipped) + " records skipped");
    h.appendChild(el("p", "rg-facts", facts.join(" \u00b7 ")));
    h.appendChild(el("p", "rg-lead", "The same texts, teacher-forced through a base checkpoint A and a trained " +
      "checkpoint B. Where along depth does B's token entropy part from A's (logit lens, residual patching), is " +
      "the hidden geometry intact (CKA, Procrustes, neighbours), which single temperature on A mimics B, and " +
      "which tokens carry the drop?"));
    var notes = list(d.notes);
    if (notes.length) {
      var ul = el("ul", "rg-help rg-locus-notes");
      notes.forEach(function (n) { ul.appendChild(el("li", null, n)); });
      h.appendChild(ul);
    }
    root.appendChild(h);
  }

  function scopeView(root, s, several, width, tip) {
    var box = el("div", "rg-locus-scope");
    box.setAttribute("data-scope", String(s.name));
    if (several) box.appendChild(el("h2", "rg-locus-scope-title", "Texts: " + s.name + " (" + fmt(s.n_texts) +
      " texts, " + fmt(s.n_tokens) + " tokens)"));
    depthPanel(box, s, width, tip);
    patchPanel(box, s, width, tip);
    textPanel(box, s, width, tip);
    root.appendChild(box);
  }

  function hover(svg, tip) {
    svg.addEventListener("mousemove", function (ev) {
      if (ev.target.__info) tip.show(ev.target.__info, ev.clientX, ev.clientY); else tip.hide();
    });
    svg.addEventListener("mouseleave", function () { tip.hide(); });
  }

  function xScale(xs, W) {
    var ext = C.extent(xs) || [0, 1], lo = ext[0], hi = ext[1], P = 14;
    return function (x) {
      if (!isNum(x)) return null;
      return hi === lo ? (L + W - R) / 2 : L + P + (W - L - R - 2 * P) * (x - lo) / (hi - lo);
    };
  }

  // one chart of a stack: its title, y-axis, series [{key, label, color, value, lo, hi}], optional reference line
  function chart(svg, title, series, xs, X, top, W, opts) {
    opts = opts || {};
    var g = sv("g", null, "rg-locus-chart"), all = [];
    g.setAttribute("data-chart", opts.key || title);
    series.forEach(function (s) { all = all.concat(list(s.value), list(s.lo), list(s.hi)); });
    var Y = C.yAxis(g, all, { left: L, right: W - R, top: top + 18, bottom: top + CHART_H - 4 }, opts.ref);
    g.appendChild(svText(L + 4, top + 11, clip(title, Math.floor((W - L) / 6.4)), "rg-axis-label"));
    var lx = W - R;
    series.slice().reverse().forEach(function (s) {
      var t = svText(lx, top + 11, s.label, "rg-axis-tick rg-locus-key", "end");
      t.style.fill = s.color;
      g.appendChild(t);
      lx -= 10 + 6 * String(s.label).length;
    });
    series.forEach(function (s) { g.appendChild(line(s, xs, X, Y, opts.xName || "layer")); });
    svg.appendChild(g);
  }

  function line(s, xs, X, Y, xName) {
    var g = sv("g", null, "rg-locus-series"), d = "", drawn = false, value = list(s.value), lo = list(s.lo), hi = list(s.hi);
    g.setAttribute("data-series", s.key);
    var path = sv("path", null, "rg-sw-line");
    path.style.stroke = s.color;
    g.appendChild(path);
    xs.forEach(function (x, i) {
      var v = value[i], px = X(x);
      if (!isNum(v) || px === null) { drawn = false; return; }
      d += (drawn ? "L" : "M") + px.toFixed(1) + "," + Y(v).toFixed(1);
      drawn = true;
      if (isNum(lo[i]) && isNum(hi[i])) {
        var w = sv("path", { d: "M" + px.toFixed(1) + "," + Y(lo[i]).toFixed(1) + "V" + Y(hi[i]).toFixed(1) }, "rg-sw-ci");
        w.style.stroke = s.color;
        g.appendChild(w);
      }
      var dot = sv("circle", { cx: px.toFixed(1), cy: Y(v).toFixed(1), r: 3.2 }, "rg-sw-dot");
      dot.style.fill = s.color;
      dot.setAttribute("data-x", String(x));
      dot.setAttribute("data-value", String(v));
      dot.__info = [xName + " " + fmt(x), s.label + ": " + C.estimate(v, lo[i], hi[i])];
      g.appendChild(dot);
    });
    if (d) path.setAttribute("d", d);
    return g;
  }

  function xAxis(svg, xs, X, y, W, label) {
    svg.appendChild(sv("line", { x1: L, x2: W - R, y1: y, y2: y }, "rg-sw-axis"));
    var last = -Infinity;
    xs.forEach(function (x) {
      var px = X(x);
      if (px === null || px - last < 26) return;
      last = px;
      svg.appendChild(sv("line", { x1: px, x2: px, y1: y, y2: y + 4 }, "rg-sw-axis"));
      svg.appendChild(svText(px, y + 15, fmt(x), "rg-axis-tick", "middle"));
    });
    svg.appendChild(svText((L + W - R) / 2, y + 29, label, "rg-axis-label", "middle"));
  }

  function marker(svg, X, x, top, bottom, text, cls) {
    var px = X(x);
    if (px === null) return;
    svg.appendChild(sv("line", { x1: px, x2: px, y1: top, y2: bottom }, cls));
    svg.appendChild(svText(px + 4, top + 10, text, "rg-axis-tick " + cls + "-label"));
  }

  function stack(charts, xs, width, opts) {
    var W = Math.max(520, Math.min(1100, Math.round(width - 60)));
    var H = TOP + charts.length * (CHART_H + GAP) + AXIS_H;
    var svg = sv("svg", { viewBox: "0 0 " + W + " " + H, role: "img" }, "rg-dist " + opts.cls);
    svg.setAttribute("aria-label", opts.aria);
    svg.style.maxWidth = W + "px";
    var X = xScale(xs, W), y0 = TOP;
    charts.forEach(function (c) {
      chart(svg, c.title, c.series, xs, X, y0, W, c.opts);
      y0 += CHART_H + GAP;
    });
    xAxis(svg, xs, X, y0 - GAP, W, opts.xLabel);
    (opts.markers || []).forEach(function (m) { marker(svg, X, m.x, TOP, y0 - GAP, m.text, m.cls); });
    return svg;
  }

  function series(key, label, color, t, prefix) {
    return { key: key, label: label, color: color, value: list(t[prefix]), lo: list(t[prefix + "_ci_low"]),
      hi: list(t[prefix + "_ci_high"]) };
  }

  function depthPanel(box, s, width, tip) {
    var t = s.layers || {}, xs = list(t.layer), sm = s.summary || {};
    var panel = C.section(box, "rg-locus-depth", "Depth: where along the layers B's entropy parts from A's",
      "Logit lens: each layer's residual stream (before the final norm) read out through a head. Own head: each " +
      "model's; A's head on both trunks isolates the trunk (a changed head shows at every depth of the own-head " +
      "ratio only). The locus is the first layer at which the A-head ratio has reached half of its last-layer " +
      "drop. Logit lenses on small models are not monotone in depth: read the ratio, not the level. Lens and " +
      "similarities on " + fmt(s.n_sampled) + " sampled tokens; whiskers: 95% bootstrap intervals over texts.");
    if (!xs.length) { panel.appendChild(el("p", "rg-muted", "No layer to show.")); return; }
    var charts = [
      { title: "entropy ratio B / A by layer", opts: { ref: 1, key: "ratio" }, series: [
        series("lens_ratio", "own heads", COLORS.own, t, "lens_ratio"),
        series("lens_ratio_a_head", "A's head on both", COLORS.ahead, t, "lens_ratio_a_head")] },
      { title: "representation similarity of A and B (1 = same geometry)", opts: { ref: 1, key: "similarity" },
        series: [{ key: "cka", label: "linear CKA", color: COLORS.cka, value: list(t.cka) },
          { key: "knn_overlap", label: "10-NN overlap", color: COLORS.knn, value: list(t.knn_overlap) }] },
      { title: "Procrustes residual (0 = same up to rotation and scale)", opts: { ref: 0, key: "procrustes" },
        series: [{ key: "procrustes", label: "residual", color: COLORS.procrustes, value: list(t.procrustes) }] },
      { title: "spectral entropy of the sampled states (nats)", opts: { key: "spectral" }, series: [
        { key: "spectral_entropy_A", label: "A", color: COLORS.seA, value: list(t.spectral_entropy_A) },
        { key: "spectral_entropy_B", label: "B", color: COLORS.seB, value: list(t.spectral_entropy_B) }] }];
    var markers = isNum(sm.locus_layer) ? [{ x: sm.locus_layer, text: "locus (layer " + fmt(sm.locus_layer) + ")",
      cls: "rg-locus-mark" }] : [];
    var svg = stack(charts, xs, width, { cls: "rg-locus-depth-plot", aria: "entropy ratio and similarity by layer",
      xLabel: "layer (0 = embeddings)", markers: markers });
    hover(svg, tip);
    panel.appendChild(el("p", "rg-facts rg-locus-locus", isNum(sm.locus_layer) ?
      "Collapse locus (A's head): layer " + fmt(sm.locus_layer) + "; with each model's own head: layer " +
      fmt(sm.locus_layer_own_head) + "." : "No collapse locus: the A-head ratio shows no drop at the last layer."));
    panel.appendChild(svg);
  }

  function patchPanel(box, s, width, tip) {
    var t = s.splits || {}, xs = list(t.layer), sm = s.summary || {}, te = s.temperature || {};
    var panel = C.section(box, "rg-locus-patch", "Patching: where the drop is produced",
      "A's residual up to split layer l, then B's blocks and head (and the reverse); the late share is the " +
      "Shapley average of both orders: the share of the drop D = E(A,A) \u2212 E(B,B) produced after layer l. It is " +
      "1 at l = 0 and the head-only share at the last layer. Whiskers: 95% bootstrap intervals over texts.");
    var facts = ["E(A,A) = " + fmt(sm.E_AA), "E(B,B) = " + fmt(sm.E_BB),
      "D = " + C.estimate(sm.drop, sm.drop_ci_low, sm.drop_ci_high) + " nats",
      "head-only share = " + C.estimate(sm.head_only_share, sm.head_only_share_ci_low, sm.head_only_share_ci_high),
      "half the drop produced by layer " + (isNum(sm.half_drop_layer) ? fmt(sm.half_drop_layer) : "n/a (in the head)")];
    panel.appendChild(el("p", "rg-facts rg-locus-patch-facts", facts.join(" \u00b7 ")));
    panel.appendChild(el("p", "rg-facts rg-locus-temperature", "Temperature-equivalent: A at t* = " + fmt(te.t_star) +
      " matches B's per-token entropies best; it explains " + fmt(te.share_explained) + " of their squared " +
      "mismatch at t = " + fmt((s.options || {}).temperature || 1) + " (" + fmt(te.n_tokens) + " sampled tokens)" +
      (te.at_grid_edge ? "; at the edge of the searched range" : "") + "."));
    if (!xs.length) { panel.appendChild(el("p", "rg-muted", "No split to show.")); return; }
    var markers = isNum(sm.half_drop_layer) ? [{ x: sm.half_drop_layer, text: "half the drop", cls: "rg-locus-mark" }] : [];
    var svg = stack([{ title: "late share by split layer", opts: { ref: 0.5, key: "late" },
      series: [series("late_share", "late share", COLORS.late, t, "late_share")] }], xs, width,
    { cls: "rg-locus-patch-plot", aria: "late share by split layer", xLabel: "split layer l", markers: markers });
    hover(svg, tip);
    panel.appendChild(svg);
  }

  function textPanel(box, s, width, tip) {
    var t = s.text || {}, sm = s.summary || {}, buckets = list(t.buckets);
    var panel = C.section(box, "rg-locus-text", "Where in the text: the drop by A's entropy percentile",
      "Tokens ranked by A's entropy, in tenths. Bars: each tenth's mean drop H_A \u2212 H_B (nats); the label above " +
      "is its share of the total drop. Forking tokens: each text's top 20% by entropy (80/20 paper: RLVR keeps " +
      "about 86% of the base model's).");
    panel.appendChild(el("p", "rg-facts rg-locus-text-facts", [
      "A's top-20% tokens carry " + C.estimate(sm.top20_drop_share, sm.top20_drop_share_ci_low,
        sm.top20_drop_share_ci_high) + " of the drop",
      "B keeps " + C.estimate(sm.top20_overlap, sm.top20_overlap_ci_low, sm.top20_overlap_ci_high) +
        " of A's top-20% positions",
      "drop at step onsets " + fmt(t.onset_drop) + " vs " + fmt(t.other_drop) + " elsewhere (difference " +
        C.estimate(sm.onset_drop_gap, sm.onset_drop_gap_ci_low, sm.onset_drop_gap_ci_high) + "; " +
        fmt(t.n_onsets) + " onsets)"].join(" \u00b7 ")));
    if (!buckets.length) { panel.appendChild(el("p", "rg-muted", "No token to show.")); return; }
    var W = Math.max(420, Math.min(900, Math.round(width - 60))), H = 240, T = 22, B = 42;
    var drops = buckets.map(function (b) { return b.drop; }), ext = C.extent(drops.concat([0])) || [0, 1];
    if (ext[1] === ext[0]) ext[1] += 1;
    function Y(v) { return H - B - (H - B - T) * (v - ext[0]) / (ext[1] - ext[0]); }
    var svg = sv("svg", { viewBox: "0 0 " + W + " " + H, role: "img" }, "rg-dist rg-locus-text-plot");
    svg.setAttribute("aria-label", "drop by A's entropy percentile");
    svg.style.maxWidth = W + "px";
    var ticks = [0].concat([ext[0], ext[1]].filter(function (v) { return Math.abs(Y(v) - Y(0)) > 12; }));
    ticks.forEach(function (v) {
      svg.appendChild(sv("line", { x1: L, x2: W - R, y1: Y(v), y2: Y(v) }, v === 0 ? "rg-ck-one" : "rg-grid"));
      svg.appendChild(svText(L - 6, Y(v) + 3.5, fmt(v), "rg-axis-tick", "end"));
    });
    var slot = (W - L - R) / buckets.length;
    buckets.forEach(function (b, i) {
      if (!isNum(b.drop)) return;
      var x = L + i * slot + slot * 0.15, y = Math.min(Y(b.drop), Y(0)), h = Math.abs(Y(b.drop) - Y(0));
      var bar = sv("rect", { x: x.toFixed(1), y: y.toFixed(1), width: (slot * 0.7).toFixed(1), height: Math.max(h, 0.5).toFixed(1) },
        "rg-locus-bar");
      bar.style.fill = b.drop >= 0 ? COLORS.drop : COLORS.late;
      bar.setAttribute("data-bucket", String(b.bucket));
      bar.__info = [fmt(b.percentile_low) + "\u2013" + fmt(b.percentile_high) + "th percentile of A's entropy",
        "H_A " + fmt(b.H_A_low) + "\u2013" + fmt(b.H_A_high) + " (mean " + fmt(b.H_A) + "), H_B mean " + fmt(b.H_B),
        "mean drop " + fmt(b.drop) + " nats, share of the drop " + fmt(b.drop_share), fmt(b.n) + " tokens"];
      svg.appendChild(bar);
      svg.appendChild(svText(x + slot * 0.35, y - 4, fmt(b.drop_share), "rg-axis-tick", "middle"));
      svg.appendChild(svText(x + slot * 0.35, H - B + 14, fmt(b.percentile_high) + "%", "rg-axis-tick", "middle"));
    });
    svg.appendChild(svText((L + W - R) / 2, H - 8, "A's entropy percentile (tenths of the tokens)", "rg-axis-label", "middle"));
    hover(svg, tip);
    panel.appendChild(svg);
  }
})();
