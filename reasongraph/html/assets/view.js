/* reasongraph: the interactive view of one reasoning trace, window.ReasonGraph.renderTrace(root, payload).
 *
 * Needs common.js, graph.js and text.js. Draws a payload built by reasongraph.html.trace_view into one root element:
 * header, graph and text side by side, curves, metrics, help. The view holds the selection (what is hovered or
 * pinned) and lights it up in every panel, so a node links to its steps and a step to its node and its way back.
 */
(function () {
  "use strict";
  var RG = window.ReasonGraph;
  var C = RG._common, el = C.el, fmt = C.fmt, section = C.section;

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
    this.tip = C.Tooltip(root);
    this.nodeById = {};
    this.pinned = null;
    for (var i = 0; i < d.nodes.length; i++) this.nodeById[String(d.nodes[i].id)] = d.nodes[i];
    this.header();
    var main = el("div", "rg-main");
    root.appendChild(main);
    this.graph = new RG._graph.GraphPanel(main, d, this);
    this.text = new RG._text.TextPanel(main, d, this);
    this.setInfo(null);
    this.curves = new RG._text.CurvesPanel(root, d, this.width, this);
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

  // ------------------------------------------------------------------------------------------ selection
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

  TraceView.prototype.scrollToStep = function (i) { this.text.scrollToStep(i); };

  TraceView.prototype.highlight = function (sel) {
    var d = this.d, graph = this.graph, text = this.text, steps = [];
    graph.clear();
    text.clear();
    this.root.classList.toggle("rg-focus", !!sel);
    if (sel && sel.node !== undefined) {
      var n = this.nodeById[sel.node];
      if (!n) { this.setInfo(null); return; }
      graph.markNode(sel.node, "rg-hl");
      for (var j = 0; j < n.steps.length; j++) text.markStep(n.steps[j], "rg-hl");
      graph.markEdgesOf(sel.node);
      steps = n.steps;
      this.setInfo({ node: n });
    } else if (sel && sel.step !== undefined) {
      var st = d.steps[sel.step];
      text.markStep(st.i, "rg-hl");
      if (st.node !== null) graph.markNode(st.node, "rg-hl");
      if (st.revisit) this.markCycle(st);
      steps = [st.i];
      this.setInfo({ step: st });
    } else this.setInfo(null);
    this.curves.bands(steps);
  };

  // the way back of a revisit: the walk from the node's last visit to this step
  TraceView.prototype.markCycle = function (st) {
    var d = this.d, prevNode = null;
    for (var i = st.prev; i <= st.i; i++) {
      var n = d.steps[i].node;
      if (n === null) continue;
      if (i < st.i) this.text.markStep(i, "rg-path");
      this.graph.markNode(n, "rg-path");
      if (prevNode !== null && prevNode !== String(n)) this.graph.markEdge(prevNode, n);
      prevNode = String(n);
    }
  };

  TraceView.prototype.setInfo = function (sel) {
    var box = this.text.info, self = this;
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
        tr.setAttribute("data-key", it.key);
        tr.appendChild(th);
        var td = el("td", "rg-num", fmt(it.value));
        if (it.key === "align_near_saturated" && it.value === true) {
          td.appendChild(document.createTextNode(" "));
          td.appendChild(el("span", "rg-flag rg-near-saturated", "near-saturated"));
        }
        tr.appendChild(td);
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

  // a 2x2 table (revisit x forking token) with row and column totals; marked cells carry a note
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
    if (t.flag) box.appendChild(el("p", "rg-flag rg-near-saturated", t.flag));
    return box;
  }

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
