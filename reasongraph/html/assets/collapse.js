/* reasongraph: the level-collapse figure of the dataset report. How each measure changed from group A to group
 * B: the ratio of its means B/A (dot) with its interval (whisker) on a log axis, token-level measures apart from
 * hidden-state measures, then the collapse summary, the coupling per group and the mode of the comparison.
 *
 * Needs common.js. RG._collapse.panel(parent, c, width, tip) draws the report payload's "collapse":
 *   { a, b, mode, n_pairs, rows: [{key, label, level, mean_a, mean_b, ratio, ci_low, ci_high, p, test, n, note}],
 *     summary: {token_collapse, hidden_collapse_erank, hidden_collapse_spread: {value, ci_low, ci_high},
 *               difference_erank, difference_spread: {value, ci_low, ci_high, p},
 *               control_share: null or {group, token_collapse, hidden_collapse_erank, hidden_collapse_spread}},
 *     saturation: {group: {spike_rate, near_saturated, n_near_saturated, n_traces}}, coupling: {group: r} }
 * (A payload saved before the spread existed names hidden_collapse_erank "hidden_collapse" and difference_erank
 * "difference"; both are read as such.) Any number may be null: such a row shows "n/a" and no dot. Ratios beyond the axis sit on its edge as a
 * triangle pointing outwards; the text column always gives the true values.
 */
