/* reasongraph: the alignment table of the dataset report. Per group, how revisits line up with onset entropy
 * spikes, pooled over the group's traces: the Mantel-Haenszel odds ratio of revisit x onset spike with its CI and
 * the CMH p, the hidden-only share of revisits with its CI, and the marker x revisit odds ratio ("cycles are aha
 * moments").
 *
 * Needs common.js. RG._alignment.panel(parent, groups, entries) draws the report payload's "alignment": a list
 * aligned with payload.groups, each entry null or {n_traces, mh_odds_ratio, mh_ci_low, mh_ci_high, cmh_p,
 * hidden_only_share, hidden_only_share_ci_low, hidden_only_share_ci_high, n_revisits, n_hidden_only,
 * spike_rate, near_saturated, rel_mh_odds_ratio, rel_mh_ci_low, rel_mh_ci_high, rel_cmh_p, rel_hidden_only_share,
 * rel_hidden_only_share_ci_low, rel_hidden_only_share_ci_high, marker_revisit_mh_odds_ratio, ...,
 * marker_revisit_cmh_p, marker_spike_...}. Any value may be null: "n/a". A group whose spike rate is above 0.8
 * gets a visible "near-saturated" flag in its spike-rate cell.
 */
(function () {
  "use strict";
  var RG = window.ReasonGraph;
  var C = RG._common, el = C.el, fmt = C.fmt, isNum = C.isNum, estimate = C.estimate;

  // Fewer traces or events than this behind a pooled number: its cell carries a visible "small sample" flag.
  var SMALL = 5;

  // why a pooled odds ratio deserves a flag, with its n; null when it does not
  function ratioFlag(value, lo, hi, nTraces) {
    if (!isNum(value)) return null;
    if (!isNum(lo) || !isNum(hi)) return "no interval (empty cells; n = " + fmt(nTraces) + " traces)";
    if (isNum(nTraces) && nTraces < SMALL) return "small sample (n = " + fmt(nTraces) + " traces)";
    return null;
  }
  // why a pooled share deserves a flag: few events, few traces, or an interval of no width
  function shareFlag(value, lo, hi, nEvents, nTraces) {
    if (!isNum(value)) return null;
    if (isNum(nEvents) && nEvents < SMALL) return "small sample (n = " + fmt(nEvents) + " revisits)";
    if (isNum(nTraces) && nTraces < SMALL) return "small sample (n = " + fmt(nTraces) + " traces)";
    if (isNum(lo) && lo === hi) {
      return "no spread: every trace gives " + fmt(lo) + " (n = " + fmt(nTraces) + " traces)";
    }
    return null;
  }

  // the columns: key (data-col of each cell), head, the cell's text from an entry e, its help line; small(e): the
  // small-sample flag of the cell, or null
  var COLUMNS = [
    { key: "traces", head: "traces", text: function (e) { return fmt(e.n_traces); }, num: true,
      help: "traces with a revisit \u00d7 onset-spike table (the strata pooled)." },
    { key: "revisit_spike", head: "revisit \u00d7 onset spike: OR_MH [95% CI]", p: "cmh_p", num: true,
      text: function (e) { return estimate(e.mh_odds_ratio, e.mh_ci_low, e.mh_ci_high); },
      small: function (e) { return ratioFlag(e.mh_odds_ratio, e.mh_ci_low, e.mh_ci_high, e.n_traces); },
      help: "do revisits begin with a token-entropy spike more often than other steps? The Mantel-Haenszel " +
        "odds ratio pools the per-trace 2\u00d72 tables (each trace a stratum, so traces with many steps do not " +
        "fake an association); above 1: revisits and spikes go together." },
    { key: "cmh_p", head: "CMH p", p: "cmh_p", num: true, text: function (e) { return fmt(e.cmh_p); },
      help: "Cochran-Mantel-Haenszel test of no association across the traces (continuity corrected)." },
    { key: "hidden_only", head: "hidden-only share [95% CI]", num: true,
      text: function (e) {
        return estimate(e.hidden_only_share, e.hidden_only_share_ci_low, e.hidden_only_share_ci_high);
      },
      small: function (e) {
        return shareFlag(e.hidden_only_share, e.hidden_only_share_ci_low, e.hidden_only_share_ci_high,
          e.n_revisits, e.n_traces);
      },
      help: "hidden-only = revisits whose onset shows no entropy spike: the exploration token entropy misses. " +
        "Their share of all revisits, pooled over traces, with a bootstrap interval over traces." },
    { key: "hidden_n", head: "hidden-only of revisits", num: true,
      text: function (e) {
        return isNum(e.n_revisits) ? fmt(e.n_hidden_only) + " of " + fmt(e.n_revisits) : "n/a";
      },
      help: "the counts behind that share, summed over the group's traces." },
    { key: "spike_rate", head: "spike rate", num: true, flag: function (e) { return e.near_saturated === true; },
      text: function (e) { return fmt(e.spike_rate); },
      help: "share of the group's steps that begin with a spike under the token-relative rule above. Line starts " +
        "are where a model decides, so this rate can approach 1; above 0.8 the group is flagged near-saturated: " +
        "hidden-only events are then few by construction, and the onset-relative columns are the ones to read." },
    { key: "rel_revisit_spike", head: "onset-relative: OR_MH [95% CI]", p: "rel_cmh_p", num: true,
      text: function (e) { return estimate(e.rel_mh_odds_ratio, e.rel_mh_ci_low, e.rel_mh_ci_high); },
      small: function (e) {
        return ratioFlag(e.rel_mh_odds_ratio, e.rel_mh_ci_low, e.rel_mh_ci_high, e.rel_n_traces);
      },
      help: "the same question under a rule that cannot saturate: in each trace (of at least 5 steps) the " +
        "ceil(rho \u00d7 n) steps with the highest onset entropy spike, ties to the earlier step. Above 1: " +
        "revisits begin at the trace's more uncertain decisions." },
    { key: "rel_hidden_only", head: "onset-relative hidden-only share [95% CI]", num: true,
      text: function (e) {
        return estimate(e.rel_hidden_only_share, e.rel_hidden_only_share_ci_low, e.rel_hidden_only_share_ci_high);
      },
      small: function (e) {
        return shareFlag(e.rel_hidden_only_share, e.rel_hidden_only_share_ci_low, e.rel_hidden_only_share_ci_high,
          e.rel_n_revisits, e.rel_n_traces);
      },
      help: "revisits that are not among their trace's top onsets, of all revisits. An association only: rho of " +
        "the steps spike by construction, whatever the policy does." },
    { key: "marker_revisit", head: "marker \u00d7 revisit: OR_MH [95% CI]", p: "marker_revisit_cmh_p",
      num: true,
      text: function (e) {
        return estimate(e.marker_revisit_mh_odds_ratio, e.marker_revisit_mh_ci_low, e.marker_revisit_mh_ci_high);
      },
      small: function (e) {
        return ratioFlag(e.marker_revisit_mh_odds_ratio, e.marker_revisit_mh_ci_low, e.marker_revisit_mh_ci_high,
          e.marker_revisit_mh_n_strata);
      },
      help: "do steps with a self-correction marker (\"Wait\", \"Actually\", \"let me double-check\", ...) " +
        "revisit a node more often? The paper's claim that cycles are aha moments; n/a when markers were not " +
        "scored." },
    { key: "marker_p", head: "p", p: "marker_revisit_cmh_p", num: true,
      text: function (e) { return fmt(e.marker_revisit_cmh_p); },
      help: "CMH p of marker \u00d7 revisit." },
  ];

  function panel(parent, groups, entries) {
    var box = C.section(parent, "rg-alignment-panel", "Revisits and entropy spikes",
      "Per group, pooled over its traces: do the steps that return to an earlier node start with a token-entropy " +
      "spike? Values with p < 0.05 in bold (not corrected for the number of tests).");
    var wrap = el("div", "rg-scroll"), tb = el("table", "rg-table rg-alignment");
    var head = el("tr");
    head.appendChild(el("th", "rg-colhead", "group"));
    COLUMNS.forEach(function (c) {
      var th = el("th", "rg-colhead", c.head);
      th.setAttribute("title", c.help);
      head.appendChild(th);
    });
    tb.appendChild(head);
    entries.forEach(function (e, i) {
      var tr = el("tr", "rg-al-row");
      var name = groups[i] === undefined || groups[i] === null ? "group " + (i + 1) : String(groups[i]);
      tr.setAttribute("data-group", name);
      var th = el("th", null, name);
      th.style.color = C.groupColor(i);
      tr.appendChild(th);
      COLUMNS.forEach(function (c) {
        var td = el("td", c.num ? "rg-num" : null, e ? c.text(e) : "n/a");
        td.setAttribute("data-col", c.key);
        if (e && c.p && isNum(e[c.p]) && e[c.p] < 0.05) td.classList.add("rg-significant");
        if (e && c.flag && c.flag(e)) {
          td.appendChild(document.createTextNode(" "));
          td.appendChild(el("span", "rg-flag rg-near-saturated", "near-saturated"));
        }
        var small = e && c.small ? c.small(e) : null;
        if (small) {
          td.appendChild(document.createTextNode(" "));
          td.appendChild(el("span", "rg-flag rg-small-sample", small));
        }
        tr.appendChild(td);
      });
      tb.appendChild(tr);
    });
    wrap.appendChild(tb);
    box.appendChild(wrap);
    var help = el("dl", "rg-help-list rg-al-help");
    COLUMNS.forEach(function (c) {
      help.appendChild(el("dt", null, c.head));
      help.appendChild(el("dd", null, c.help));
    });
    box.appendChild(help);
    return box;
  }

  RG._alignment = { panel: panel };
})();
