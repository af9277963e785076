/* reasongraph: the dataset report, window.ReasonGraph.renderReport(root, payload): the level-collapse figure,
 * the alignment of revisits with entropy spikes, detection ratio, per-group distributions, the detection ratio by
 * layer, the diversity of several samples per prompt, compare table, most cyclic traces.
 *
 * Needs common.js and the section scripts collapse.js, alignment.js, layers.js, diversity.js; embedded trace views
 * need view.js (and what it needs), used only through the public window.ReasonGraph.renderTrace. Data reaches the
 * page only through textContent / setAttribute, never innerHTML.
 */
(function () {
  "use strict";
  var RG = window.ReasonGraph;
  var C = RG._common, el = C.el, sv = C.sv, svText = C.svText, fmt = C.fmt, section = C.section, clip = C.clip;
  var groupColor = C.groupColor;

  RG.renderReport = function (root, data) {
    if (!root || !data) return;
    root.textContent = "";
    root.classList.add("rg-root", "rg-report");
    var view = new ReportView(root, data);
    root.__reasongraph = view;
    return view;
  };

  function ReportView(root, d) {
    this.root = root;
    this.d = d;
    this.tip = C.Tooltip(root);
    this.width = root.clientWidth || 1200;
    this.colorOf = colorOf(d.groups);
    this.header();
    if (d.collapse) RG._collapse.panel(root, d.collapse, this.width, this.tip);
    var al = Array.isArray(d.alignment) ? d.alignment : [];
    if (al.some(function (x) { return x && typeof x === "object"; })) RG._alignment.panel(root, d.groups, al);
    if (d.detection.some(function (x) { return x.n > 0; })) this.detectionPanel();
    if (d.distributions.length) this.distributionPanel();
    if (d.layers && typeof d.layers === "object") RG._layers.panel(root, d.layers, this.width, this.tip, this.colorOf);
    if (d.diversity && typeof d.diversity === "object") {
      RG._diversity.panel(root, d.diversity, this.width, this.tip, this.colorOf);
    }
    if (d.compare) this.comparePanel();
    if (d.top.rows.length) this.topPanel();
  }

  // a group's color by name: the report's groups by their index, any other group (a layer or diversity group
  // missing from the rows) the next free color
  function colorOf(groups) {
    var index = Object.create(null), n = 0;
    groups.forEach(function (g) { if (!(g in index)) index[g] = n++; });
    return function (g) {
      g = String(g);
      if (!(g in index)) index[g] = n++;
      return groupColor(index[g]);
    };
  }

  ReportView.prototype.header = function () {
    var d = this.d, h = el("header", "rg-header");
    h.appendChild(el("h1", null, d.title));
    var facts = [d.n_rows + " scored trace" + (d.n_rows === 1 ? "" : "s")];
    if (d.n_errors !== null && d.n_errors !== undefined) facts.push(d.n_errors + " not scored (errors.jsonl)");
    facts.push(d.groups.length + " group" + (d.groups.length === 1 ? "" : "s") + ": " +
      d.groups.map(function (g, i) { return g + " (" + d.group_sizes[i] + ")"; }).join(", "));
    if (d.run && d.run.k_chosen !== undefined) facts.push("K = " + d.run.k_chosen);
    h.appendChild(el("p", "rg-facts", facts.join(" \u00b7 ")));
    (Array.isArray(d.run && d.run.notes) ? d.run.notes : []).forEach(function (n) {
      h.appendChild(el("p", "rg-help rg-run-note", "Note: " + n));
    });
    h.appendChild(el("p", "rg-lead",
      "Each trace was run through the model; its steps were clustered into the nodes of a reasoning graph " +
      "(one clustering for the whole dataset). A revisit is a step that returns to an earlier node; loop count " +
      "and the detection ratio follow the Topology of Reasoning paper. Hidden-only events are revisits without " +
      "any token-entropy spike: exploration that token entropy does not show. Compare groups (for example a base " +
      "model and its RL-trained version): does a drop in token entropy come with fewer revisits or a lower " +
      "effective rank?"));
    var keys = Object.keys(d.run || {});
    if (keys.length) {
      var det = el("details", "rg-prompt");
      det.appendChild(el("summary", null, "Run options"));
      var tb = el("table", "rg-table rg-table-compact");
      keys.forEach(function (k) {
        var tr = el("tr");
        tr.appendChild(el("th", null, k));
        var v = d.run[k];
        tr.appendChild(el("td", null, typeof v === "object" && v !== null ? JSON.stringify(v) : fmt(v)));
        tb.appendChild(tr);
      });
      det.appendChild(tb);
      h.appendChild(det);
    }
    this.root.appendChild(h);
  };

  // ------------------------------------------------------------------------------------------ detection
  ReportView.prototype.detectionPanel = function () {
    var d = this.d, self = this;
    var panel = section(this.root, "rg-detection-panel", "Detection ratio",
      "Share of traces whose reasoning graph has a cycle (a node revisited after another node in between), " +
      "with a 95% Wilson interval.");
    var rowH = 26, R = 110, W = Math.max(500, this.width - 60), H = d.groups.length * rowH + 26;
    var L = Math.min(260, 20 + 7 * Math.max.apply(null, d.groups.map(function (g) { return Math.min(g.length, 34); })));
    var svg = sv("svg", { viewBox: "0 0 " + W + " " + H, role: "img" }, "rg-dist");
    svg.setAttribute("aria-label", "detection ratio per group");
    var X = function (p) { return L + (W - L - R) * p; };
    [0, 0.25, 0.5, 0.75, 1].forEach(function (p) {
      svg.appendChild(sv("line", { x1: X(p), x2: X(p), y1: 4, y2: H - 18 }, "rg-grid"));
      svg.appendChild(svText(X(p), H - 4, Math.round(p * 100) + "%", "rg-axis-tick", "middle"));
    });
    d.detection.forEach(function (x, i) {
      var y = 6 + i * rowH;
      svg.appendChild(svText(L - 8, y + 15, clip(d.groups[i], 34), "rg-group-label", "end"));
      if (x.ratio === null) return;
      var bar = sv("rect", { x: L, y: y + 4, width: Math.max(0.5, X(x.ratio) - L), height: rowH - 10 }, "rg-bar");
      bar.style.fill = groupColor(i);
      svg.appendChild(bar);
      if (x.lo !== null) svg.appendChild(sv("line", { x1: X(x.lo), x2: X(x.hi), y1: y + rowH / 2 - 1, y2: y + rowH / 2 - 1 }, "rg-ci"));
      svg.appendChild(svText(W - R + 6, y + 15, fmt(100 * x.ratio) + "%  (" + x.k + "/" + x.n + ")", "rg-axis-tick"));
      bar.addEventListener("mousemove", function (ev) {
        self.tip.show([d.groups[i], x.k + " of " + x.n + " traces have a cycle",
          "95% interval " + fmt(100 * x.lo) + "% \u2013 " + fmt(100 * x.hi) + "%"], ev.clientX, ev.clientY);
      });
      bar.addEventListener("mouseleave", function () { self.tip.hide(); });
    });
    panel.appendChild(svg);
  };

  // ------------------------------------------------------------------------------------------ distributions
  ReportView.prototype.distributionPanel = function () {
    var d = this.d, self = this;
    var panel = section(this.root, "rg-dist-panel", "Distributions per group",
      "One dot per trace (hover for its id). Box: middle half of the traces; thick line: median; diamond: mean; " +
      "whiskers: minimum to maximum.");
    var grid = el("div", "rg-dist-grid");
    // as many columns of at least 480 px as fit; each plot is drawn at its column's pixel width
    var cols = Math.max(1, Math.min(3, Math.floor((this.width - 40) / 480)));
    grid.style.gridTemplateColumns = "repeat(" + cols + ", minmax(0, 1fr))";
    this.plotW = Math.max(360, Math.floor((this.width - 60 - 18 * (cols - 1)) / cols));
    panel.appendChild(grid);
    d.distributions.forEach(function (m) {
      var card = el("div", "rg-dist-card");
      card.setAttribute("data-metric", m.key);
      card.appendChild(el("h3", null, m.label));
      card.appendChild(el("p", "rg-help", m.help));
      card.appendChild(self.boxPlot(m));
      grid.appendChild(card);
    });
  };

  function niceTicks(lo, hi, n) {
    if (!(hi > lo)) return [lo];
    var step = Math.pow(10, Math.floor(Math.log10((hi - lo) / n))), err = (hi - lo) / n / step;
    if (err >= 7.5) step *= 10; else if (err >= 3.5) step *= 5; else if (err >= 1.5) step *= 2;
    var out = [];
    for (var v = Math.ceil(lo / step) * step; v <= hi + 1e-9 * step; v += step) out.push(+v.toPrecision(12));
    return out;
  }

  ReportView.prototype.boxPlot = function (m) {
    var d = this.d, self = this;
    var rowH = 44, L = 8, R = 14, W = this.plotW || 520, H = d.groups.length * rowH + 24;
    var svg = sv("svg", { viewBox: "0 0 " + W + " " + H, role: "img" }, "rg-dist");
    svg.setAttribute("aria-label", m.label + " per group");
    var lo = Infinity, hi = -Infinity;
    m.groups.forEach(function (g) { if (g.n) { lo = Math.min(lo, g.min); hi = Math.max(hi, g.max); } });
    if (!(hi > lo)) { hi = lo + 1; lo = lo - 1; }
    var pad = (hi - lo) * 0.04;
    lo -= pad; hi += pad;
    var X = function (v) { return L + (W - L - R) * (v - lo) / (hi - lo); };
    niceTicks(lo, hi, 5).forEach(function (t) {
      svg.appendChild(sv("line", { x1: X(t), x2: X(t), y1: 2, y2: H - 18 }, "rg-grid"));
      svg.appendChild(svText(X(t), H - 4, fmt(t), "rg-axis-tick", "middle"));
    });
    m.groups.forEach(function (g, i) {
      var y = 4 + i * rowH, cy = y + 27;
      var lab = svText(L, y + 10, clip(d.groups[i], 40), "rg-group-label");
      lab.style.fill = groupColor(i);
      svg.appendChild(lab);
      if (!g.n) { svg.appendChild(svText(L + 4, cy + 4, "no values", "rg-muted-svg")); return; }
      svg.appendChild(sv("line", { x1: X(g.min), x2: X(g.max), y1: cy, y2: cy }, "rg-whisker"));
      svg.appendChild(sv("rect", { x: X(g.q1), y: cy - 9, width: Math.max(1, X(g.q3) - X(g.q1)), height: 18 }, "rg-box"));
      svg.appendChild(sv("line", { x1: X(g.median), x2: X(g.median), y1: cy - 10, y2: cy + 10 }, "rg-median"));
      var dots = sv("g", null, "rg-dots");
      g.values.forEach(function (v, j) {
        // deterministic jitter (golden-ratio sequence) so dots with equal values stay visible
        var jy = cy + ((j * 0.618034) % 1 - 0.5) * 18;
        var c = sv("circle", { cx: X(v).toFixed(1), cy: jy.toFixed(1), r: 2.6 }, "rg-dot");
        c.style.fill = groupColor(i);
        c.__info = [g.ids[j] === null ? "(no id)" : "id " + g.ids[j], d.groups[i] + " \u00b7 " + m.label + " = " + fmt(v)];
        dots.appendChild(c);
      });
      svg.appendChild(dots);
      var mx = X(g.mean);
      svg.appendChild(sv("path", { d: "M" + mx + "," + (cy - 6) + "l5,6l-5,6l-5,-6z" }, "rg-mean"));
      svg.appendChild(svText(W - R, y + 9, "n=" + g.n + " \u00b7 median " + fmt(g.median) + " \u00b7 mean " + fmt(g.mean), "rg-axis-tick", "end"));
    });
    svg.addEventListener("mousemove", function (ev) {
      if (ev.target.__info) self.tip.show(ev.target.__info, ev.clientX, ev.clientY); else self.tip.hide();
    });
    svg.addEventListener("mouseleave", function () { self.tip.hide(); });
    return svg;
  };

  // ------------------------------------------------------------------------------------------ compare
  ReportView.prototype.comparePanel = function () {
    var c = this.d.compare;
    var panel = section(this.root, "rg-compare-panel", c.title || "Comparison", c.help || null);
    var facts = Object.keys(c.facts || {});
    if (facts.length) {
      panel.appendChild(el("p", "rg-facts", facts.map(function (k) { return k + ": " + fmt(c.facts[k]); }).join(" \u00b7 ")));
    }
    var wrap = el("div", "rg-scroll"), tb = el("table", "rg-table rg-compare");
    var head = el("tr");
    c.columns.forEach(function (col) { head.appendChild(el("th", "rg-colhead", col)); });
    tb.appendChild(head);
    var pcol = c.columns.indexOf(c.p_column);
    c.rows.forEach(function (r) {
      var tr = el("tr");
      if (pcol >= 0 && typeof r[pcol] === "number" && r[pcol] < 0.05) tr.className = "rg-significant";
      r.forEach(function (v, j) { tr.appendChild(el("td", typeof v === "number" ? "rg-num" : null, fmt(v))); });
      tb.appendChild(tr);
    });
    wrap.appendChild(tb);
    panel.appendChild(wrap);
    if (pcol >= 0) panel.appendChild(el("p", "rg-help", "Rows in bold: p < 0.05 (not corrected for the number of metrics)."));
  };

  // ------------------------------------------------------------------------------------------ top traces
  ReportView.prototype.topPanel = function () {
    var d = this.d, self = this, t = d.top;
    var panel = section(this.root, "rg-top-panel", "Most cyclic traces",
      "Ranked by loop count, then revisit events. Open one to see its reasoning graph and text.");
    var wrap = el("div", "rg-scroll"), tb = el("table", "rg-table rg-top");
    var head = el("tr");
    // the catalogue's labels, its help as the tooltip (a payload saved before labels existed shows the keys)
    var labels = Array.isArray(t.labels) && t.labels.length === t.columns.length ? t.labels : t.columns;
    var helps = Array.isArray(t.help) ? t.help : [];
    ["#", "id", "group"].forEach(function (c) { head.appendChild(el("th", "rg-colhead", c)); });
    labels.forEach(function (c, i) {
      var th = el("th", "rg-colhead", c);
      if (typeof helps[i] === "string") th.title = helps[i];
      head.appendChild(th);
    });
    head.appendChild(el("th", "rg-colhead", "view"));
    tb.appendChild(head);
    var embeds = el("div", "rg-embeds");
    t.rows.forEach(function (r, i) {
      var tr = el("tr");
      tr.appendChild(el("td", "rg-num", i + 1));
      tr.appendChild(el("td", null, r.id === null ? "(no id)" : r.id));
      tr.appendChild(el("td", null, r.group));
      r.values.forEach(function (v) { tr.appendChild(el("td", "rg-num", fmt(v))); });
      var cell = el("td");
      if (r.href && /^(https?:|file:|[^:\/?#]*([\/?#]|$))/i.test(r.href)) {
        var a = el("a", null, "page");
        a.setAttribute("href", r.href);
        cell.appendChild(a);
      }
      if (r.embed !== null && d.embeds[r.embed]) {
        var emb = self.embed(r, i);
        embeds.appendChild(emb.details);
        var b = el("button", null, "show below");
        b.addEventListener("click", emb.show);
        cell.appendChild(b);
      }
      tr.appendChild(cell);
      tb.appendChild(tr);
    });
    wrap.appendChild(tb);
    panel.appendChild(wrap);
    panel.appendChild(embeds);
  };

  // A collapsed trace view, drawn the first time it opens. show() draws at once: the details' "toggle" event
  // comes a task later, and a caller that just clicked should find the view there.
  ReportView.prototype.embed = function (r, i) {
    var d = this.d, det = el("details", "rg-embed"), drawn = false;
    det.appendChild(el("summary", null, "#" + (i + 1) + " \u00b7 " + (r.id === null ? "(no id)" : r.id) + " \u00b7 " + r.group));
    var holder = el("div");
    holder.id = (this.root.id || "rg") + "-embed-" + i;
    det.appendChild(holder);
    function draw() {
      if (!drawn) { drawn = true; RG.renderTrace(holder, d.embeds[r.embed]); }
    }
    det.addEventListener("toggle", function () { if (det.open) draw(); });
    return {
      details: det,
      show: function () { draw(); det.open = true; det.scrollIntoView({ block: "start" }); }
    };
  };
})();