(function () {
  "use strict";
  var RG = window.ReasonGraph;
  var C = RG._common, el = C.el, sv = C.sv, svText = C.svText, fmt = C.fmt, isNum = C.isNum, clip = C.clip;
  var estimate = C.estimate;
  var LEVELS = { token: "Token level", hidden: "Hidden-state level" };
  var ROW = 22, HEAD = 24, TOP = 30, BOTTOM = 40, LABEL_PX = 7.2, TICK_PX = 5.6; // row heights; px per character

  function positive(v) { return isNum(v) && v > 0; }
  function name(v, fallback) { return v === null || v === undefined || v === "" ? fallback : String(v); }

  // rows by level: token first, hidden second, any other level after; payload order within a level
  function byLevel(rows) {
    var order = [], groups = Object.create(null);
    rows.forEach(function (r) {
      var lv = name(r.level, "other");
      if (!groups[lv]) { groups[lv] = []; order.push(lv); }
      groups[lv].push(r);
    });
    var rank = function (lv) { return lv === "token" ? 0 : lv === "hidden" ? 1 : 2; };
    order.sort(function (x, y) { return rank(x) - rank(y) || order.indexOf(x) - order.indexOf(y); });
    return order.map(function (lv) { return { level: lv, rows: groups[lv] }; });
  }

  // half-width k of the log2 axis [2^-k, 2^k]: 2 (0.25 to 4), or 3 (0.125 to 8) when some value needs it
  function halfSpan(rows) {
    var need = 0;
    rows.forEach(function (r) {
      [r.ratio, r.ci_low, r.ci_high].forEach(function (v) {
        if (positive(v)) need = Math.max(need, Math.abs(Math.log2(v)));
      });
    });
    return need > 2 + 1e-9 ? 3 : 2;
  }

  function panel(parent, c, width, tip) {
    var a = name(c.a, "A"), b = name(c.b, "B"), rows = Array.isArray(c.rows) ? c.rows : [];
    var box = C.section(parent, "rg-collapse-panel", "Level collapse: " + b + " vs " + a,
      "Each measure's mean in " + b + " divided by its mean in " + a + " (dot), with its 95% interval (whisker), " +
      "on a log scale: left of the line at 1 the measure is lower in " + b + ". Filled dots: p < 0.05 (the test " +
      "is in each row's tooltip; not corrected for the number of measures). A collapse seen by token-level " +
      "measures but not by hidden-state measures shows as token dots left of 1 and hidden dots near it.");
    var facts = el("p", "rg-facts");
    facts.appendChild(el("span", null, ["A = " + a, "B = " + b, fmt(c.n_pairs) + " pairs", ""].join(" \u00b7 ")));
    var mode = name(c.mode, "n/a");
    facts.appendChild(el("span", "rg-cl-mode" + (mode === "faithful" ? "" : " rg-cl-proxy"), "mode: " + mode));
    box.appendChild(facts);
    box.appendChild(figure(rows, a, b, width, tip));
    box.appendChild(summary(c));
    return box;
  }

  function figure(rows, a, b, width, tip) {
    var groups = byLevel(rows), k = halfSpan(rows);
    var W = Math.max(560, Math.min(1100, Math.round(width - 60)));
    // columns: labels (at most 36% of the width: the measures' labels, up to 44 characters, fit at full width),
    // the plot, the values (at most 250 px, 30%)
    var longest = 0;
    rows.forEach(function (r) { longest = Math.max(longest, Math.min(44, name(r.label, name(r.key, "?")).length)); });
    var L = Math.round(Math.min(0.36 * W, 24 + LABEL_PX * longest)), R = W - Math.round(Math.min(250, 0.3 * W));
    var H = TOP + BOTTOM;
    groups.forEach(function (g) { H += HEAD + ROW * g.rows.length; });
    if (!rows.length) H += ROW;
    function X(v) { return L + (R - L) * (Math.max(-k, Math.min(k, Math.log2(v))) + k) / (2 * k); }
    var svg = sv("svg", { viewBox: "0 0 " + W + " " + H, role: "img" }, "rg-dist rg-collapse");
    svg.setAttribute("aria-label", "ratio " + b + " / " + a + " per measure, log scale");
    svg.style.maxWidth = W + "px";
    var y1 = H - BOTTOM + 4, x1 = X(1);
    for (var e = -k; e <= k; e++) {
      var v = Math.pow(2, e), x = X(v);
      if (e) svg.appendChild(sv("line", { x1: x, x2: x, y1: TOP - 4, y2: y1 }, "rg-grid"));
      svg.appendChild(svText(x, y1 + 13, fmt(v), "rg-axis-tick", "middle"));
    }
    svg.appendChild(svText((L + R) / 2, H - 4, "ratio " + clip(b, 24) + " / " + clip(a, 24) + " (log scale)",
      "rg-axis-tick", "middle"));
    svg.appendChild(svText(x1 - 8, TOP - 12, "\u2190 lower in " + clip(b, 24), "rg-axis-tick", "end"));
    svg.appendChild(svText(x1 + 8, TOP - 12, "higher in " + clip(b, 24) + " \u2192", "rg-axis-tick", "start"));
    svg.appendChild(svText(R + 12, TOP - 12, "B/A [95% CI]", "rg-axis-tick"));
    svg.appendChild(svText(W - 4, TOP - 12, "p", "rg-axis-tick", "end"));
    var y = TOP;
    if (!rows.length) svg.appendChild(svText(L, y + 15, "no measures to compare", "rg-muted-svg"));
    groups.forEach(function (g) {
      svg.appendChild(svText(6, y + 16, LEVELS[g.level] || g.level, "rg-cl-head"));
      y += HEAD;
      g.rows.forEach(function (r) {
        svg.appendChild(row(r, y, { L: L, R: R, W: W, X: X, k: k, a: a, b: b,
          labelChars: Math.max(6, Math.floor((L - 24) / LABEL_PX)), textChars: Math.floor((W - R - 60) / TICK_PX) }));
        y += ROW;
      });
    });
    svg.appendChild(sv("line", { x1: x1, x2: x1, y1: TOP - 4, y2: y1 }, "rg-cl-one"));
    svg.addEventListener("mousemove", function (ev) {
      var g = ev.target.closest ? ev.target.closest(".rg-cl-row") : null;
      if (g && g.__info) tip.show(g.__info, ev.clientX, ev.clientY); else tip.hide();
    });
    svg.addEventListener("mouseleave", function () { tip.hide(); });
    return svg;
  }

  function row(r, y, f) {
    var level = r.level === "token" || r.level === "hidden" ? r.level : "other";
    var g = sv("g", null, "rg-cl-row rg-cl-" + level);
    g.setAttribute("data-key", name(r.key, ""));
    var cy = y + ROW / 2, label = name(r.label, name(r.key, "?"));
    g.appendChild(sv("rect", { x: 0, y: y, width: f.W, height: ROW }, "rg-cl-band"));
    g.appendChild(svText(f.L - 10, cy + 4, clip(label, f.labelChars), "rg-group-label", "end"));
    if (positive(r.ci_low) && positive(r.ci_high)) {
      g.appendChild(sv("line", { x1: f.X(r.ci_low), x2: f.X(r.ci_high), y1: cy, y2: cy }, "rg-cl-ci"));
      if (Math.log2(r.ci_low) < -f.k) g.appendChild(chevron(f.X(r.ci_low), cy, -1));
      if (Math.log2(r.ci_high) > f.k) g.appendChild(chevron(f.X(r.ci_high), cy, 1));
    }
    var text = "n/a";
    if (positive(r.ratio)) {
      var x = f.X(r.ratio), lg = Math.log2(r.ratio), dot;
      var cls = "rg-cl-dot" + (isNum(r.p) && r.p < 0.05 ? " rg-cl-sig" : "");
      if (Math.abs(lg) > f.k) { // clamped: a triangle on the edge, pointing at where the value lies
        var s = lg > 0 ? 1 : -1;
        dot = sv("path", { d: "M" + (x - 5 * s) + "," + (cy - 6) + "L" + (x + 4 * s) + "," + cy + "L" + (x - 5 * s) +
          "," + (cy + 6) + "z" }, cls + " rg-cl-clamped");
      } else dot = sv("circle", { cx: x.toFixed(1), cy: cy, r: 5 }, cls);
      dot.setAttribute("data-ratio", String(r.ratio));
      g.appendChild(dot);
      text = estimate(r.ratio, r.ci_low, r.ci_high);
    } else if (isNum(r.ratio)) text = fmt(r.ratio) + " (not on a log axis)";
    if (r.note) text += " \u00b7 " + r.note;
    g.appendChild(svText(f.R + 12, cy + 4, clip(text, f.textChars), "rg-axis-tick rg-cl-value"));
    g.appendChild(svText(f.W - 4, cy + 4, fmt(r.p), "rg-axis-tick rg-cl-p", "end"));
    g.__info = [label + (r.key && r.key !== label ? " (" + r.key + ")" : "") + " \u00b7 " + name(r.level, "other") +
      " level",
      f.a + " (A) mean " + fmt(r.mean_a) + " \u00b7 " + f.b + " (B) mean " + fmt(r.mean_b),
      "ratio B/A " + estimate(r.ratio, r.ci_low, r.ci_high),
      "p = " + fmt(r.p) + (r.test ? " (" + r.test + ")" : "") + " \u00b7 n = " + fmt(r.n)];
    if (r.note) g.__info.push(String(r.note));
    return g;
  }

  function chevron(x, y, s) {
    return sv("path", { d: "M" + (x - 4 * s) + "," + (y - 4) + "L" + x + "," + y + "L" + (x - 4 * s) + "," + (y + 4) },
      "rg-cl-ci rg-cl-clip");
  }

  function part(label, x) {
    return label + " " + (x && typeof x === "object" ? estimate(x.value, x.ci_low, x.ci_high, x.p) : "n/a");
  }

  function summary(c) {
    var out = el("div", "rg-cl-summary"), s = c.summary || {};
    var erank = s.hidden_collapse_erank || s.hidden_collapse, dErank = s.difference_erank || s.difference;
    out.appendChild(el("p", "rg-cl-collapses", [part("Token-level collapse", s.token_collapse),
      part("hidden-level collapse within one trajectory (erank_window)", erank),
      part("across a prompt's samples (cosine spread)", s.hidden_collapse_spread)].join(" \u00b7 ")));
    out.appendChild(el("p", "rg-cl-differences", [part("Token minus hidden collapse: erank", dErank),
      part("spread", s.difference_spread)].join(" \u00b7 ")));
    out.appendChild(controlLine(s.control_share));
    var sat = saturationLine(c.saturation);
    if (sat) out.appendChild(sat);
    var cp = c.coupling || {}, groups = Object.keys(cp);
    if (groups.length) {
      var cn = c.coupling_n || {}, line = el("p", "rg-cl-coupling", "Coupling per group: ");
      groups.forEach(function (g, i) {
        if (i) line.appendChild(document.createTextNode(" \u00b7 "));
        line.appendChild(document.createTextNode(g + " " + fmt(cp[g])));
        if (isNum(cn[g])) {  // the traces behind the median; a visible flag under 5
          line.appendChild(document.createTextNode(" (n = " + fmt(cn[g]) + ")"));
          if (cn[g] < 5) {
            line.appendChild(document.createTextNode(" "));
            line.appendChild(el("span", "rg-flag rg-small-sample", "small sample (n = " + fmt(cn[g]) + " traces)"));
          }
        }
      });
      out.appendChild(line);
    }
    return out;
  }

  // each collapse as a share of a control group's range, (A - B) / (A - C); n/a without a control group
  function controlLine(cs) {
    var p = el("p", "rg-cl-control");
    if (!cs || typeof cs !== "object") {
      p.textContent = "Share of the control's range (A \u2212 B) / (A \u2212 C): n/a (no control group named)";
      return p;
    }
    p.textContent = "Share of the control's range (A \u2212 B) / (A \u2212 C), C = " + name(cs.group, "?") + ": " +
      [part("token", cs.token_collapse), part("erank", cs.hidden_collapse_erank),
        part("spread", cs.hidden_collapse_spread)].join(" \u00b7 ");
    return p;
  }

  // each group's token-relative spike rate; above 0.8 a visible flag: the rule can hardly fail there
  function saturationLine(sat) {
    if (!sat || typeof sat !== "object" || !Object.keys(sat).length) return null;
    var p = el("p", "rg-cl-saturation");
    p.appendChild(el("span", null, "Token-relative spike rate (steps that begin at a fork): "));
    Object.keys(sat).forEach(function (g, i) {
      var e = sat[g] && typeof sat[g] === "object" ? sat[g] : {};
      if (i) p.appendChild(el("span", null, " \u00b7 "));
      var span = el("span", "rg-cl-sat", g + " " + fmt(e.spike_rate));
      span.setAttribute("data-group", g);
      p.appendChild(span);
      if (e.near_saturated === true) {
        var flag = el("span", "rg-flag rg-near-saturated", "near-saturated");
        flag.setAttribute("title", "above 0.8: nearly every step spikes, so revisits without a spike are few by " +
          "construction; read the onset-relative rule beside it");
        p.appendChild(el("span", null, " "));
        p.appendChild(flag);
      }
    });
    return p;
  }

  RG._collapse = { panel: panel };
})();
