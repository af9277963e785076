/* reasongraph: the checkpoint-sweep page, window.ReasonGraph.renderSweep(root, payload). Exploration measured on
 * each saved checkpoint of a training run, every chart on one shared x-axis (the training step): token entropy,
 * the hidden states' windowed effective rank, revisits per step, accuracy and reward, then each checkpoint's
 * collapse ratio against the first; below them the entropy-performance law, the level-collapse table of the last
 * checkpoint against the first (collapse.js) and the table of every checkpoint.
 *
 * Needs common.js and collapse.js. The payload (reasongraph/html/sweep_view.py):
 *   { title, steps: [step per checkpoint], checkpoints: [name], charts: [{key, label, level, values: []}],
 *     ratios: [{key, label, level, value: [], lo: [], hi: []}], laws: [{field, n, a, b, ceiling, a_ci, b_ci,
 *     ceiling_ci, r2, ci, points: {H: [], R: []}}], collapse: CollapseTable.as_dict() or null,
 *     table: {columns: [], rows: [[]]}, options: {} }
 * Any number may be null: it draws no dot and breaks its line. Data reaches the page only through textContent /
 * setAttribute, never innerHTML.
 */
(function () {
  "use strict";
  var RG = window.ReasonGraph;
  var C = RG._common, el = C.el, sv = C.sv, svText = C.svText, fmt = C.fmt, isNum = C.isNum, clip = C.clip;
  var LEVEL_COLORS = { token: "#d9480f", hidden: "#1864ab", samples: "#2f9e44", outcome: "#495057" };
  var L = 64, R = 24, CHART_H = 112, GAP = 10, TOP = 8, AXIS_H = 34;

  function list(v) { return Array.isArray(v) ? v : []; }
  function colorOf(level) { return LEVEL_COLORS[level] || "#495057"; }

  RG.renderSweep = function (root, data) {
    if (!root || !data) return;
    root.textContent = "";
    root.classList.add("rg-root", "rg-sweep-view");
    var tip = C.Tooltip(root), width = root.clientWidth || 1200;
    var steps = list(data.steps), names = list(data.checkpoints);
    header(root, data, steps);
    var charts = list(data.charts), ratios = list(data.ratios).filter(function (r) {
      return list(r.value).some(isNum);
    });
    var box = C.section(root, "rg-ck-panel", "Exploration against training step",
      "Each saved checkpoint sampled the same probe prompts with the same seed; every chart shares the x-axis " +
      "(training step). Orange: token level; blue: hidden-state level; green: across samples; grey: outcomes. " +
      "Hover a dot for its checkpoint and value.");
    if (!steps.length || (!charts.length && !ratios.length)) {
      box.appendChild(el("p", "rg-muted", "No checkpoint to show."));
    } else {
      box.appendChild(stack(charts, ratios, steps, names, width, tip));
    }
    list(data.laws).forEach(function (law) { lawPanel(root, law, width, tip, names); });
    if (data.collapse && typeof data.collapse === "object") RG._collapse.panel(root, data.collapse, width, tip);
    tablePanel(root, data.table || {});
    return root;
  };

  function header(root, d, steps) {
    var h = el("header", "rg-header");
    h.appendChild(el("h1", null, d.title || "Exploration over training checkpoints"));
    var o = d.options || {}, p = o.probe || {}, facts = [steps.length + " checkpoint" + (steps.length === 1 ? "" : "s")];
    var finite = steps.filter(isNum);
    if (finite.length) facts.push("steps " + fmt(Math.min.apply(null, finite)) + "\u2013" + fmt(Math.max.apply(null, finite)));
    if (p.n_prompts !== undefined) {
      facts.push("probe: " + fmt(p.n_prompts) + " prompts \u00d7 " + fmt(p.samples) + " samples, T = " +
        fmt(p.temperature) + ", up to " + fmt(p.max_new_tokens) + " tokens, seed " + fmt(p.seed));
    }
    h.appendChild(el("p", "rg-facts", facts.join(" \u00b7 ")));
    h.appendChild(el("p", "rg-lead",
      "RL training makes token entropy collapse. Does the hidden-state level collapse with it? Each checkpoint " +
      "was probed on-policy and scored by itself; the reasoning-graph nodes are one clustering fit on the first " +
      "checkpoint's samples, so revisits are counted in one fixed space. The collapse ratios divide each " +
      "checkpoint's mean by the first checkpoint's, paired by prompt."));
    root.appendChild(h);
  }

  // the x scale shared by every chart of the stack
  function xScale(steps, W) {
    var ext = C.extent(steps) || [0, 1], lo = ext[0], hi = ext[1], P = 14;
    return function (s) {
      if (!isNum(s)) return null;
      return hi === lo ? (L + W - R) / 2 : L + P + (W - L - R - 2 * P) * (s - lo) / (hi - lo);
    };
  }

  function stack(charts, ratios, steps, names, width, tip) {
    var W = Math.max(520, Math.min(1100, Math.round(width - 60)));
    var n = charts.length + (ratios.length ? 1 : 0), H = TOP + n * (CHART_H + GAP) + AXIS_H;
    var svg = sv("svg", { viewBox: "0 0 " + W + " " + H, role: "img" }, "rg-dist rg-ck-stack");
    svg.setAttribute("aria-label", "exploration measures against training step");
    svg.style.maxWidth = W + "px";
    var X = xScale(steps, W), y0 = TOP;
    charts.forEach(function (c) {
      chart(svg, c.label, [{ key: c.key, label: c.label, level: c.level, value: list(c.values) }], steps, names, X, y0, W, false);
      y0 += CHART_H + GAP;
    });
    if (ratios.length) {
      chart(svg, "collapse ratio against the first checkpoint (mean B / mean A, 95% paired bootstrap interval)",
        ratios, steps, names, X, y0, W, true);
      y0 += CHART_H + GAP;
    }
    xAxis(svg, steps, X, y0 - GAP, W);
    svg.addEventListener("mousemove", function (ev) {
      if (ev.target.__info) tip.show(ev.target.__info, ev.clientX, ev.clientY); else tip.hide();
    });
    svg.addEventListener("mouseleave", function () { tip.hide(); });
    return svg;
  }

  // one chart of the stack: its own y-axis, one or more series (with whiskers when lo/hi are given)
  function chart(svg, title, series, steps, names, X, top, W, ratio) {
    var g = sv("g", null, "rg-ck-chart"), bottom = top + CHART_H;
    g.setAttribute("data-key", series.map(function (s) { return s.key || s.label; }).join(","));
    var all = [];
    series.forEach(function (s) { all = all.concat(list(s.value), list(s.lo), list(s.hi)); });
    var Y = C.yAxis(g, all, { left: L, right: W - R, top: top + 16, bottom: bottom - 4 }, ratio ? 1 : null);
    var head = svText(L + 4, top + 11, clip(title, Math.floor((W - L) / 6.4)), "rg-axis-label");
    g.appendChild(head);
    if (series.length > 1) {
      var lx = W - R;
      series.slice().reverse().forEach(function (s) {
        var t = svText(lx, top + 11, s.label, "rg-axis-tick rg-ck-key", "end");
        t.style.fill = colorOf(s.level);
        g.appendChild(t);
        lx -= 8 + 6 * String(s.label).length;
      });
    }
    series.forEach(function (s) { g.appendChild(line(s, steps, names, X, Y)); });
    svg.appendChild(g);
  }

  function line(s, steps, names, X, Y) {
    var g = sv("g", null, "rg-ck-series rg-ck-" + (s.level || "other")), d = "", drawn = false, color = colorOf(s.level);
    g.setAttribute("data-series", s.key || s.label);
    var path = sv("path", null, "rg-sw-line");
    path.style.stroke = color;
    g.appendChild(path);
    var value = list(s.value), lo = list(s.lo), hi = list(s.hi);
    steps.forEach(function (step, i) {
      var v = value[i], x = X(step);
      if (!isNum(v) || x === null) { drawn = false; return; }
      d += (drawn ? "L" : "M") + x.toFixed(1) + "," + Y(v).toFixed(1);
      drawn = true;
      if (isNum(lo[i]) && isNum(hi[i])) {
        var w = sv("path", { d: "M" + x.toFixed(1) + "," + Y(lo[i]).toFixed(1) + "V" + Y(hi[i]).toFixed(1) },
          "rg-sw-ci");
        w.style.stroke = color;
        g.appendChild(w);
      }
      var dot = sv("circle", { cx: x.toFixed(1), cy: Y(v).toFixed(1), r: 3.5 }, "rg-sw-dot");
      dot.style.fill = color;
      dot.setAttribute("data-step", String(step));
      dot.setAttribute("data-value", String(v));
      dot.__info = [String(names[i] === undefined ? "checkpoint" : names[i]), "step " + fmt(step),
        s.label + ": " + C.estimate(v, lo[i], hi[i])];
      g.appendChild(dot);
    });
    if (d) path.setAttribute("d", d);
    return g;
  }

  function xAxis(svg, steps, X, y, W) {
    svg.appendChild(sv("line", { x1: L, x2: W - R, y1: y, y2: y }, "rg-sw-axis"));
    var seen = [], last = -Infinity;
    steps.forEach(function (s) {
      var x = X(s);
      if (x === null || x - last < 34 || seen.indexOf(s) >= 0) return;
      seen.push(s);
      last = x;
      svg.appendChild(sv("line", { x1: x, x2: x, y1: y, y2: y + 4 }, "rg-sw-axis"));
      svg.appendChild(svText(x, y + 15, fmt(s), "rg-axis-tick", "middle"));
    });
    svg.appendChild(svText((L + W - R) / 2, y + 29, "training step", "rg-axis-label", "middle"));
  }

  // R against H with the fitted curve R = -a exp(H) + b from H = 0 (the ceiling b - a) to the largest H
  function lawPanel(root, law, width, tip, names) {
    var name = String(law.field || "R");
    var box = C.section(root, "rg-ck-law", "Entropy\u2013performance law: " + name + " = \u2212a\u00b7exp(H) + b",
      "Each dot is a checkpoint: its probe's mean token entropy H_mean (x) and its " + name + " (y). The curve is " +
      "the least-squares fit of the Entropy-Mechanism paper's law; at H = 0 it predicts the ceiling b \u2212 a " +
      "(intervals: t intervals from the least-squares covariance, " + fmt(100 * (law.ci || 0.95)) + "%).");
    var parts = ["a = " + C.estimate(law.a, list(law.a_ci)[0], list(law.a_ci)[1]),
      "b = " + C.estimate(law.b, list(law.b_ci)[0], list(law.b_ci)[1]),
      "ceiling b \u2212 a = " + C.estimate(law.ceiling, list(law.ceiling_ci)[0], list(law.ceiling_ci)[1]),
      "R\u00b2 = " + fmt(law.r2), "n = " + fmt(law.n) + " checkpoints"];
    box.appendChild(el("p", "rg-facts rg-ck-law-fit", parts.join(" \u00b7 ")));
    var pts = law.points || {}, Hs = list(pts.H), Rs = list(pts.R);
    var W = Math.max(420, Math.min(720, Math.round(width - 60))), Hh = 260, T = 14, B = 40, LL = 58;
    var hx = C.extent(Hs.concat([0])) || [0, 1], ry = C.extent(Rs.concat(isNum(law.ceiling) ? [law.ceiling] : [])) || [0, 1];
    if (hx[1] === hx[0]) hx[1] += 1;
    if (ry[1] === ry[0]) { ry[0] -= 0.5; ry[1] += 0.5; }
    var py = (ry[1] - ry[0]) * 0.08;
    function X(h) { return LL + (W - LL - R) * (h - hx[0]) / (hx[1] - hx[0]); }
    function Y(r) { return Hh - B - (Hh - B - T) * (r - ry[0] + py) / (ry[1] - ry[0] + 2 * py); }
    var svg = sv("svg", { viewBox: "0 0 " + W + " " + Hh, role: "img" }, "rg-dist rg-ck-law-plot");
    svg.setAttribute("aria-label", name + " against mean token entropy, with the fitted law");
    svg.style.maxWidth = W + "px";
    [ry[0], (ry[0] + ry[1]) / 2, ry[1]].forEach(function (v) {
      svg.appendChild(sv("line", { x1: LL, x2: W - R, y1: Y(v), y2: Y(v) }, "rg-grid"));
      svg.appendChild(svText(LL - 6, Y(v) + 3.5, fmt(v), "rg-axis-tick", "end"));
    });
    [hx[0], (hx[0] + hx[1]) / 2, hx[1]].forEach(function (v) {
      svg.appendChild(svText(X(v), Hh - B + 15, fmt(v), "rg-axis-tick", "middle"));
    });
    svg.appendChild(svText((LL + W - R) / 2, Hh - 6, "H_mean (nats)", "rg-axis-label", "middle"));
    if (isNum(law.a) && isNum(law.b)) {
      var d = "", inside = false; // the curve where it lies within the plot; it breaks where it leaves
      for (var k = 0; k <= 120; k++) {
        var h = hx[0] + (hx[1] - hx[0]) * k / 120, y = Y(-law.a * Math.exp(h) + law.b);
        if (y < T - 4 || y > Hh - B + 4) { inside = false; continue; }
        d += (inside ? "L" : "M") + X(h).toFixed(1) + "," + y.toFixed(1);
        inside = true;
      }
      if (d) svg.appendChild(sv("path", { d: d }, "rg-ck-fit"));
      if (isNum(law.ceiling) && hx[0] <= 0) {
        var c = sv("circle", { cx: X(0).toFixed(1), cy: Y(law.ceiling).toFixed(1), r: 4 }, "rg-ck-ceiling");
        c.__info = ["predicted ceiling at H = 0", "b \u2212 a = " + C.estimate(law.ceiling, list(law.ceiling_ci)[0],
          list(law.ceiling_ci)[1])];
        svg.appendChild(c);
      }
    }
    Hs.forEach(function (h, i) {
      if (!isNum(h) || !isNum(Rs[i])) return;
      var dot = sv("circle", { cx: X(h).toFixed(1), cy: Y(Rs[i]).toFixed(1), r: 4 }, "rg-sw-dot rg-ck-point");
      dot.style.fill = colorOf("outcome");
      dot.__info = [String(names[i] === undefined ? "checkpoint" : names[i]), "H_mean " + fmt(h), name + " " + fmt(Rs[i])];
      svg.appendChild(dot);
    });
    svg.addEventListener("mousemove", function (ev) {
      if (ev.target.__info) tip.show(ev.target.__info, ev.clientX, ev.clientY); else tip.hide();
    });
    svg.addEventListener("mouseleave", function () { tip.hide(); });
    box.appendChild(svg);
  }

  function tablePanel(root, t) {
    var cols = list(t.columns), rows = list(t.rows);
    if (!cols.length || !rows.length) return;
    var box = C.section(root, "rg-ck-table", "Every checkpoint", "The probe's measures (means over its samples) " +
      "and the collapse against the first checkpoint (1 \u2212 ratio of means); seconds: the probe's wall time.");
    var table = el("table", "rg-table"), head = el("tr");
    cols.forEach(function (c, i) { head.appendChild(el("th", i > 1 ? "rg-num" : null, c)); });
    table.appendChild(head);
    rows.forEach(function (r) {
      var tr = el("tr");
      list(r).forEach(function (v, i) { tr.appendChild(el("td", i > 1 ? "rg-num" : null, i ? fmt(v) : String(v))); });
      table.appendChild(tr);
    });
    var wrap = el("div", "rg-ck-scroll");
    wrap.appendChild(table);
    box.appendChild(wrap);
  }
})();
