/* reasongraph: the text of a trace view: the token strip (entropy classes, steps, forking tokens, aha markers)
 * and the curves along the trace (token entropy, events, effective rank of the hidden states).
 *
 * Needs common.js. Both panels report what the reader does to their host (the trace view, view.js):
 *   host: { tip, preview(sel), pin(sel), pinStep(i), scrollToStep(i) }   sel: {step: i} or null
 *   TextPanel: info (the element the host writes the selection into), clear(), markStep(i, cls), scrollToStep(i)
 *   CurvesPanel: bands(step indices)
 */
(function () {
  "use strict";
  var RG = window.ReasonGraph;
  var C = RG._common, el = C.el, sv = C.sv, svText = C.svText, fmt = C.fmt;

  function stepOf(target) { return target && target.closest ? target.closest("[data-step]") : null; }

  // ------------------------------------------------------------------------------------------ text strip
  function TextPanel(parent, d, host) {
    var self = this;
    this.d = d;
    this.host = host;
    this.stepEls = [];
    this.lit = [];
    // token_spans holds [gap, length] per token; offsets: [start, end] per token
    var ts = d.token_spans, off = new Int32Array(ts.length), pos = 0;
    for (var t = 0; t < ts.length; t += 2) { off[t] = pos + ts[t]; off[t + 1] = off[t] + ts[t + 1]; pos = off[t + 1]; }
    this.offsets = off;
    var panel = C.section(parent, "rg-text-panel", "Trace text",
      "Background = token entropy; numbers mark steps. Hover a token for its entropy, a line for its node.");
    panel.appendChild(this.legend());
    this.info = el("div", "rg-info");
    this.info.setAttribute("aria-live", "polite");
    panel.appendChild(this.info);
    var strip = (this.strip = el("div", "rg-strip"));
    panel.appendChild(strip);
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
      var s = stepOf(ev.target);
      if (s && strip.contains(s)) host.preview({ step: +s.getAttribute("data-step") });
    });
    strip.addEventListener("mouseout", function (ev) {
      var s = stepOf(ev.target), to = stepOf(ev.relatedTarget);
      if (s && s !== to) host.preview(null);
      if (!strip.contains(ev.relatedTarget)) host.tip.hide();
    });
    var queued = false, last = null;
    strip.addEventListener("mousemove", function (ev) { // one caret lookup per frame at most
      last = ev;
      if (queued) return;
      queued = true;
      window.requestAnimationFrame(function () { queued = false; self.tokenTip(last); });
    });
    strip.addEventListener("click", function (ev) {
      var s = stepOf(ev.target);
      if (s) host.pinStep(+s.getAttribute("data-step"));
      else host.pin(null);
    });
  }

  TextPanel.prototype.stepElement = function (st) {
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

  TextPanel.prototype.legend = function () {
    var d = this.d, box = el("div", "rg-legend rg-text-legend");
    var row = el("div", "rg-chips");
    row.appendChild(el("span", "rg-leg-label", "token entropy (nats):"));
    var labels = C.binLabels(d.bins);
    for (var i = 0; i < labels.length; i++) row.appendChild(el("span", "rg-chip rg-b" + i, labels[i]));
    box.appendChild(row);
    var row2 = el("div", "rg-chips");
    function chip(cls, text, title) {
      var c = el("span", "rg-chip " + cls, text);
      c.title = title;
      row2.appendChild(c);
    }
    var th = d.fork_threshold;
    chip("rg-fork", "forking token", "top 20% of this trace's tokens by entropy" +
      (th !== null && th !== undefined ? " (\u2265 " + fmt(th) + " nats)" : ""));
    chip("rg-aha", "aha marker", "a lexical self-correction cue: Wait, Hmm, Actually, let me double-check, ...");
    chip("rg-chip-step rg-step rg-revisit", "revisit",
      "a step whose hidden state returns to an earlier node with another node in between");
    chip("rg-chip-step rg-step rg-revisit rg-hidden-only", "hidden-only",
      "a revisit with no forking token in its step: token entropy missed it");
    box.appendChild(row2);
    return box;
  };

  TextPanel.prototype.tokenTip = function (ev) {
    var d = this.d, tip = this.host.tip, node = null, off = 0;
    if (document.caretRangeFromPoint) {
      var r = document.caretRangeFromPoint(ev.clientX, ev.clientY);
      if (r) { node = r.startContainer; off = r.startOffset; }
    } else if (document.caretPositionFromPoint) {
      var p = document.caretPositionFromPoint(ev.clientX, ev.clientY);
      if (p) { node = p.offsetNode; off = p.offset; }
    }
    if (!node || node.nodeType !== 3 || !this.strip.contains(node)) { tip.hide(); return; }
    var start = node.__s !== undefined ? node.__s : node.parentNode.__s;
    if (start === undefined) { tip.hide(); return; }
    var c = start + off, o = this.offsets, lo = 0, hi = d.n_tokens - 1, t = -1;
    while (lo <= hi) { // binary search the token whose [start, end) holds character c
      var mid = (lo + hi) >> 1;
      if (o[2 * mid + 1] <= c) lo = mid + 1;
      else if (o[2 * mid] > c) hi = mid - 1;
      else { t = mid; break; }
    }
    if (t < 0) { tip.hide(); return; }
    var tok = d.text.slice(o[2 * t], o[2 * t + 1]);
    var lines = [JSON.stringify(tok), "token " + t + " \u00b7 entropy " + fmt(d.entropy[t]) + " nats"];
    if (this.isFork(t)) lines.push("forking token (top 20% by entropy)");
    var s = node.parentNode.closest("[data-step]");
    if (s) {
      var st = d.steps[+s.getAttribute("data-step")];
      lines.push("step " + st.i + (st.node !== null ? " \u2192 node " + st.node : " (not in the graph)") +
        (st.revisit ? " \u00b7 revisit" : "") + (st.hidden_only ? " \u00b7 hidden-only" : ""));
    }
    tip.show(lines, ev.clientX, ev.clientY);
  };

  TextPanel.prototype.isFork = function (t) {
    if (!this.forkSet) { this.forkSet = {}; for (var i = 0; i < this.d.fork.length; i++) this.forkSet[this.d.fork[i]] = true; }
    return !!this.forkSet[t];
  };

  TextPanel.prototype.scrollToStep = function (i) {
    var e = this.stepEls[i];
    if (!e) return;
    var top = e.getBoundingClientRect().top - this.strip.getBoundingClientRect().top; // lays out its block
    if (top < 0 || top > this.strip.clientHeight - 30) this.strip.scrollTop += top - 40;
  };

  TextPanel.prototype.clear = function () {
    for (var i = 0; i < this.lit.length; i++) this.lit[i][0].classList.remove(this.lit[i][1]);
    this.lit = [];
  };

  TextPanel.prototype.markStep = function (i, cls) {
    var e = this.stepEls[i];
    if (e) { e.classList.add(cls); this.lit.push([e, cls]); }
  };

  // ------------------------------------------------------------------------------------------ curves
  // drawn at the panel's pixel width (the view's width) so text is not stretched; the SVG then scales uniformly
  function CurvesPanel(parent, d, width, host) {
    var panel = C.section(parent, "rg-curves-panel", "Along the trace: token entropy and hidden-state spread",
      "Top: token entropy, moving average over " + d.curves.entropy.window + " tokens. Middle: events at their " +
      "token position. Bottom: effective rank of the hidden states in consecutive windows of " +
      d.curves.erank.window + " tokens (those of the metric effective rank (W=128), when the trace is that long). " +
      "When entropy falls but effective rank stays up, the model still explores internally. " +
      "Click to jump to that step.");
    var W = Math.max(600, Math.round(width - 66));
    var L = 44, R = 12, T = 8, H1 = 110, EV = 34, H2 = 90, B = 26, H = T + H1 + EV + H2 + B;
    var svg = sv("svg", { viewBox: "0 0 " + W + " " + H, role: "img" }, "rg-curves");
    svg.setAttribute("aria-label", "entropy and effective-rank curves");
    panel.appendChild(svg);
    var n = Math.max(1, d.n_tokens - 1);
    function X(t) { return L + (W - L - R) * t / n; }
    this.d = d;
    this.X = X;
    this.bandLayer = sv("g", null, "rg-bands");
    svg.appendChild(this.bandLayer);
    function plot(curve, y0, h, cls, label) {
      svg.appendChild(sv("rect", { x: L, y: y0, width: W - L - R, height: h }, "rg-plot-bg"));
      var ext = C.extent(curve.y);
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
      host.tip.show(lines, ev.clientX, ev.clientY);
    });
    svg.addEventListener("mouseleave", function () { cursor.style.display = "none"; host.tip.hide(); });
    svg.addEventListener("click", function (ev) {
      var s = stepAt(tokenAt(ev));
      if (s >= 0) { host.pin({ step: s }); host.scrollToStep(s); }
    });
    this.curveH = [T, H - B];
  }

  // light bands over the curves where the selected steps lie
  CurvesPanel.prototype.bands = function (steps) {
    var g = this.bandLayer, d = this.d;
    g.textContent = "";
    for (var i = 0; i < steps.length; i++) {
      var st = d.steps[steps[i]], x0 = this.X(st.tok[0]), x1 = this.X(Math.max(st.tok[0] + 1, st.tok[1]));
      g.appendChild(sv("rect", { x: x0, y: this.curveH[0], width: Math.max(2, x1 - x0), height: this.curveH[1] - this.curveH[0] }, "rg-band"));
    }
  };

  RG._text = { TextPanel: TextPanel, CurvesPanel: CurvesPanel };
})();
