/* reasongraph: the diversity section of the dataset report, for prompts sampled several times: per group the mean
 * (with its 95% bootstrap interval over prompts) of each diversity measure, and for each group's most and least
 * diverse prompt its samples' walks side by side, one row per sample and one colored cell per step.
 *
 * Needs common.js. RG._diversity.panel(parent, dv, width, tip, colorOf) draws the report payload's "diversity":
 *   { metrics: [{key, label}], groups: {group: {metric key: {mean, median, ci_low, ci_high, n}}},
 *     extremes: [{group, label, prompt, walk_distance, distinct_walk_share, ids: [...], walks: [[node per step]]}] }
 * A cell's color is a function of its node (cluster id) alone, so one node has one color in the whole section;
 * negative ids (noise, in no node) are gray. Rows longer than MAX_STEPS show their first MAX_STEPS steps and say
 * how many more there are.
 */
(function () {
  "use strict";
  var RG = window.ReasonGraph;
  var C = RG._common, el = C.el, sv = C.sv, fmt = C.fmt, clip = C.clip;
  var MAX_STEPS = 600, LABEL_W = 130, MORE_W = 130, CELL_MAX = 12, CELL_H = 14, NOISE = "#dee2e6";

  function list(v) { return Array.isArray(v) ? v : []; }
  function obj(v) { return v && typeof v === "object" && !Array.isArray(v) ? v : {}; }
  function text(v, fallback) { return v === null || v === undefined || v === "" ? fallback : String(v); }

  // a node's color: golden-angle hues, three lightnesses, so neighbouring ids differ
  function nodeColor(id) {
    if (typeof id !== "number" || !isFinite(id) || id < 0) return NOISE;
    return "hsl(" + ((id * 137.508) % 360).toFixed(1) + ", 65%, " + [42, 58, 72][id % 3] + "%)";
  }

  function panel(parent, dv, width, tip, colorOf) {
    var box = C.section(parent, "rg-diversity-panel", "Diversity of several samples per prompt",
      "How differently the samples of one prompt reason. Distinct walk share: distinct walks (node sequences, " +
      "repeats collapsed) over samples; walk distance: mean pairwise edit distance between the walks, over the " +
      "longer length; node coverage: distinct nodes visited over K; distinct 3-gram share: the same question " +
      "asked of the words. Inside the model, over each sample's mean hidden state of its first M tokens (M the " +
      "prompt's shortest response in every group): cosine spread, the mean pairwise 1 \u2212 cos (the hidden " +
      "analogue of policy entropy); cross-sample variance (quadratic: 0.4\u00d7 is 0.63\u00d7 in standard " +
      "deviation); node entropy of the pooled node visits, nats, beside its cap ln(min(K, visits)); node " +
      "information, its part that differs between samples. Mean over prompts, with its 95% bootstrap interval.");
    var extremes = list(dv.extremes).filter(function (e) { return e && typeof e === "object"; });
    if (!Object.keys(obj(dv.groups)).length && !extremes.length) {
      box.appendChild(el("p", "rg-muted", "No prompts with several samples."));
      return box;
    }
    box.appendChild(table(list(dv.metrics), obj(dv.groups), colorOf));
    if (extremes.length) {
      box.appendChild(el("p", "rg-help", "Below, each group's most and least diverse prompt (by walk distance): " +
        "one row per sample, one cell per step, colored by its node (one node, one color, in this whole " +
        "section; gray: a step in no node). Hover a cell for its step and node."));
      var avail = Math.max(200, Math.round(width - 60 - 24 - LABEL_W));
      extremes.forEach(function (e) { box.appendChild(extreme(e, avail, tip, colorOf)); });
    }
    return box;
  }

  function table(metrics, groups, colorOf) {
    var wrap = el("div", "rg-scroll"), tb = el("table", "rg-table rg-diversity");
    var head = el("tr");
    head.appendChild(el("th", "rg-colhead", "group"));
    head.appendChild(el("th", "rg-colhead", "prompts"));
    metrics.forEach(function (m) {
      head.appendChild(el("th", "rg-colhead", text(obj(m).label, text(obj(m).key, "?"))));
    });
    tb.appendChild(head);
    Object.keys(groups).forEach(function (g) {
      var tr = el("tr", "rg-dv-row-group"), per = obj(groups[g]), n = null;
      tr.setAttribute("data-group", g);
      var th = el("th", null, g);
      th.style.color = colorOf(g);
      tr.appendChild(th);
      var count = el("td", "rg-num");
      tr.appendChild(count);
      metrics.forEach(function (m) {
        var s = obj(per[obj(m).key]);
        if (C.isNum(s.n)) n = Math.max(n === null ? 0 : n, s.n);
        var td = el("td", "rg-num", C.estimate(s.mean, s.ci_low, s.ci_high));
        td.setAttribute("data-metric", text(obj(m).key, ""));
        td.setAttribute("title", "mean over " + fmt(s.n) + " prompts; median " + fmt(s.median));
        tr.appendChild(td);
      });
      count.textContent = fmt(n);
      tb.appendChild(tr);
    });
    wrap.appendChild(tb);
    return wrap;
  }

  function extreme(e, avail, tip, colorOf) {
    var walks = list(e.walks).map(list), ids = list(e.ids), group = text(e.group, "?");
    var fig = el("figure", "rg-dv-extreme");
    fig.setAttribute("data-group", group);
    fig.setAttribute("data-label", text(e.label, ""));
    var cap = el("figcaption");
    var lab = el("strong", null, text(e.label, "prompt"));
    lab.style.color = colorOf(group);
    cap.appendChild(lab);
    var prompt = text(e.prompt, "(no prompt id)");
    var p = el("span", "rg-dv-prompt", clip(prompt, 160));
    p.setAttribute("title", prompt);
    cap.appendChild(el("span", null, " \u00b7 group " + group + " \u00b7 prompt "));
    cap.appendChild(p);
    cap.appendChild(el("span", null, " \u00b7 walk distance " + fmt(e.walk_distance) + " \u00b7 distinct walk share " +
      fmt(e.distinct_walk_share) + " \u00b7 " + walks.length + " sample" + (walks.length === 1 ? "" : "s")));
    fig.appendChild(cap);
    var longest = 0, capped = false;
    walks.forEach(function (w) {
      longest = Math.max(longest, Math.min(MAX_STEPS, w.length));
      capped = capped || w.length > MAX_STEPS;
    });
    // room for the "... n more steps" note beside a capped row
    var cell = Math.min(CELL_MAX, Math.max(100, avail - (capped ? MORE_W : 0)) / Math.max(1, longest));
    walks.forEach(function (w, i) {
      fig.appendChild(sampleRow(w, text(ids[i], "sample " + (i + 1)), cell));
    });
    fig.addEventListener("mousemove", function (ev) {
      var t = ev.target, step = t.getAttribute ? t.getAttribute("data-step") : null;
      if (step === null) { tip.hide(); return; }
      tip.show(["step " + step + " \u00b7 node " + t.getAttribute("data-node"), "sample " + t.parentNode.__sample],
        ev.clientX, ev.clientY);
    });
    fig.addEventListener("mouseleave", function () { tip.hide(); });
    return fig;
  }

  function sampleRow(walk, name, cell) {
    var row = el("div", "rg-dv-row"), shown = Math.min(MAX_STEPS, walk.length);
    var label = el("span", "rg-dv-sample", clip(name, 20));
    label.setAttribute("title", name);
    label.style.width = LABEL_W + "px";
    row.appendChild(label);
    if (!shown) { row.appendChild(el("span", "rg-muted", "no steps")); return row; }
    var gap = cell >= 4 ? 1 : 0, w = Math.max(0.5, cell - gap);
    var svg = sv("svg", { width: (cell * shown).toFixed(1), height: CELL_H, role: "img" }, "rg-dv-walk");
    svg.setAttribute("aria-label", "walk of " + name + ": " + walk.length + " steps");
    svg.__sample = name;
    for (var i = 0; i < shown; i++) {
      var node = walk[i];
      var r = sv("rect", { x: (i * cell).toFixed(2), y: 0, width: w.toFixed(2), height: CELL_H }, "rg-dv-cell");
      r.setAttribute("data-step", String(i));
      r.setAttribute("data-node", typeof node === "number" && node < 0 ? "none (noise)" : fmt(node));
      r.style.fill = nodeColor(node);
      svg.appendChild(r);
    }
    row.appendChild(svg);
    if (walk.length > shown) {
      row.appendChild(el("span", "rg-dv-more", "\u2026 " + (walk.length - shown) + " more steps"));
    }
    return row;
  }

  RG._diversity = { panel: panel };
})();
