/* lineage-sim explorer: the tree of a run, drawn with plotly.js, from the page's lineage-data.
 *
 * Everything the page shows comes from the JSON in <script id="lineage-data"> (see
 * spawn/explorer/data.py for its layout). Text from the data is only ever set as textContent,
 * never parsed as HTML. */
(function () {
  "use strict";

  const DATA = JSON.parse(document.getElementById("lineage-data").textContent);
  const WEBGL_FROM = parseInt(document.body.dataset.webglFrom, 10); // agents on screen drawn with WebGL from
  const CONSTITUTION = /(^|\.)(violations|episode_cost|cost|distance(\.[^.]+)?|invariance\..+|dropped_rules)$/;
  const $ = (id) => document.getElementById(id);
  const state = { run: 0, layout: "generation", color: "attr:value", collapsed: new Set(), selected: -1 };
  let R = null; // the current run, prepared

  function el(tag, text, cls) {
    const e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (cls) e.className = cls;
    return e;
  }

  // plotly reads hover text as a little HTML: data text goes in with its markup characters escaped
  const plain = (t) => String(t).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

  function fmt(v) {
    if (v === null || v === undefined) return "–";
    if (typeof v === "number") {
      if (Number.isInteger(v)) return v.toLocaleString("en-US");
      const a = Math.abs(v);
      return a !== 0 && (a < 1e-3 || a >= 1e6) ? v.toExponential(3) : String(+v.toPrecision(4));
    }
    return String(v);
  }

  // ------------------------------------------------------------------ the run's tree
  function prepare(run) {
    const n = run.agents;
    const index = new Map();
    for (let i = 0; i < n; i++) index.set(run.id[i], i);
    const parent = new Int32Array(n).fill(-1);
    const nkids = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const p = run.parent[i] === null ? undefined : index.get(run.parent[i]);
      if (p !== undefined) { parent[i] = p; nkids[p]++; }
    }
    const start = new Int32Array(n + 1);
    for (let i = 0; i < n; i++) start[i + 1] = start[i] + nkids[i];
    const fill = start.slice(0, n);
    const kids = new Int32Array(Math.max(start[n], 1));
    for (let i = 0; i < n; i++) if (parent[i] >= 0) kids[fill[parent[i]]++] = i;
    // pre-order (a parent before its clade, siblings in data order) and clade sizes
    const pre = new Int32Array(n);
    const stack = [];
    let k = 0;
    for (let i = n - 1; i >= 0; i--) if (parent[i] < 0) stack.push(i);
    while (stack.length) {
      const i = stack.pop();
      pre[k++] = i;
      for (let j = start[i + 1] - 1; j >= start[i]; j--) stack.push(kids[j]);
    }
    const size = new Int32Array(n).fill(1);
    for (let q = n - 1; q >= 0; q--) { const i = pre[q]; if (parent[i] >= 0) size[parent[i]] += size[i]; }
    const rank = new Int32Array(n);
    for (let q = 0; q < n; q++) rank[pre[q]] = q;
    const curveStart = new Map();
    if (run.curves) {
      const a = run.curves.agent;
      for (let r = 0; r < a.length; r++) if (!curveStart.has(a[r])) curveStart.set(a[r], r);
    }
    const best = run.best === null ? -1 : index.get(run.best);
    const bestPath = run.best_path.map((id) => index.get(id));
    const generations = [...new Set(run.depth)].sort((a, b) => a - b); // no spread of 10^5 arguments
    return { run, n, index, parent, start, kids, pre, size, rank, curveStart, best, bestPath, generations };
  }

  function layout() { // positions of the agents on screen (the others NaN)
    const { n, pre, parent, start, kids } = R;
    const x = new Float64Array(n).fill(NaN), y = new Float64Array(n).fill(NaN);
    const shown = new Uint8Array(n);
    let leaves = 0;
    for (let q = 0; q < n; q++) {
      const i = pre[q];
      const p = parent[i];
      shown[i] = p < 0 || (shown[p] && !state.collapsed.has(p)) ? 1 : 0;
    }
    for (let q = 0; q < n; q++) {
      const i = pre[q];
      if (!shown[i]) continue;
      const open = !state.collapsed.has(i) && start[i + 1] > start[i];
      if (!open) x[i] = leaves++;
    }
    for (let q = n - 1; q >= 0; q--) { // a parent midway between its first and last child
      const i = pre[q];
      if (!shown[i] || !Number.isNaN(x[i])) continue;
      x[i] = (x[kids[start[i]]] + x[kids[start[i + 1] - 1]]) / 2;
    }
    const depth = R.run.depth;
    for (let i = 0; i < n; i++) if (shown[i]) y[i] = -depth[i];
    if (state.layout === "radial") {
      const turn = (2 * Math.PI) / Math.max(leaves, 1);
      for (let i = 0; i < n; i++) {
        if (!shown[i]) continue;
        const a = x[i] * turn, r = depth[i];
        x[i] = r * Math.sin(a);
        y[i] = r * Math.cos(a);
      }
    }
    return { x, y, shown, leaves };
  }

  function colours() { // the chosen measure per agent, null where missing
    const [kind, name] = [state.color.slice(0, 4), state.color.slice(5)];
    const col = kind === "rule" ? R.run.credit[name] : R.run.numeric[name];
    return col || new Array(R.n).fill(null);
  }

  function colourLabel() {
    return state.color.startsWith("rule:") ? "credit: " + state.color.slice(5) : state.color.slice(5);
  }

  // ------------------------------------------------------------------ drawing
  function ring(pos, i) { // the selection ring, a layout shape (moving it redraws no trace)
    if (i < 0 || !pos.shown[i]) return [];
    return [{ type: "circle", xref: "x", yref: "y", xsizemode: "pixel", ysizemode: "pixel",
              xanchor: pos.x[i], yanchor: pos.y[i], x0: -10, x1: 10, y0: -10, y1: 10,
              line: { color: "#ff7f0e", width: 3 }, name: "selected" }];
  }

  function draw() {
    const pos = layout();
    const { n, parent } = R;
    const c = colours();
    const ex = [], ey = [];
    const node = { x: [], y: [], c: [], i: [], t: [], s: [], z: [] };
    const none = { x: [], y: [], i: [], t: [], s: [], z: [] };
    let shown = 0;
    for (let i = 0; i < n; i++) {
      if (!pos.shown[i]) continue;
      shown++;
      const p = parent[i];
      if (p >= 0) { ex.push(pos.x[p], pos.x[i], null); ey.push(pos.y[p], pos.y[i], null); }
      const folded = state.collapsed.has(i) && R.size[i] > 1;
      const into = c[i] === null ? none : node;
      into.x.push(pos.x[i]); into.y.push(pos.y[i]); into.i.push(i);
      into.t.push(plain(R.run.id[i]) + (folded ? " (+" + (R.size[i] - 1).toLocaleString("en-US") + " folded)" : ""));
      into.s.push(folded ? "triangle-down" : "circle");
      into.z.push(folded ? 13 : 8);
      if (into === node) node.c.push(c[i]);
    }
    const gl = shown >= WEBGL_FROM;
    const type = gl ? "scattergl" : "scatter";
    const bx = [], by = [];
    for (const i of R.bestPath) if (pos.shown[i]) { bx.push(pos.x[i]); by.push(pos.y[i]); }
    const hover = "%{text}<br>" + plain(colourLabel()) + " %{marker.color:.4g}<extra></extra>";
    const traces = [
      { type, mode: "lines", x: ex, y: ey, hoverinfo: "skip", name: "edges",
        line: { color: "rgba(120,120,120,0.45)", width: 1 }, showlegend: false },
      { type, mode: "lines", x: bx, y: by, hoverinfo: "skip", name: "best lineage",
        line: { color: "#d62728", width: 4 }, showlegend: true },
      { type, mode: "markers", x: node.x, y: node.y, text: node.t, customdata: node.i, name: "agents",
        hovertemplate: hover, showlegend: false,
        marker: { color: node.c, colorscale: "Viridis", size: node.z, symbol: node.s,
                  line: { color: "#333", width: gl ? 0 : 0.5 },
                  colorbar: { title: { text: plain(colourLabel()), side: "right" }, thickness: 12 } } },
      { type, mode: "markers", x: none.x, y: none.y, text: none.t, customdata: none.i,
        name: "no " + colourLabel(), hovertemplate: "%{text}<br>no " + plain(colourLabel()) + "<extra></extra>",
        marker: { color: "#bbbbbb", size: none.z, symbol: none.s }, showlegend: none.x.length > 0 },
    ];
    state.pos = pos;
    const radial = state.layout === "radial";
    const lay = {
      margin: { l: 50, r: 10, t: 10, b: 40 },
      dragmode: "pan",
      hovermode: "closest",
      uirevision: state.run + ":" + state.layout,
      shapes: ring(pos, state.selected),
      legend: { orientation: "h", y: 1.02, x: 0 },
      xaxis: { visible: !radial, title: { text: "agents in lineage-path order" }, zeroline: false },
      yaxis: radial ? { visible: false, scaleanchor: "x" }
        : { title: { text: "generation" }, zeroline: false, tickvals: R.generations.map((d) => -d),
            ticktext: R.generations.map(String) },
    };
    Plotly.react($("tree"), traces, lay, { responsive: true, scrollZoom: true, displaylogo: false });
    $("drawn").textContent = shown.toLocaleString("en-US") + " of " + n.toLocaleString("en-US") +
      " agents on screen" + (state.collapsed.size ? " (" + state.collapsed.size + " clades folded)" : "") +
      (gl ? "; drawn with WebGL" : "; drawn as SVG");
    state.shown = shown;
    state.webgl = gl;
  }

  // ------------------------------------------------------------------ the agent's panel
  function table(rows, cls) {
    const t = el("table", null, cls || "kv");
    for (const [k, v, mark] of rows) {
      const tr = el("tr", null, mark || "");
      tr.appendChild(el("th", k));
      tr.appendChild(el("td", fmt(v)));
      t.appendChild(tr);
    }
    return t;
  }

  function attr(i, name) {
    const run = R.run;
    if (name in run.numeric) return run.numeric[name][i];
    if (name in run.text) return run.text[name][i];
    return null;
  }

  function link(i) {
    const a = el("a", R.run.id[i], "agent-link");
    a.href = "#";
    a.addEventListener("click", (e) => { e.preventDefault(); select(i); });
    return a;
  }

  function plot(div, traces, ytitle, xtitle, whole) {
    Plotly.newPlot(div, traces, {
      height: 210, margin: { l: 50, r: 10, t: 10, b: 36 }, hovermode: "closest",
      legend: { orientation: "h", y: -0.35, font: { size: 10 } },
      xaxis: { title: { text: xtitle }, dtick: whole ? 1 : undefined }, yaxis: { title: { text: ytitle } },
    }, { displaylogo: false, responsive: true });
  }

  function showAgent(i) {
    const run = R.run;
    const box = $("agent");
    box.replaceChildren();
    const head = el("h2");
    head.appendChild(el("span", "Agent "));
    head.appendChild(el("span", run.id[i], "agent-id"));
    box.appendChild(head);
    const row = el("div", null, "buttons");
    if (R.size[i] > 1) {
      const b = el("button", state.collapsed.has(i) ? "Unfold its clade" : "Fold its clade");
      b.id = "fold";
      b.addEventListener("click", () => { toggle(i); });
      row.appendChild(b);
    }
    if (R.parent[i] >= 0) {
      row.appendChild(el("span", " parent "));
      row.appendChild(link(R.parent[i]));
    }
    box.appendChild(row);

    box.appendChild(el("h3", "Record"));
    const fields = ["operator", "kind", "trigger", "trigger_task", "agent", "objective", "budget", "birth_time",
                    "train_steps", "eval_steps", "episodes", "tasks", "tools", "children", "liability", "value",
                    "return", "root_utility", "distance", "error"];
    const rec = [["operator", run.operator[i]], ["generation", run.depth[i]]];
    for (const f of fields.slice(1)) { const v = attr(i, f); if (v !== null) rec.push([f, v]); }
    box.appendChild(table(rec));

    box.appendChild(el("h3", "Constitution"));
    const names = Object.keys(run.numeric).concat(Object.keys(run.text)).sort();
    constitution(box, i, names);

    box.appendChild(el("h3", "Ancestry"));
    const chain = [];
    for (let p = i; p >= 0; p = R.parent[p]) chain.unshift(p);
    const anc = el("p", null, "chain");
    chain.forEach((p, k) => { if (k) anc.appendChild(el("span", " → ")); anc.appendChild(link(p)); });
    box.appendChild(anc);
    const value = run.numeric.value;
    if (value) {
      const d = el("div", null, "chart"); d.id = "ancestry-chart"; box.appendChild(d);
      plot(d, [{ type: "scatter", mode: "lines+markers", x: chain.map((p) => run.depth[p]),
                 y: chain.map((p) => value[p]), text: chain.map((p) => plain(run.id[p])), name: "value",
                 hovertemplate: "%{text}: %{y:.4g}<extra></extra>" }], "value", "generation", true);
    }

    box.appendChild(el("h3", "Clade"));
    const from = R.rank[i], to = from + R.size[i];
    let bestV = -Infinity, bestI = -1, sum = 0, cnt = 0, deepest = run.depth[i], leaves = 0;
    for (let q = from; q < to; q++) {
      const j = R.pre[q];
      const v = value ? value[j] : null;
      if (v !== null) { sum += v; cnt++; if (v > bestV) { bestV = v; bestI = j; } }
      if (run.depth[j] > deepest) deepest = run.depth[j];
      if (R.start[j + 1] === R.start[j]) leaves++;
    }
    const clade = [["agents", R.size[i]], ["generations", deepest - run.depth[i] + 1], ["leaves", leaves],
                   ["mean value", cnt ? sum / cnt : null], ["best value", bestI >= 0 ? bestV : null]];
    box.appendChild(table(clade));
    if (bestI >= 0) { const p = el("p", "best of the clade: "); p.appendChild(link(bestI)); box.appendChild(p); }

    box.appendChild(el("h3", "Learning curve"));
    const cv = run.curves;
    if (!cv) box.appendChild(el("p", "The run has no curves.csv.", "note"));
    else if (!R.curveStart.has(i)) box.appendChild(el("p", "No rows in curves.csv for this agent.", "note"));
    else {
      const rows = [];
      for (let r = R.curveStart.get(i); r < cv.agent.length && cv.agent[r] === i; r++) rows.push(r);
      const d = el("div", null, "chart"); d.id = "curve-chart"; box.appendChild(d);
      const xs = rows.map((r) => cv.steps[r]);
      plot(d, [
        { type: "scatter", mode: "lines+markers", x: xs, y: rows.map((r) => cv.return[r]), name: "return",
          text: rows.map((r) => plain(cv.tasks[cv.task[r]])), hovertemplate: "%{text}: %{y:.4g}<extra>return</extra>" },
        { type: "bar", x: xs, y: rows.map((r) => cv.cost[r]), name: "cost", yaxis: "y2", opacity: 0.4 },
        { type: "bar", x: xs, y: rows.map((r) => cv.violations[r]), name: "violations", yaxis: "y2", opacity: 0.4 },
      ], "mean return of the round", "training steps");
      Plotly.relayout(d, { yaxis2: { overlaying: "y", side: "right", title: { text: "cost, violations" } } });
      box.appendChild(el("p", rows.length + " rounds", "note"));
    }

    const all = el("details");
    all.appendChild(el("summary", "Every attribute"));
    all.appendChild(table(names.map((k) => [k, attr(i, k)]).filter((r) => r[1] !== null)));
    box.appendChild(all);
  }

  function constitution(box, i, names) {
    // per environment, its rules by kind with the measure that counts them; above 0 (red) = broken
    const run = R.run;
    const num = (k) => { const v = attr(i, k); return typeof v === "number" ? v : null; };
    const rows = [], broke = [];
    const row = (label, key, rules) => {
      const v = num(key);
      if (v === null) return;
      rows.push([label, v, v > 0 ? "broken" : ""]);
      if (v > 0 && rules) broke.push(rules);
    };
    if (run.constitutions) {
      for (const [env, c] of Object.entries(run.constitutions)) {
        if (c.actions.length) row(env + ": forbidden actions " + c.actions.join(", "), env + ".violations", env + ": " + c.actions.join(" or "));
        if (c.states.length) row(env + ": forbidden states " + c.states.join(", "), env + ".episode_cost", env + ": " + c.states.join(" or "));
        for (const name of c.invariances) row(env + ": invariance " + name, env + ".invariance." + name, env + ": " + name);
        row(env + ": distance from what it allows", env + ".distance", null);
      }
    } else {
      for (const k of names) {
        if (!CONSTITUTION.test(k) || k.startsWith("train_") || k.startsWith("utility_")) continue;
        row(k, k, k);
      }
    }
    for (const [label, key] of [["violations (all environments)", "violations"], ["forbidden-state cost", "episode_cost"],
                                ["distance (all environments)", "distance"], ["training violations", "train_violations"],
                                ["training cost", "train_cost"]]) row(label, key, null);
    const dropped = attr(i, "dropped_rules");
    if (dropped !== null) rows.push(["trained without", dropped, "broken"]);
    box.appendChild(el("p", broke.length ? "Broke: " + broke.join("; ") + "." : (run.constitutions && !Object.keys(run.constitutions).length
      ? "No environment of the run has a constitution." : "Broke none of the constitution's rules in its evaluation."), broke.length ? "note broke" : "note"));
    if (rows.length) box.appendChild(table(rows));
  }

  function select(i) {
    state.selected = i;
    let p = R.parent[i];
    let unfolded = false;
    while (p >= 0) { if (state.collapsed.delete(p)) unfolded = true; p = R.parent[p]; }
    showTab("agent");
    showAgent(i);
    if (unfolded || !state.pos) draw();
    else Plotly.relayout($("tree"), { shapes: ring(state.pos, i) }); // only the ring moves: no trace redrawn
  }

  function toggle(i) {
    if (state.collapsed.has(i)) state.collapsed.delete(i); else state.collapsed.add(i);
    showAgent(i);
    draw();
  }

  // ------------------------------------------------------------------ rules and arms
  function frameTable(frame, rowTitle) {
    const rows = Object.keys(frame);
    const cols = rows.length ? Object.keys(frame[rows[0]]) : [];
    const t = el("table", null, "grid");
    const h = el("tr");
    h.appendChild(el("th", rowTitle));
    for (const c of cols) h.appendChild(el("th", c));
    t.appendChild(h);
    for (const r of rows) {
      const tr = el("tr");
      tr.appendChild(el("th", r));
      for (const c of cols) tr.appendChild(el("td", fmt(frame[r][c])));
      t.appendChild(tr);
    }
    return t;
  }

  function showRules() {
    const box = $("rules");
    box.replaceChildren();
    const cmp = R.run.compare;
    if (!cmp) { box.appendChild(el("p", "No rule's credit: the lineage carries no numeric value.", "note")); return; }
    box.appendChild(el("h3", "Rules side by side (lineage-sim compare)"));
    box.appendChild(frameTable(cmp.leaders, "rule"));
    const tax = cmp.alignment_tax;
    if (tax && Object.keys(tax).length) {
      box.appendChild(el("h3", "Alignment tax"));
      box.appendChild(table(Object.entries(tax)));
    }
    box.appendChild(el("h3", "Kendall τ between the rules' credits"));
    const rules = Object.keys(cmp.kendall);
    const d = el("div", null, "chart"); d.id = "kendall-chart"; box.appendChild(d);
    Plotly.newPlot(d, [{ type: "heatmap", x: rules, y: rules, z: rules.map((a) => rules.map((b) => cmp.kendall[a][b])),
                         zmin: -1, zmax: 1, colorscale: "RdBu", hovertemplate: "%{y} vs %{x}: τ %{z:.3f}<extra></extra>" }],
                   { height: 320, margin: { l: 110, r: 10, t: 10, b: 90 } }, { displaylogo: false, responsive: true });
    box.appendChild(el("h3", "Top agents under the colouring rule"));
    const rule = state.color.startsWith("rule:") ? state.color.slice(5) : Object.keys(R.run.credit)[0];
    const credit = R.run.credit[rule];
    const top = [...Array(R.n).keys()].filter((i) => credit[i] !== null).sort((a, b) => credit[b] - credit[a]).slice(0, 15);
    const t = el("table", null, "grid");
    const h = el("tr"); ["agent", "credit: " + rule, "value"].forEach((c) => h.appendChild(el("th", c))); t.appendChild(h);
    for (const i of top) {
      const tr = el("tr"); const td = el("td"); td.appendChild(link(i)); tr.appendChild(td);
      tr.appendChild(el("td", fmt(credit[i]))); tr.appendChild(el("td", fmt(attr(i, "value")))); t.appendChild(tr);
    }
    box.appendChild(t);
    for (const note of cmp.notes) box.appendChild(el("p", note, "note"));
  }

  function showArms() {
    const arms = DATA.arms;
    if (!arms) return;
    const box = $("arms");
    box.replaceChildren();
    box.appendChild(el("h3", "Arms: " + arms.y));
    const d = el("div", null, "chart"); d.id = "arms-chart"; box.appendChild(d);
    const palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
                     "#bcbd22", "#17becf", "#393b79", "#e7969c", "#637939", "#ad494a", "#6b6ecf", "#8ca252",
                     "#843c39", "#7b4173", "#3182bd", "#e6550d"];
    const traces = [];
    arms.curves.forEach((c, k) => {
      const col = palette[k % palette.length];
      traces.push({ type: "scatter", mode: "lines", x: c.spent.concat([...c.spent].reverse()),
                    y: c.hi.concat([...c.lo].reverse()), fill: "toself", fillcolor: col + "33",
                    line: { width: 0 }, hoverinfo: "skip", showlegend: false, name: c.arm + " 95%" });
      traces.push({ type: "scatter", mode: "lines", x: c.spent, y: c.mean, name: plain(c.arm), line: { color: col, shape: "hv" },
                    customdata: c.n, hovertemplate: plain(c.arm) + ": %{y:.4g} (%{customdata} seeds)<extra></extra>" });
    });
    Plotly.newPlot(d, traces, { height: 380, margin: { l: 55, r: 10, t: 10, b: 45 },
                                xaxis: { title: { text: arms.x } }, yaxis: { title: { text: "best value so far" } },
                                legend: { orientation: "h", y: -0.25 } }, { displaylogo: false, responsive: true });
  }

  function showTab(name) {
    for (const t of ["agent", "rules", "arms"]) {
      const pane = $(t), tab = $("tab-" + t);
      if (!pane || !tab) continue;
      pane.hidden = t !== name;
      tab.classList.toggle("active", t === name);
    }
    if (name === "rules") showRules();
    if (name === "arms") showArms();
  }

  // ------------------------------------------------------------------ controls
  function setRun(k) {
    state.run = k;
    state.collapsed.clear();
    state.selected = -1;
    state.pos = null;
    R = prepare(DATA.runs[k]);
    const colour = $("colour");
    colour.replaceChildren();
    const numeric = Object.keys(R.run.numeric).sort();
    const group = (label) => { const g = document.createElement("optgroup"); g.label = label; colour.appendChild(g); return g; };
    if (Object.keys(R.run.credit).length) {
      const g = group("a rule's credit");
      for (const r of Object.keys(R.run.credit)) { const o = el("option", r); o.value = "rule:" + r; g.appendChild(o); }
    }
    const g = group("an attribute");
    for (const a of ["value", ...numeric.filter((a) => a !== "value")]) {
      if (!(a in R.run.numeric)) continue;
      const o = el("option", a); o.value = "attr:" + a; g.appendChild(o);
    }
    state.color = "value" in R.run.numeric ? "attr:value" : (numeric.length ? "attr:" + numeric[0] : "attr:");
    colour.value = state.color;
    const s = R.run.summary;
    const facts = [["agents", R.n], ["generations", R.generations[R.generations.length - 1] + 1]];
    if (R.best >= 0) facts.push(["best agent", R.run.id[R.best]], ["best value", R.run.numeric.value[R.best]]);
    if (s) for (const k of ["regime", "budget", "train_steps", "eval_steps"]) if (k in s) facts.push([k, s[k]]);
    const box = $("facts");
    box.replaceChildren();
    for (const [k, v] of facts) { const sp = el("span", null, "fact"); sp.appendChild(el("b", k + " ")); sp.appendChild(el("span", fmt(v))); box.appendChild(sp); }
    $("agent").replaceChildren(el("p", "Click an agent in the tree (or search for its id) to see its record, ancestry, clade and learning curve.", "note"));
    if (R.best >= 0) select(R.best); else draw();
  }

  function search() {
    const q = $("search").value.trim();
    const msg = $("search-result");
    if (!q) { msg.textContent = ""; return; }
    let i = R.index.get(q);
    if (i === undefined) {
      const hits = R.run.id.filter((id) => id.startsWith(q));
      if (!hits.length) { msg.textContent = "no agent " + q; return; }
      i = R.index.get(hits[0]);
      msg.textContent = hits.length + " ids start with " + q + "; showing " + hits[0];
    } else msg.textContent = "";
    select(i);
  }

  function foldBelow() {
    const g = parseInt($("fold-depth").value, 10);
    state.collapsed.clear();
    if (Number.isFinite(g)) for (let i = 0; i < R.n; i++) if (R.run.depth[i] === g && R.size[i] > 1) state.collapsed.add(i);
    draw();
  }

  function init() {
    $("source").textContent = DATA.source + " (" + DATA.kind + ")";
    const notes = $("notes");
    for (const n of DATA.notes) notes.appendChild(el("li", n));
    const pick = $("run");
    DATA.runs.forEach((r, k) => { const o = el("option", r.name + " (" + r.agents.toLocaleString("en-US") + " agents)"); o.value = String(k); pick.appendChild(o); });
    $("run-box").hidden = DATA.runs.length < 2;
    pick.addEventListener("change", () => setRun(parseInt(pick.value, 10)));
    $("colour").addEventListener("change", () => { state.color = $("colour").value; draw(); if (!$("rules").hidden) showRules(); });
    $("layout").addEventListener("change", () => { state.layout = $("layout").value; draw(); });
    $("search").addEventListener("keydown", (e) => { if (e.key === "Enter") search(); });
    $("search-go").addEventListener("click", search);
    $("fold-go").addEventListener("click", foldBelow);
    $("unfold").addEventListener("click", () => { state.collapsed.clear(); draw(); });
    for (const t of ["agent", "rules", "arms"]) { const tab = $("tab-" + t); if (tab) tab.addEventListener("click", () => showTab(t)); }
    if (!DATA.arms) $("tab-arms").hidden = true;
    setRun(0);
    $("tree").on("plotly_click", (ev) => {
      const p = ev.points && ev.points[0];
      if (p && p.customdata !== undefined && (p.data.name === "agents" || p.data.name.startsWith("no "))) select(p.customdata);
    });
    window.lineageExplorer = { data: DATA, state, select, toggle, get run() { return R; } };
    document.body.dataset.ready = "1";
  }

  init();
})();
