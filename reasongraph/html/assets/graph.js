/* reasongraph: the reasoning-graph panel of a trace view (nodes, edges, revisit cycles, pan and zoom, legend).
 *
 * Needs common.js. The layout comes precomputed in the payload (x, y in the unit square). The panel reports what
 * the reader does to its host (the trace view, view.js) and lets the host light nodes and edges up:
 *   host: { root, tip, preview(sel), pin(sel), pinNode(node, scroll) }   sel: {node: id} or null
 *   panel: clear(), markNode(id, cls), markEdgesOf(id), markEdge(sourceId, targetId)
 */
(function () {
  "use strict";
  var RG = window.ReasonGraph;
  var C = RG._common, el = C.el, sv = C.sv, svText = C.svText, fmt = C.fmt, BIN_COLORS = C.BIN_COLORS;

  function GraphPanel(parent, d, host) {
    var self = this;
    this.d = d;
    this.host = host;
    this.nodeEls = {};
    this.edgeEls = [];
    this.edgeByKey = {};
    this.lit = [];
    var nodeById = {};
    for (var i = 0; i < d.nodes.length; i++) nodeById[String(d.nodes[i].id)] = d.nodes[i];
    var panel = C.section(parent, "rg-graph-panel", "Reasoning graph",
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
    var mk = (this.markerPrefix = host.root.id + "-");
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

    if (!d.nodes.length) {
      vp.appendChild(svText(W / 2, H / 2, "no nodes: every step was dropped from the walk", "rg-empty", "middle"));
    }
    var maxVisits = 1, maxCount = 1;
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
    order.forEach(function (k) {
      var e = d.edges[k], s = nodeById[String(e.source)], t = nodeById[String(e.target)];
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
      g.appendChild(sv("circle", { r: radius(n).toFixed(1), fill: n.bin >= 0 ? BIN_COLORS[n.bin] : "#dee2e6" }));
      if (showLabels || n.visits >= 3) {
        g.appendChild(svText(0, 3.2, n.id, "rg-node-label" + (n.bin >= 6 ? " rg-on-dark" : ""), "middle"));
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
    this.listen(svg);
    panZoom(svg, vp, W, H, bIn, bOut, bReset, function (ev) {
      var g = nodeOf(ev);
      if (g) host.pinNode(g.__node, true);
      else host.pin(null);
    });
    panel.appendChild(this.legend(maxVisits, maxCount));
  }

  function nodeOf(ev) {
    var g = ev.target.closest ? ev.target.closest("[data-node-id]") : null;
    return g && g.__node ? g : null;
  }

  // hover, focus and keys on nodes and edges (event delegation)
  GraphPanel.prototype.listen = function (svg) {
    var self = this, host = this.host;
    svg.addEventListener("mouseover", function (ev) {
      var g = nodeOf(ev);
      if (g) { host.preview({ node: String(g.__node.id) }); self.nodeTip(g.__node, ev); return; }
      if (ev.target.__edge) self.edgeTip(ev.target.__edge, ev);
    });
    svg.addEventListener("mousemove", function (ev) {
      var g = nodeOf(ev);
      if (g) self.nodeTip(g.__node, ev);
      else if (ev.target.__edge) self.edgeTip(ev.target.__edge, ev);
    });
    svg.addEventListener("mouseout", function (ev) {
      var g = ev.target.closest ? ev.target.closest("[data-node-id]") : null;
      if (g || ev.target.__edge) { host.tip.hide(); host.preview(null); }
    });
    svg.addEventListener("focusin", function (ev) {
      var g = nodeOf(ev);
      if (g) host.preview({ node: String(g.__node.id) });
    });
    svg.addEventListener("focusout", function () { host.preview(null); });
    svg.addEventListener("keydown", function (ev) {
      var g = nodeOf(ev);
      if (g && (ev.key === "Enter" || ev.key === " ")) { ev.preventDefault(); host.pinNode(g.__node); }
    });
  };

  function panZoom(svg, vp, W, H, bIn, bOut, bReset, onClick) {
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
  }

  GraphPanel.prototype.legend = function (maxVisits, maxCount) {
    var d = this.d, self = this, box = el("div", "rg-legend rg-graph-legend");
    function icon(w, h) { return sv("svg", { width: w, height: h, viewBox: "0 0 " + w + " " + h }, "rg-leg-icon"); }
    function item(parent, svg, text) {
      var row = el("div", "rg-leg-item");
      row.appendChild(svg);
      row.appendChild(el("span", null, text));
      parent.appendChild(row);
    }
    function line(cls, width) {
      var s = icon(40, 12);
      s.appendChild(sv("line", { x1: 2, y1: 6, x2: 38, y2: 6, "stroke-width": width }, cls));
      return s;
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
      item(b2, line("rg-leg-edge", self.edgeWidth({ count: c })), c + " transition" + (c === 1 ? "" : "s"));
    });
    item(b2, line("rg-leg-edge rg-leg-cycle", 2.5), "on a revisit cycle");
    item(b2, line("rg-leg-edge rg-leg-return", 2.5), "closes a cycle: back to an earlier node");
    box.appendChild(b2);
    // color
    var b3 = el("div", "rg-leg-block");
    b3.appendChild(el("div", "rg-leg-title", "Node color = mean token entropy (nats)"));
    var bar = el("div", "rg-leg-bar"), labels = C.binLabels(d.bins);
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

  GraphPanel.prototype.nodeTip = function (n, ev) {
    this.host.tip.show(["node " + n.id, n.visits + " steps, entered " + n.runs + "\u00d7",
      "mean token entropy " + fmt(n.mean_entropy) + " nats", "click to pin, and scroll the text to it"],
      ev.clientX, ev.clientY);
  };

  GraphPanel.prototype.edgeTip = function (e, ev) {
    var lines = ["node " + e.source + " \u2192 node " + e.target, e.count + " transition" + (e.count === 1 ? "" : "s")];
    if (e.weight !== null) lines.push("mean L2 jump " + fmt(e.weight));
    if (e.returns > 0) lines.push("closes " + e.returns + " revisit" + (e.returns === 1 ? "" : "s") + ": back to an earlier node");
    else if (e.cycle) lines.push("on a revisit cycle");
    this.host.tip.show(lines, ev.clientX, ev.clientY);
  };

  // ---------------------------------------------------------------------------------------- highlighting
  GraphPanel.prototype.clear = function () {
    for (var i = 0; i < this.lit.length; i++) this.lit[i][0].classList.remove(this.lit[i][1]);
    this.lit = [];
    this.edgeEls.forEach(function (p) { if (p.__hl) { p.setAttribute("marker-end", "url(#" + p.__marker + ")"); p.__hl = false; } });
  };

  GraphPanel.prototype.mark = function (e, cls) { if (e) { e.classList.add(cls); this.lit.push([e, cls]); } };

  GraphPanel.prototype.markNode = function (id, cls) { this.mark(this.nodeEls[String(id)], cls); };

  GraphPanel.prototype.hlEdge = function (p) {
    if (!p) return;
    this.mark(p, "rg-hl");
    p.setAttribute("marker-end", "url(#" + this.markerPrefix + "arrow-hl)");
    p.__hl = true;
  };

  GraphPanel.prototype.markEdge = function (source, target) {
    this.hlEdge(this.edgeByKey[String(source) + "\u2192" + String(target)]);
  };

  GraphPanel.prototype.markEdgesOf = function (id) {
    var self = this;
    id = String(id);
    this.edgeEls.forEach(function (p) {
      if (String(p.__edge.source) === id || String(p.__edge.target) === id) self.hlEdge(p);
    });
  };

  RG._graph = { GraphPanel: GraphPanel };
})();
