/* reasongraph: the interactive view of one reasoning trace.
 *
 * Draws a payload built by reasongraph.html.payload (graph with a precomputed layout, token strip, curves,
 * metrics) into one root element. Data reaches the page only through textContent / createTextNode /
 * setAttribute, never innerHTML, so trace text can never become markup. Everything is scoped to the root
 * element (no document-level ids), so several views can live in one notebook or report.
 */
(function () {
  "use strict";
  var RG = (window.ReasonGraph = window.ReasonGraph || {});
  var SVGNS = "http://www.w3.org/2000/svg";

  // entropy classes: the same colors in the text strip, the graph nodes and the legends
  var BIN_COLORS = ["#ffffff", "#fff3bf", "#ffe066", "#ffc078", "#ffa94d", "#ff8787", "#f03e3e", "#c92a2a",
    "#7d1a1a"];

  // ------------------------------------------------------------------------------------------ helpers
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

  RG._TraceView = TraceView;
  RG._util = { el: el, sv: sv, svText: svText, fmt: fmt, binLabels: binLabels, section: section,
    extent: extent, Tooltip: Tooltip, BIN_COLORS: BIN_COLORS };

  // ------------------------------------------------------------------------------------------ view
  RG.renderTrace = function (root, data) {
    if (!root || !data) return;
    root.textContent = "";
    root.classList.add("rg-root", "rg-trace");
    // SVG marker ids derive from the root id; it must be unique in the document
    if (!root.id) root.id = "rg-" + Math.random().toString(36).slice(2, 12);
    var view = new TraceView(root, data);
    root.__reasongraph = view;
    return view;
  };

  function TraceView(root, d) {
    this.root = root;
    this.d = d;
    this.width = root.clientWidth || 1200; // read before the page grows: later reads would force a full layout
    this.tip = Tooltip(root);
    this.nodeById = {};
    this.nodeEls = {};
    this.stepEls = [];
    this.edgeEls = [];
    this.lit = [];
    this.pinned = null;
    for (var i = 0; i < d.nodes.length; i++) this.nodeById[String(d.nodes[i].id)] = d.nodes[i];
    // token_spans holds [gap, length] per token; offsets: [start, end] per token
    var ts = d.token_spans, off = new Int32Array(ts.length), pos = 0;
    for (var t = 0; t < ts.length; t += 2) { off[t] = pos + ts[t]; off[t + 1] = off[t] + ts[t + 1]; pos = off[t + 1]; }
    this.offsets = off;
    this.header();
    var main = el("div", "rg-main");
    root.appendChild(main);
    this.graphPanel(main);
    this.textPanel(main);
    this.curvesPanel();
    this.metricsPanel();
    this.helpPanel();
  }

  TraceView.prototype.header = function () {
    var d = this.d, h = el("header", "rg-header");
    h.appendChild(el("h1", null, d.title || "reasongraph"));
    var facts = [];
    if (d.model) facts.push("model " + d.model);
    facts.push(d.n_tokens + " tokens", d.steps.length + " steps", d.nodes.length + " nodes");
    var nRev = 0, nHid = 0;
    for (var i = 0; i < d.steps.length; i++) { if (d.steps[i].revisit) nRev++; if (d.steps[i].hidden_only) nHid++; }
    facts.push(nRev + " revisits", nHid + " hidden-only");
    h.appendChild(el("p", "rg-facts", facts.join(" \u00b7 ")));
    h.appendChild(el("p", "rg-lead",
      "Each step (a line of the reasoning) becomes a point in the model's hidden-state space; similar steps share " +
      "a node. The graph shows the walk from step to step: a revisit is a step that returns to an earlier node " +
      "(purple cycles). Colors show token entropy, the model's uncertainty about each next token. Hidden-only " +
      "events are revisits without any entropy spike: the hidden states turned back, token entropy did not show it. " +
      "Hover or click a node or a line of text to link them."));
    if (d.prompt !== null && d.prompt !== undefined && d.prompt !== "") {
      var det = el("details", "rg-prompt");
      det.appendChild(el("summary", null, "Prompt (" + d.prompt.length + " characters)"));
      det.appendChild(el("pre", null, d.prompt));
      h.appendChild(det);
    }
    this.root.appendChild(h);
  };

  // ------------------------------------------------------------------------------------------ graph
  TraceView.prototype.graphPanel = function (main) {
    var self = this, d = this.d;
    var panel = section(main, "rg-graph-panel", "Reasoning graph",
      "Nodes: clusters of steps' hidden states. Arrows: consecutive steps. Drag to pan, scroll to zoom, " +
      "double-click to reset.");
    var bar = el("div", "rg-toolbar");
    var bIn = el("button", null, "+"), bOut = el("button", null, "\u2212"), bReset = el("button", null, "reset");
    bIn.title = "zoom in"; bOut.title = "zoom out"; bReset.title = "reset the view";
    bar.appendChild(bIn); bar.appendChild(bOut); bar.appendChild(bReset);
    panel.appendChild(bar);
    var W = 600, H = 600, M = 36;
    var svg = sv("svg", { viewBox: "0 0 " + W + " " + H, role: "img" }, "rg-graph");
    svg.setAttribute("aria-label", "reasoning graph with " + d.nodes.length + " nodes");
    var defs = sv("defs");
    var mk = this.root.id + "-";
    defs.appendChild(arrow(mk + "arrow", "#868e96"));
    defs.appendChild(arrow(mk + "arrow-cyc", "#b692d0"));
    defs.appendChild(arrow(mk + "arrow-ret", "#862e9c"));
    defs.appendChild(arrow(mk + "arrow-hl", "#1971c2"));
    svg.appendChild(defs);
    var bg = sv("rect", { x: 0, y: 0, width: W, height: H, fill: "transparent" }, "rg-graph-bg");
    svg.appendChild(bg);
    var vp = sv("g", null, "rg-viewport");
    svg.appendChild(vp);
    panel.appendChild(svg);
    this.svg = svg;

    if (!d.nodes.length) {
      vp.appendChild(svText(W / 2, H / 2, "no nodes: every step was dropped from the walk", "rg-empty", "middle"));
    }
    var maxVisits = 1, maxCount = 1, i;
    for (i = 0; i < d.nodes.length; i++) maxVisits = Math.max(maxVisits, d.nodes[i].visits);
    for (i = 0; i < d.edges.length; i++) maxCount = Math.max(maxCount, d.edges[i].count);
    function radius(n) { return 5 + 13 * Math.sqrt(n.visits / maxVisits); }
    function px(n) { return [M + n.x * (W - 2 * M), M + n.y * (H - 2 * M)]; }
    this.edgeWidth = function (e) { return 1 + 4 * Math.sqrt((e.count - 1) / Math.max(1, maxCount - 1)); };

    var gEdges = sv("g", null, "rg-edges"), gNodes = sv("g", null, "rg-nodes");
    vp.appendChild(gEdges); vp.appendChild(gNodes);
    // plain edges first, then edges on a revisit cycle, then the edges that close a revisit, on top
    function tier(e) { return e.returns > 0 ? 2 : e.cycle ? 1 : 0; }
    var order = d.edges.map(function (e, k) { return k; });
    order.sort(function (a, b) { return tier(d.edges[a]) - tier(d.edges[b]) || a - b; });
    this.edgeByKey = {};
    order.forEach(function (k) {
      var e = d.edges[k], s = self.nodeById[String(e.source)], t = self.nodeById[String(e.target)];
      if (!s || !t) return;
      var p = px(s), q = px(t), dx = q[0] - p[0], dy = q[1] - p[1], len = Math.sqrt(dx * dx + dy * dy) || 1;
      var ux = dx / len, uy = dy / len;
      var a = [p[0] + ux * (radius(s) + 1), p[1] + uy * (radius(s) + 1)];
      var b = [q[0] - ux * (radius(t) + 2), q[1] - uy * (radius(t) + 2)];
      var bend = 0.15 * len, c = [(a[0] + b[0]) / 2 - uy * bend, (a[1] + b[1]) / 2 + ux * bend];
      var path = sv("path", { d: "M" + a[0].toFixed(1) + "," + a[1].toFixed(1) + "Q" + c[0].toFixed(1) + "," +
        c[1].toFixed(1) + " " + b[0].toFixed(1) + "," + b[1].toFixed(1) },
        "rg-edge" + ["", " rg-cycle", " rg-return"][tier(e)]);
      path.setAttribute("stroke-width", self.edgeWidth(e).toFixed(2));
      path.__edge = e;
      path.__marker = mk + ["arrow", "arrow-cyc", "arrow-ret"][tier(e)];
      path.setAttribute("marker-end", "url(#" + path.__marker + ")");
      self.edgeEls.push(path);
      self.edgeByKey[String(e.source) + "\u2192" + String(e.target)] = path;
      gEdges.appendChild(path);
    });
    var showLabels = d.nodes.length <= 60;
    d.nodes.forEach(function (n) {
      var p = px(n), g = sv("g", { transform: "translate(" + p[0].toFixed(1) + "," + p[1].toFixed(1) + ")",
        tabindex: "0" }, "rg-node" + (n.runs > 1 ? " rg-revisited" : ""));
      g.setAttribute("data-node-id", String(n.id));
      var c = sv("circle", { r: radius(n).toFixed(1), fill: n.bin >= 0 ? BIN_COLORS[n.bin] : "#dee2e6" });
      g.appendChild(c);
      if (showLabels || n.visits >= 3) {
        var lab = svText(0, 3.2, n.id, "rg-node-label" + (n.bin >= 6 ? " rg-on-dark" : ""), "middle");
        g.appendChild(lab);
      }
      g.__node = n;
      self.nodeEls[String(n.id)] = g;
      gNodes.appendChild(g);
    });

    function arrow(id, color) {
      var m = sv("marker", { id: id, viewBox: "0 0 10 10", refX: "9", refY: "5", markerWidth: "7",
        markerHeight: "7", orient: "auto", markerUnits: "userSpaceOnUse" });
      m.appendChild(sv("path", { d: "M0,1 L10,5 L0,9 z", fill: color }));
      return m;
    }

    // hover and click on nodes and edges (event delegation)
    svg.addEventListener("mouseover", function (ev) {
      var g = ev.target.closest ? ev.target.closest("[data-node-id]") : null;
      if (g && g.__node) { self.preview({ node: String(g.__node.id) }); self.nodeTip(g.__node, ev); return; }
      if (ev.target.__edge) { self.edgeTip(ev.target.__edge, ev); }
    });
    svg.addEventListener("mousemove", function (ev) {
      var g = ev.target.closest ? ev.target.closest("[data-node-id]") : null;
      if (g && g.__node) self.nodeTip(g.__node, ev);
      else if (ev.target.__edge) self.edgeTip(ev.target.__edge, ev);
    });
    svg.addEventListener("mouseout", function (ev) {
      var g = ev.target.closest ? ev.target.closest("[data-node-id]") : null;
      if (g || ev.target.__edge) { self.tip.hide(); self.preview(null); }
    });
    svg.addEventListener("focusin", function (ev) {
      var g = ev.target.closest ? ev.target.closest("[data-node-id]") : null;
      if (g && g.__node) self.preview({ node: String(g.__node.id) });
    });
    svg.addEventListener("focusout", function () { self.preview(null); });
    svg.addEventListener("keydown", function (ev) {
      var g = ev.target.closest ? ev.target.closest("[data-node-id]") : null;
      if (g && g.__node && (ev.key === "Enter" || ev.key === " ")) { ev.preventDefault(); self.pinNode(g.__node); }
    });
    this.panZoom(svg, vp, bg, W, H, bIn, bOut, bReset, function (ev) {
      var g = ev.target.closest ? ev.target.closest("[data-node-id]") : null;
      if (g && g.__node) self.pinNode(g.__node, true);
      else self.pin(null);
    });
    panel.appendChild(this.graphLegend(maxVisits, maxCount));
  };

  TraceView.prototype.panZoom = function (svg, vp, bg, W, H, bIn, bOut, bReset, onClick) {
    var k = 1, tx = 0, ty = 0, drag = null;
    function apply() { vp.setAttribute("transform", "translate(" + tx.toFixed(2) + "," + ty.toFixed(2) + ") scale(" + k.toFixed(4) + ")"); }
    function toSvg(ev) {
      var r = svg.getBoundingClientRect();
      return [(ev.clientX - r.left) * W / r.width, (ev.clientY - r.top) * H / r.height];
    }
    function zoomAt(f, cx, cy) {
      var nk = Math.max(0.3, Math.min(12, k * f));
      f = nk / k;
      tx = cx - (cx - tx) * f; ty = cy - (cy - ty) * f; k = nk;
      apply();
    }
    svg.addEventListener("wheel", function (ev) {
      ev.preventDefault();
      var p = toSvg(ev);
      zoomAt(Math.exp(-ev.deltaY * 0.0015), p[0], p[1]);
    }, { passive: false });
    svg.addEventListener("pointerdown", function (ev) {
      if (ev.button !== 0) return;
      drag = { x: ev.clientX, y: ev.clientY, tx: tx, ty: ty, moved: false };
    });
    svg.addEventListener("pointermove", function (ev) {
      if (!drag) return;
      var r = svg.getBoundingClientRect();
      var dx = (ev.clientX - drag.x) * W / r.width, dy = (ev.clientY - drag.y) * H / r.height;
      if (!drag.moved && Math.abs(dx) + Math.abs(dy) < 4) return;
      if (!drag.moved) { drag.moved = true; try { svg.setPointerCapture(ev.pointerId); } catch (e) { /* ignore */ } }
      tx = drag.tx + dx; ty = drag.ty + dy;
      svg.classList.add("rg-dragging");
      apply();
    });
    function end(ev) {
      if (!drag) return;
      var moved = drag.moved;
      drag = null;
      svg.classList.remove("rg-dragging");
      if (!moved && ev.type === "pointerup") onClick(ev);
    }
    svg.addEventListener("pointerup", end);
    svg.addEventListener("pointercancel", end);
    svg.addEventListener("dblclick", function (ev) { ev.preventDefault(); k = 1; tx = 0; ty = 0; apply(); });
    bIn.addEventListener("click", function () { zoomAt(1.4, W / 2, H / 2); });
    bOut.addEventListener("click", function () { zoomAt(1 / 1.4, W / 2, H / 2); });
    bReset.addEventListener("click", function () { k = 1; tx = 0; ty = 0; apply(); });
  };

  TraceView.prototype.graphLegend = function (maxVisits, maxCount) {
    var d = this.d, self = this, box = el("div", "rg-legend rg-graph-legend");
    function icon(w, h) { return sv("svg", { width: w, height: h, viewBox: "0 0 " + w + " " + h }, "rg-leg-icon"); }
    function item(parent, svg, text) {
      var row = el("div", "rg-leg-item");
      row.appendChild(svg);
      row.appendChild(el("span", null, text));
      parent.appendChild(row);
    }
    // node size
    var b1 = el("div", "rg-leg-block");
    b1.appendChild(el("div", "rg-leg-title", "Node size = steps in the node"));
    var sizes = [1, Math.max(1, Math.round(maxVisits / 2)), maxVisits].filter(function (v, i, a) { return a.indexOf(v) === i; });
    var row = el("div", "rg-leg-sizes");
    sizes.forEach(function (v) {
      var r = 5 + 13 * Math.sqrt(v / maxVisits), s = icon(2 * r + 2, 2 * r + 2);
      s.appendChild(sv("circle", { cx: r + 1, cy: r + 1, r: r }, "rg-leg-node"));
      var cell = el("span", "rg-leg-size");
      cell.appendChild(s);
      cell.appendChild(el("span", null, String(v)));
      row.appendChild(cell);
    });
    b1.appendChild(row);
    var ring = icon(18, 18);
    ring.appendChild(sv("circle", { cx: 9, cy: 9, r: 6.5 }, "rg-leg-node rg-leg-revisited"));
    item(b1, ring, "purple ring: entered more than once");
    box.appendChild(b1);
    // edges
    var b2 = el("div", "rg-leg-block");
    b2.appendChild(el("div", "rg-leg-title", "Arrow = from one step to the next"));
    [1, maxCount].filter(function (v, i, a) { return a.indexOf(v) === i; }).forEach(function (c) {
      var s = icon(40, 12);
      s.appendChild(sv("line", { x1: 2, y1: 6, x2: 38, y2: 6, "stroke-width": self.edgeWidth({ count: c }) }, "rg-leg-edge"));
      item(b2, s, c + " transition" + (c === 1 ? "" : "s"));
    });
    var cyc = icon(40, 12);
    cyc.appendChild(sv("line", { x1: 2, y1: 6, x2: 38, y2: 6, "stroke-width": 2.5 }, "rg-leg-edge rg-leg-cycle"));
    item(b2, cyc, "on a revisit cycle");
    var ret = icon(40, 12);
    ret.appendChild(sv("line", { x1: 2, y1: 6, x2: 38, y2: 6, "stroke-width": 2.5 }, "rg-leg-edge rg-leg-return"));
    item(b2, ret, "closes a cycle: back to an earlier node");
    box.appendChild(b2);
    // color
    var b3 = el("div", "rg-leg-block");
    b3.appendChild(el("div", "rg-leg-title", "Node color = mean token entropy (nats)"));
    var bar = el("div", "rg-leg-bar"), labels = binLabels(d.bins);
    for (var i = 0; i < BIN_COLORS.length; i++) {
      var sw = el("span", "rg-leg-swatch");
      sw.style.background = BIN_COLORS[i];
      sw.title = labels[i] + " nats";
      bar.appendChild(sw);
    }
    b3.appendChild(bar);
    var ticks = el("div", "rg-leg-ticks");
    ticks.appendChild(el("span", null, "sure (< " + d.bins[0] + ")"));
    ticks.appendChild(el("span", null, "unsure (\u2265 " + d.bins[d.bins.length - 1] + ")"));
    b3.appendChild(ticks);
    b3.appendChild(el("div", "rg-help", "the same scale as the text background"));
    box.appendChild(b3);
    return box;
  };

  // ------------------------------------------------------------------------------------------ text strip
  TraceView.prototype.textPanel = function (main) {
    var self = this, d = this.d;
    var panel = section(main, "rg-text-panel", "Trace text",
      "Background = token entropy; numbers mark steps. Hover a token for its entropy, a line for its node.");
    panel.appendChild(this.textLegend());
    var info = el("div", "rg-info");
    info.setAttribute("aria-live", "polite");
    panel.appendChild(info);
    this.info = info;
    this.setInfo(null);
    var strip = el("div", "rg-strip");
    panel.appendChild(strip);
    this.strip = strip;
    // Runs of near-certain tokens (class 0, no flag) are bare text nodes, the others spans; each remembers where
    // it starts in the text, for the token tooltip.
    var text = d.text, seg = d.segments, frag = document.createDocumentFragment();
    var container = frag, cur = -1, b = 0;
    for (var j = 0; j < seg.length; j += 4) { // runs of [length, step, entropy class, flags], in text order
      var a = b, step = seg[j + 1], bin = seg[j + 2], flags = seg[j + 3];
      b = a + seg[j];
      if (step !== cur) {
        cur = step;
        if (step >= 0) {
          container = this.stepElement(d.steps[step]);
          frag.appendChild(container);
        } else container = frag;
      }
      if (a === b) continue;
      var piece = text.slice(a, b), node;
      if (bin <= 0 && !flags) node = document.createTextNode(piece);
      else {
        node = document.createElement("span");
        node.className = "rg-b" + bin + (flags & 1 ? " rg-fork" : "") + (flags & 2 ? " rg-aha" : "");
        node.textContent = piece;
      }
      node.__s = a;
      container.appendChild(node);
    }
    strip.appendChild(frag);

    strip.addEventListener("mouseover", function (ev) {
      var s = ev.target.closest ? ev.target.closest("[data-step]") : null;
      if (s && strip.contains(s)) self.preview({ step: +s.getAttribute("data-step") });
    });
    strip.addEventListener("mouseout", function (ev) {
      var s = ev.target.closest ? ev.target.closest("[data-step]") : null;
      var to = ev.relatedTarget && ev.relatedTarget.closest ? ev.relatedTarget.closest("[data-step]") : null;
      if (s && s !== to) self.preview(null);
      if (!strip.contains(ev.relatedTarget)) self.tip.hide();
    });
    var queued = false, last = null;
    strip.addEventListener("mousemove", function (ev) { // one caret lookup per frame at most
      last = ev;
      if (queued) return;
      queued = true;
      window.requestAnimationFrame(function () { queued = false; self.tokenTip(last); });
    });
    strip.addEventListener("click", function (ev) {
      var s = ev.target.closest ? ev.target.closest("[data-step]") : null;
      if (s) self.pinStep(+s.getAttribute("data-step"));
      else self.pin(null);
    });
  };

  TraceView.prototype.stepElement = function (st) {
    var cls = "rg-step";
    if (st.revisit) cls += " rg-revisit";
    if (st.hidden_only) cls += " rg-hidden-only";
    if (st.node === null) cls += " rg-dropped";
    var e = el("span", cls);
    e.setAttribute("data-step", String(st.i));
    if (st.node !== null) e.setAttribute("data-node", String(st.node));
    this.stepEls[st.i] = e;
    return e;
  };

  TraceView.prototype.textLegend = function () {
    var d = this.d, box = el("div", "rg-legend rg-text-legend");
    var row = el("div", "rg-chips");
    row.appendChild(el("span", "rg-leg-label", "token entropy (nats):"));
    var labels = binLabels(d.bins);
    for (var i = 0; i < labels.length; i++) row.appendChild(el("span", "rg-chip rg-b" + i, labels[i]));
    box.appendChild(row);
    var row2 = el("div", "rg-chips");
    var fork = el("span", "rg-chip rg-fork", "forking token");
    fork.title = "top 20% of this trace's tokens by entropy" +
      (d.fork_threshold !== null && d.fork_threshold !== undefined ? " (\u2265 " + fmt(d.fork_threshold) + " nats)" : "");
    row2.appendChild(fork);
    var aha = el("span", "rg-chip rg-aha", "aha marker");
    aha.title = "a lexical self-correction cue: Wait, Hmm, Actually, let me double-check, ...";
    row2.appendChild(aha);
    var rv = el("span", "rg-chip rg-chip-step rg-step rg-revisit", "revisit");
    rv.title = "a step whose hidden state returns to an earlier node with another node in between";
    row2.appendChild(rv);
    var ho = el("span", "rg-chip rg-chip-step rg-step rg-revisit rg-hidden-only", "hidden-only");
    ho.title = "a revisit with no forking token in its step: token entropy missed it";
    row2.appendChild(ho);
    box.appendChild(row2);
    return box;
  };

  TraceView.prototype.tokenTip = function (ev) {
    var d = this.d, node = null, off = 0;
    if (document.caretRangeFromPoint) {
      var r = document.caretRangeFromPoint(ev.clientX, ev.clientY);
      if (r) { node = r.startContainer; off = r.startOffset; }
    } else if (document.caretPositionFromPoint) {
      var p = document.caretPositionFromPoint(ev.clientX, ev.clientY);
      if (p) { node = p.offsetNode; off = p.offset; }
    }
    if (!node || node.nodeType !== 3 || !this.strip.contains(node)) { this.tip.hide(); return; }
    var start = node.__s !== undefined ? node.__s : node.parentNode.__s;
    if (start === undefined) { this.tip.hide(); return; }
    var c = start + off, o = this.offsets, lo = 0, hi = d.n_tokens - 1, t = -1;
    while (lo <= hi) { // binary search the token whose [start, end) holds character c
      var mid = (lo + hi) >> 1;
      if (o[2 * mid + 1] <= c) lo = mid + 1;
      else if (o[2 * mid] > c) hi = mid - 1;
      else { t = mid; break; }
    }
    if (t < 0) { this.tip.hide(); return; }
    var tok = d.text.slice(o[2 * t], o[2 * t + 1]);
    var lines = [JSON.stringify(tok), "token " + t + " \u00b7 entropy " + fmt(d.entropy[t]) + " nats"];
    if (this.isFork(t)) lines.push("forking token (top 20% by entropy)");
    var s = node.parentNode.closest("[data-step]");
    if (s) {
      var st = d.steps[+s.getAttribute("data-step")];
      lines.push("step " + st.i + (st.node !== null ? " \u2192 node " + st.node : " (not in the graph)") +
        (st.revisit ? " \u00b7 revisit" : "") + (st.hidden_only ? " \u00b7 hidden-only" : ""));
    }
    this.tip.show(lines, ev.clientX, ev.clientY);
  };

  TraceView.prototype.isFork = function (t) {
    if (!this.forkSet) { this.forkSet = {}; for (var i = 0; i < this.d.fork.length; i++) this.forkSet[this.d.fork[i]] = true; }
    return !!this.forkSet[t];
  };

  // ------------------------------------------------------------------------------------------ linking
  TraceView.prototype.preview = function (sel) { this.highlight(sel || this.pinned); };

  TraceView.prototype.pin = function (sel) { this.pinned = sel; this.highlight(sel); };

  TraceView.prototype.pinNode = function (n, scroll) {
    var id = String(n.id);
    if (this.pinned && this.pinned.node === id) { this.pin(null); return; }
    this.pin({ node: id });
    if (scroll !== false && n.steps.length) this.scrollToStep(n.steps[0]);
  };

  TraceView.prototype.pinStep = function (i) {
    if (this.pinned && this.pinned.step === i) { this.pin(null); return; }
    this.pin({ step: i });
  };

  TraceView.prototype.scrollToStep = function (i) {
    var e = this.stepEls[i];
    if (!e) return;
    var top = e.getBoundingClientRect().top - this.strip.getBoundingClientRect().top; // lays out its block
    if (top < 0 || top > this.strip.clientHeight - 30) this.strip.scrollTop += top - 40;
  };

  TraceView.prototype.mark = function (e, cls) { if (e) { e.classList.add(cls); this.lit.push([e, cls]); } };

  TraceView.prototype.highlight = function (sel) {
    for (var i = 0; i < this.lit.length; i++) this.lit[i][0].classList.remove(this.lit[i][1]);
    this.lit = [];
    this.edgeEls.forEach(function (p) { if (p.__hl) { p.setAttribute("marker-end", "url(#" + p.__marker + ")"); p.__hl = false; } });
    var d = this.d, steps = [];
    this.root.classList.toggle("rg-focus", !!sel);
    if (sel && sel.node !== undefined) {
      var n = this.nodeById[sel.node];
      if (!n) { this.setInfo(null); return; }
      this.mark(this.nodeEls[sel.node], "rg-hl");
      for (var j = 0; j < n.steps.length; j++) this.mark(this.stepEls[n.steps[j]], "rg-hl");
      var self = this;
      this.edgeEls.forEach(function (p) {
        if (String(p.__edge.source) === sel.node || String(p.__edge.target) === sel.node) self.hlEdge(p);
      });
      steps = n.steps;
      this.setInfo({ node: n });
    } else if (sel && sel.step !== undefined) {
      var st = d.steps[sel.step];
      this.mark(this.stepEls[st.i], "rg-hl");
      if (st.node !== null) this.mark(this.nodeEls[String(st.node)], "rg-hl");
      if (st.revisit) this.markCycle(st);
      steps = [st.i];
      this.setInfo({ step: st });
    } else this.setInfo(null);
    this.curveBands(steps);
  };

  TraceView.prototype.hlEdge = function (p) {
    this.mark(p, "rg-hl");
    p.setAttribute("marker-end", "url(#" + this.root.id + "-arrow-hl)");
    p.__hl = true;
  };

  // the way back of a revisit: the walk from the node's last visit to this step
  TraceView.prototype.markCycle = function (st) {
    var d = this.d, prevNode = null;
    for (var i = st.prev; i <= st.i; i++) {
      var n = d.steps[i].node;
      if (n === null) continue;
      if (i < st.i) this.mark(this.stepEls[i], "rg-path");
      this.mark(this.nodeEls[String(n)], "rg-path");
      if (prevNode !== null && prevNode !== String(n)) this.hlEdge(this.edgeByKey[prevNode + "\u2192" + String(n)]);
      prevNode = String(n);
    }
  };

  TraceView.prototype.setInfo = function (sel) {
    var box = this.info, d = this.d, self = this;
    box.textContent = "";
    if (!sel) {
      box.appendChild(el("span", "rg-muted", "Hover or click a node in the graph or a line of the text. " +
        "Click again to release."));
      return;
    }
    if (sel.node) {
      var n = sel.node;
      box.appendChild(el("b", null, "Node " + n.id));
      box.appendChild(el("span", null, ": " + n.visits + " step" + (n.visits === 1 ? "" : "s") + ", entered " +
        n.runs + " time" + (n.runs === 1 ? "" : "s") + (n.runs > 1 ? " (" + (n.runs - 1) + " revisit" + (n.runs > 2 ? "s" : "") + ")" : "") +
        ", mean token entropy " + fmt(n.mean_entropy) + " nats. Steps: "));
      n.steps.slice(0, 40).forEach(function (s) {
        var b = el("button", "rg-steplink", String(s));
        b.setAttribute("data-goto-step", String(s));
        b.addEventListener("click", function (ev) { ev.stopPropagation(); self.scrollToStep(s); });
        box.appendChild(b);
      });
      if (n.steps.length > 40) box.appendChild(el("span", null, " \u2026"));
      return;
    }
    var st = sel.step;
    box.appendChild(el("b", null, "Step " + st.i));
    var parts = [];
    parts.push(st.node !== null ? "node " + st.node : "not in the graph (dropped)");
    if (st.revisit) parts.push("revisit: back to node " + st.node + " after " + st.since + " steps (from step " + st.prev + ", path in blue)");
    if (st.hidden_only) parts.push("hidden-only: no forking token in this step");
    else if (st.spike) parts.push("has a forking token");
    if (st.marker) parts.push("aha marker");
    parts.push("mean entropy " + fmt(st.entropy) + " nats");
    box.appendChild(el("span", null, ": " + parts.join(" \u00b7 ")));
  };

  TraceView.prototype.nodeTip = function (n, ev) {
    this.tip.show(["node " + n.id, n.visits + " steps, entered " + n.runs + "\u00d7",
      "mean token entropy " + fmt(n.mean_entropy) + " nats", "click to pin, and scroll the text to it"],
      ev.clientX, ev.clientY);
  };

  TraceView.prototype.edgeTip = function (e, ev) {
    var lines = ["node " + e.source + " \u2192 node " + e.target, e.count + " transition" + (e.count === 1 ? "" : "s")];
    if (e.weight !== null) lines.push("mean L2 jump " + fmt(e.weight));
    if (e.returns > 0) lines.push("closes " + e.returns + " revisit" + (e.returns === 1 ? "" : "s") + ": back to an earlier node");
    else if (e.cycle) lines.push("on a revisit cycle");
    this.tip.show(lines, ev.clientX, ev.clientY);
  };

  // ------------------------------------------------------------------------------------------ curves
  TraceView.prototype.curvesPanel = function () {
    var self = this, d = this.d;
    var panel = section(this.root, "rg-curves-panel", "Along the trace: token entropy and hidden-state spread",
      "Top: token entropy, moving average over " + d.curves.entropy.window + " tokens. Middle: events at their " +
      "token position. Bottom: effective rank of the hidden states in sliding windows of " + d.curves.erank.window +
      " tokens. When entropy falls but effective rank stays up, the model still explores internally. " +
      "Click to jump to that step.");
    // drawn at the panel's pixel width so text is not stretched; the SVG then scales uniformly
    var W = Math.max(600, Math.round(this.width - 66));
    var L = 44, R = 12, T = 8, H1 = 110, EV = 34, H2 = 90, B = 26, H = T + H1 + EV + H2 + B;
    var svg = sv("svg", { viewBox: "0 0 " + W + " " + H, role: "img" }, "rg-curves");
    svg.setAttribute("aria-label", "entropy and effective-rank curves");
    panel.appendChild(svg);
    var n = Math.max(1, d.n_tokens - 1);
    function X(t) { return L + (W - L - R) * t / n; }
    var bands = sv("g", null, "rg-bands");
    svg.appendChild(bands);
    this.bandLayer = bands;
    this.X = X;
    function plot(curve, y0, h, cls, label) {
      svg.appendChild(sv("rect", { x: L, y: y0, width: W - L - R, height: h }, "rg-plot-bg"));
      var ext = extent(curve.y);
      svg.appendChild(svText(L + 6, y0 + 13, label, "rg-axis-label " + cls.replace("line", "label")));
      if (!ext) { svg.appendChild(svText(L + 8, y0 + h / 2, "not available", "rg-muted-svg")); return; }
      var lo = Math.min(0, ext[0]), hi = ext[1] > lo ? ext[1] : lo + 1;
      function Y(v) { return y0 + h - (h - 4) * (v - lo) / (hi - lo); }
      var dstr = "", pen = false;
      for (var i = 0; i < curve.x.length; i++) {
        var v = curve.y[i];
        if (v === null) { pen = false; continue; }
        dstr += (pen ? "L" : "M") + X(curve.x[i]).toFixed(1) + "," + Y(v).toFixed(1);
        pen = true;
      }
      svg.appendChild(sv("path", { d: dstr }, "rg-line " + cls));
      svg.appendChild(svText(L - 6, y0 + h - 2, fmt(lo), "rg-axis-tick", "end"));
      svg.appendChild(svText(L - 6, Y(hi) + 8, fmt(hi), "rg-axis-tick", "end"));
    }
    plot(d.curves.entropy, T, H1, "rg-line-entropy", "token entropy (nats), moving average");
    var ye = T + H1;
    svg.appendChild(svText(L - 4, ye + 14, "revisit", "rg-axis-tick rg-ev-rev-label", "end"));
    svg.appendChild(svText(L - 4, ye + 29, "aha", "rg-axis-tick rg-ev-aha-label", "end"));
    d.steps.forEach(function (st) {
      if (!st.revisit) return;
      var x = X(st.tok[0]);
      svg.appendChild(sv("line", { x1: x, x2: x, y1: ye + 4, y2: ye + 17 }, "rg-ev-rev" + (st.hidden_only ? " rg-ev-hidden" : "")));
    });
    d.markers.forEach(function (m) {
      if (m.step === null) return;
      var x = X(d.steps[m.step].tok[0]);
      svg.appendChild(sv("line", { x1: x, x2: x, y1: ye + 19, y2: ye + 31 }, "rg-ev-aha"));
    });
    plot(d.curves.erank, ye + EV, H2, "rg-line-erank", "effective rank of hidden states");
    // x axis
    var yb = H - B + 14;
    [0, 0.25, 0.5, 0.75, 1].forEach(function (f) {
      var t = Math.round(f * n);
      svg.appendChild(svText(X(t), yb, t, "rg-axis-tick", f === 0 ? "start" : f === 1 ? "end" : "middle"));
    });
    svg.appendChild(svText(L + (W - L - R) / 2, H - 1, "token", "rg-axis-tick", "middle"));
    var cursor = sv("line", { x1: 0, x2: 0, y1: T, y2: H - B }, "rg-cursor");
    cursor.style.display = "none";
    svg.appendChild(cursor);
    function tokenAt(ev) {
      var r = svg.getBoundingClientRect(), x = (ev.clientX - r.left) * W / r.width;
      return Math.max(0, Math.min(n, Math.round((x - L) / (W - L - R) * n)));
    }
    function stepAt(t) {
      for (var i = 0; i < d.steps.length; i++) if (d.steps[i].tok[0] <= t && t < d.steps[i].tok[1]) return i;
      return -1;
    }
    svg.addEventListener("mousemove", function (ev) {
      var t = tokenAt(ev), x = X(t);
      cursor.setAttribute("x1", x); cursor.setAttribute("x2", x); cursor.style.display = "";
      var s = stepAt(t), lines = ["token " + t + " \u00b7 entropy " + fmt(d.entropy[t]) + " nats"];
      if (s >= 0) lines.push("step " + s + (d.steps[s].node !== null ? " \u2192 node " + d.steps[s].node : ""));
      self.tip.show(lines, ev.clientX, ev.clientY);
    });
    svg.addEventListener("mouseleave", function () { cursor.style.display = "none"; self.tip.hide(); });
    svg.addEventListener("click", function (ev) {
      var s = stepAt(tokenAt(ev));
      if (s >= 0) { self.pin({ step: s }); self.scrollToStep(s); }
    });
    this.curveH = [T, H - B];
  };

  TraceView.prototype.curveBands = function (steps) {
    if (!this.bandLayer) return;
    var g = this.bandLayer, d = this.d;
    g.textContent = "";
    for (var i = 0; i < steps.length; i++) {
      var st = d.steps[steps[i]], x0 = this.X(st.tok[0]), x1 = this.X(Math.max(st.tok[0] + 1, st.tok[1]));
      g.appendChild(sv("rect", { x: x0, y: this.curveH[0], width: Math.max(2, x1 - x0), height: this.curveH[1] - this.curveH[0] }, "rg-band"));
    }
  };

  // ------------------------------------------------------------------------------------------ metrics
  TraceView.prototype.metricsPanel = function () {
    var d = this.d;
    var panel = section(this.root, "rg-metrics-panel", "Metrics",
      "Cycle metrics follow the Topology of Reasoning paper; effective rank follows Roy & Vetterli (2007).");
    var grid = el("div", "rg-metric-grid");
    d.metric_groups.forEach(function (g) {
      var box = el("div", "rg-metric-group");
      box.appendChild(el("h3", null, g.title));
      var tb = el("table", "rg-table");
      g.items.forEach(function (it) {
        var tr = el("tr");
        var th = el("th", null, it.label);
        th.title = it.key;
        tr.appendChild(th);
        tr.appendChild(el("td", "rg-num", fmt(it.value)));
        tr.appendChild(el("td", "rg-help", it.help));
        tb.appendChild(tr);
      });
      box.appendChild(tb);
      grid.appendChild(box);
    });
    panel.appendChild(grid);
    if (d.tables.length) {
      var tw = el("div", "rg-tables");
      d.tables.forEach(function (t) { tw.appendChild(crossTable(t)); });
      panel.appendChild(tw);
    }
    var keys = Object.keys(d.metrics);
    if (keys.length) {
      var det = el("details", "rg-all-metrics");
      det.appendChild(el("summary", null, "All " + keys.length + " metrics"));
      var tb = el("table", "rg-table rg-table-compact");
      keys.forEach(function (k) {
        var tr = el("tr");
        tr.appendChild(el("th", null, k));
        tr.appendChild(el("td", "rg-num", fmt(d.metrics[k])));
        tb.appendChild(tr);
      });
      det.appendChild(tb);
      panel.appendChild(det);
    }
  };

  function crossTable(t) {
    var box = el("div", "rg-cross");
    box.appendChild(el("h3", null, t.title));
    var tb = el("table", "rg-table rg-2x2");
    var head = el("tr");
    head.appendChild(el("th"));
    t.cols.forEach(function (c) { head.appendChild(el("th", "rg-colhead", c)); });
    head.appendChild(el("th", "rg-colhead rg-muted", "total"));
    tb.appendChild(head);
    var colTot = [0, 0];
    t.rows.forEach(function (r, i) {
      var tr = el("tr");
      tr.appendChild(el("th", null, r));
      var rowTot = 0;
      t.cells[i].forEach(function (v, j) {
        var mark = t.marks && t.marks[i + "," + j];
        var td = el("td", "rg-num" + (mark ? " rg-marked rg-mark-" + mark.replace(/[^a-z]/g, "") : ""), v);
        if (mark) td.appendChild(el("small", null, mark));
        tr.appendChild(td);
        rowTot += v; colTot[j] += v;
      });
      tr.appendChild(el("td", "rg-num rg-muted", rowTot));
      tb.appendChild(tr);
    });
    var foot = el("tr");
    foot.appendChild(el("th", "rg-muted", "total"));
    colTot.forEach(function (v) { foot.appendChild(el("td", "rg-num rg-muted", v)); });
    foot.appendChild(el("td", "rg-num rg-muted", colTot[0] + colTot[1]));
    tb.appendChild(foot);
    box.appendChild(tb);
    if (t.note) box.appendChild(el("p", "rg-help", t.note));
    return box;
  }
  RG._util.crossTable = crossTable;

  // ------------------------------------------------------------------------------------------ help
  TraceView.prototype.helpPanel = function () {
    var panel = section(this.root, "rg-help-panel", "How to read this page");
    var items = [
      ["Steps", "The trace is cut into steps (lines longer than 5 characters). Each step is a vector: the mean " +
        "of the model's hidden states over its tokens, at one layer."],
      ["Nodes", "Steps are clustered (KMeans); a node is a cluster, i.e. a region of hidden-state space. Node size " +
        "counts the steps in it; node color is the mean token entropy of those steps."],
      ["Edges and cycles", "An arrow joins the nodes of consecutive steps (a step in the same node adds none). A " +
        "revisit is a step that enters a node seen before with another node in between: the model came back to an " +
        "earlier internal state. Arrows on the way back are light purple, the arrow that closes the cycle is dark " +
        "purple; nodes entered more than once have a purple ring."],
      ["Token entropy", "For every token, the entropy of the model's next-token distribution (nats): near 0 the " +
        "model was sure, high values are decision points. Underlined tokens are forking tokens, the top 20% of this " +
        "trace."],
      ["Where they disagree", "A revisit whose step holds no forking token is hidden-only (dashed purple box): the " +
        "hidden states turned back, token entropy showed nothing. Aha markers (green boxes) are words like Wait or " +
        "Hmm with which the model itself announces a reconsideration."],
      ["Effective rank", "How many directions the hidden states spread over, in sliding windows along the trace. A " +
        "model whose token entropy collapses can still keep a high effective rank."],
      ["Interaction", "Hover a node to see its steps in the text; hover a line to see its node and, for a revisit, " +
        "the path it took back (blue). Click to pin, click again to release. Drag the graph to pan, scroll to zoom."],
    ];
    var dl = el("dl", "rg-help-list");
    items.forEach(function (it) { dl.appendChild(el("dt", null, it[0])); dl.appendChild(el("dd", null, it[1])); });
    panel.appendChild(dl);
  };
})();
