// ExpRunner UI: runs, one run, comparisons and sweeps of a runs directory. No build step; every value
// from the server is put into the page as text (never as HTML).
"use strict";

// ---- small helpers --------------------------------------------------------------------------------

function h(tag, attrs, ...children) {
  const el = document.createElementNS(tag.startsWith("svg:") ? "http://www.w3.org/2000/svg" : "http://www.w3.org/1999/xhtml", tag.replace(/^svg:/, ""));
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "class") el.setAttribute("class", v);
    else if (k === "style" && typeof v === "object") Object.assign(el.style, v);
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

const main = () => document.getElementById("main");
/** Replaces an element's children, leaving out the nulls of optional parts. */
const put = (el, ...kids) => el.replaceChildren(...kids.flat().filter(k => k !== null && k !== undefined && k !== false));
const fmtInt = n => Number(n).toLocaleString("en-US");

/** A number as people read it: 4 significant digits, compact; scientific when very small or large. */
function num(v, digits = 4) {
  if (v === null || v === undefined) return "–";
  if (typeof v === "string") return v; // NaN, Infinity
  if (!isFinite(v)) return String(v);
  if (Number.isInteger(v) && Math.abs(v) < 1e9) return String(v);
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e6)) return v.toExponential(2);
  return String(Number(v.toPrecision(digits)));
}

function pill(status, extra) { return h("span", { class: "pill " + (status || "") , title: extra || null }, status || "?"); }

function time(iso) {
  if (!iso) return "–";
  const d = new Date(iso);
  return d.toISOString().replace("T", " ").slice(0, 19);
}

async function api(path) {
  const r = await fetch(path, { headers: { Accept: "application/json" } });
  let body = null;
  try { body = await r.json(); } catch { body = { error: `${r.status} ${r.statusText}` }; }
  if (!r.ok) { const e = new Error(body.error || r.statusText); e.position = body.position; e.status = r.status; throw e; }
  return body;
}

/** A write (label, tags, note; trash): a same-origin JSON POST carrying the page's anti-forgery token. */
let writeToken = null;
async function write(path, body) {
  if (!writeToken) writeToken = (await api("/api/info")).write_token;
  const r = await fetch(path, { method: "POST", headers: { "Content-Type": "application/json", "X-ExpRunner-Write": writeToken, Accept: "application/json" }, body: JSON.stringify(body || {}) });
  let answer = null;
  try { answer = await r.json(); } catch { answer = { error: `${r.status} ${r.statusText}` }; }
  if (!r.ok) throw new Error(answer.error || r.statusText);
  return answer;
}

// ---- routing: the page and its state live in the address (#/runs?filter=...) ------------------

function route() {
  const hash = location.hash.replace(/^#/, "") || "/runs";
  const [path, query] = hash.split("?");
  return { parts: path.split("/").filter(Boolean).map(decodeURIComponent), q: new URLSearchParams(query || "") };
}

function go(path, q, replace) {
  const qs = q && [...q.keys()].length ? "?" + q.toString() : "";
  const url = "#" + path + qs;
  if (replace) history.replaceState(null, "", url); else location.hash = url;
}

let stopPage = () => {};
function onRoute() {
  stopPage();
  stopPage = () => {};
  const { parts, q } = route();
  const page = parts[0] || "runs";
  for (const a of document.querySelectorAll(".top nav a")) a.classList.toggle("on", a.dataset.page === (page === "run" ? "runs" : page === "sweep" ? "sweeps" : page));
  main().replaceChildren();
  const pages = { runs: RunsPage, run: RunPage, compare: ComparePage, sweeps: SweepsPage, sweep: SweepPage, trash: TrashPage };
  (pages[page] || NotFound)(parts.slice(1), q);
}

function NotFound() { main().append(h("div", { class: "empty" }, "No such page. ", h("a", { href: "#/runs" }, "All runs"))); }

/** Calls fn every ms until the page changes — or until the returned function is called (the page and its charts stay). */
function every(ms, fn) {
  let alive = true, timer = null;
  const tick = async () => { if (!alive) return; try { await fn(); } finally { if (alive) timer = setTimeout(tick, ms); } };
  timer = setTimeout(tick, ms);
  const prev = stopPage;
  stopPage = () => { alive = false; clearTimeout(timer); prev(); };
  return () => { alive = false; clearTimeout(timer); };
}

// ---- runs page ----------------------------------------------------------------------------------

const STATUSES = ["RUNNING", "FINISHED", "PRUNED", "FAILED", "DIVERGED", "KILLED", "CRASHED"];
const HEADLINE = ["test_accuracy", "test_loss", "validation_accuracy", "train_loss", "epochs_run", "duration"];
const METRIC_LABEL = { test_accuracy: "test acc", test_loss: "test loss", validation_accuracy: "val acc", validation_loss: "val loss", train_loss: "train loss", train_accuracy: "train acc", epochs_run: "epochs", duration: "seconds", best_epoch: "best epoch" };
const PREFERRED = ["training.learning_rate", "training.gradient_reduction", "training.batch_size", "training.optimizer", "seed", "training.epochs", "training.", "model.", "loss", "dataset.name", "precision"];

/** Each key by its shortest dotted suffix no other key ends with (training.learning_rate → learning_rate), as compare does. */
function shortKeys(keys) {
  const out = {};
  for (const k of keys) {
    const parts = k.split(".");
    out[k] = k;
    for (let n = 1; n <= parts.length; n++) {
      const tail = parts.slice(-n).join(".");
      if (keys.filter(o => o === tail || o.endsWith("." + tail)).length === 1) { out[k] = tail; break; }
    }
  }
  return out;
}

function RunsPage(_, q) {
  const state = {
    filter: q.get("filter") || "", sort: q.get("sort") || "", desc: q.get("desc") === "1",
    group: (q.get("group") || "").split(",").filter(Boolean), cols: q.get("cols") ? q.get("cols").split(",").filter(Boolean) : null,
    sel: new Set((q.get("sel") || "").split(",").filter(Boolean)),
  };
  const save = () => {
    const p = new URLSearchParams();
    if (state.filter) p.set("filter", state.filter);
    if (state.sort) p.set("sort", state.sort);
    if (state.desc) p.set("desc", "1");
    if (state.group.length) p.set("group", state.group.join(","));
    if (state.cols) p.set("cols", state.cols.join(","));
    if (state.sel.size) p.set("sel", [...state.sel].join(","));
    go("/runs", p, true);
  };

  const filterInput = h("input", { type: "text", class: "filter", placeholder: "filter, e.g.  metrics.test_accuracy > 0.9 and params.training.gradient_reduction = 'sum'", value: state.filter, spellcheck: "false", "aria-label": "filter" });
  const problem = h("div", { id: "filter-problem" });
  const count = h("span", { class: "muted small", id: "count" });
  const groupSelect = h("select", { "aria-label": "group by" }, h("option", { value: "" }, "group by…"));
  const chips = h("span", { class: "chips", id: "group-chips" });
  const compareButton = h("button", { class: "primary", id: "compare-selected", disabled: true }, "Compare");
  const colsButton = h("button", { id: "columns-button" }, "Columns");
  const chooser = h("div", { class: "chooser", id: "chooser" });
  const table = h("div", { class: "table" });
  main().append(
    h("div", { class: "bar" }, h("div", { class: "grow" }, filterInput), groupSelect, chips, colsButton, compareButton),
    problem, h("div", { class: "bar" }, count), chooser, table);

  let page = null; // what the server said about the current query
  let timer = null;
  filterInput.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(() => { state.filter = filterInput.value.trim(); state.sel.clear(); save(); load(); }, 250); });
  filterInput.addEventListener("keydown", e => { if (e.key === "Enter") { clearTimeout(timer); state.filter = filterInput.value.trim(); save(); load(); } });
  groupSelect.addEventListener("change", () => {
    if (groupSelect.value && !state.group.includes(groupSelect.value)) { state.group.push(groupSelect.value); state.sel.clear(); state.sort = ""; save(); load(); }
    groupSelect.value = "";
  });
  colsButton.addEventListener("click", () => chooser.classList.toggle("open"));
  compareButton.addEventListener("click", () => {
    const p = new URLSearchParams();
    if (state.group.length) {
      // The chosen groups as a filter (their param values), so that every run of each is compared.
      const chosen = [...cache.values()].flat().filter(g => g && state.sel.has(g.label));
      const quote = v => !v.includes("'") ? `'${v}'` : !v.includes('"') ? `"${v}"` : null;
      const clauses = chosen.map(g => state.group.map(k => g.values[k] === null || g.values[k] === undefined ? null : `params.${k} = ${quote(g.values[k])}`));
      if (clauses.every(c => c.every(x => x !== null && !x.endsWith("= null")))) {
        const clause = clauses.map(c => "(" + c.join(" and ") + ")").join(" or ");
        p.set("filter", state.filter ? `(${state.filter}) and (${clause})` : clause);
      } else p.set("runs", chosen.flatMap(g => g.ids).slice(0, 200).join(","));
      p.set("group", state.group.join(","));
    } else p.set("runs", [...state.sel].join(","));
    go("/compare", p);
  });

  function showGroups() {
    chips.replaceChildren(...state.group.map(k => h("span", { class: "chip" }, k, h("button", { title: "stop grouping by " + k, onclick: () => { state.group = state.group.filter(x => x !== k); state.sel.clear(); state.sort = ""; save(); load(); } }, "×"))));
  }

  function columnsOf() {
    const params = page.param_keys, metrics = page.metric_keys;
    if (state.group.length) {
      const short = shortKeys(params);
      return [...state.group.map(k => ({ key: "params." + k, name: k, label: short[k] || k, kind: "group" })), { key: "n", label: "n", kind: "n", num: true },
        ...HEADLINE.filter(m => (page.groups || []).some(g => g.metrics[m])).map(m => ({ key: "metrics." + m, name: m, label: METRIC_LABEL[m] || m, kind: "gmetric", num: true })), { key: "status", label: "status", kind: "gstatus" }];
    }
    let chosen = state.cols;
    if (!chosen) {
      // By default: the headline metrics, and the params that differ between the runs on screen — the
      // ones studies vary most first (learning rate, gradient reduction, batch size, seed, ...).
      const rows = page.rows || [];
      const varying = params.filter(k => rows.some(r => r.params[k] !== (rows[0] && rows[0].params[k])) && !/^(name|dataset\.path)$/.test(k));
      const rank = k => { const i = PREFERRED.findIndex(p => k === p || k.startsWith(p)); return i < 0 ? PREFERRED.length : i; };
      varying.sort((a, b) => rank(a) - rank(b));
      chosen = [...varying.slice(0, 4).map(k => "params." + k), ...HEADLINE.filter(m => metrics.includes(m)).slice(0, 4).map(m => "metrics." + m)];
    }
    const short = shortKeys(params);
    // The results first (they are what a narrow window must show), then what sets the runs apart, then where and when.
    const picked = chosen.map(k => {
      const name = k.replace(/^(params|metrics)\./, ""), param = k.startsWith("params.");
      return { key: k, name, label: param ? (short[name] || name) : (METRIC_LABEL[name] || name), kind: param ? "param" : "metric", num: !param };
    });
    return [{ key: "attributes.run_id", label: "run", kind: "id" }, { key: "attributes.status", label: "status", kind: "status" },
      ...picked.filter(c => c.kind === "metric"), ...picked.filter(c => c.kind === "param"),
      { key: "attributes.experiment", label: "experiment", kind: "experiment" }, { key: "attributes.started", label: "started (UTC)", kind: "started" }];
  }

  function showChooser(cols) {
    const chosen = new Set(cols.map(c => c.key));
    const box = (key) => h("label", {}, h("input", { type: "checkbox", checked: chosen.has(key), onchange: e => {
      const now = cols.filter(c => c.kind === "param" || c.kind === "metric").map(c => c.key).filter(k => k !== key);
      if (e.target.checked) now.push(key);
      state.cols = now; save(); render();
    } }), " ", key);
    chooser.replaceChildren(h("h2", {}, "Columns"), h("div", { class: "muted small" }, "metrics"), ...page.metric_keys.map(m => box("metrics." + m)),
      h("div", { class: "muted small", style: { marginTop: "8px" } }, "params"), ...page.param_keys.map(p => box("params." + p)));
  }

  // Rows arrive in pages of 200 as the table scrolls.
  const PAGE = 200, ROW = 30;
  let cache = new Map(), generation = 0, scroller = null, spacer = null, cols = [], template = "", minWidth = 0;

  async function fetchPage(n) {
    if (cache.has(n)) return;
    cache.set(n, null);
    const gen = generation;
    const p = query(); p.set("offset", n * PAGE); p.set("limit", PAGE);
    try {
      const r = await api("/api/runs?" + p);
      if (gen !== generation) return;
      cache.set(n, state.group.length ? r.groups : r.rows);
      paint();
    } catch (e) { cache.delete(n); }
  }

  function query() {
    const p = new URLSearchParams();
    if (state.filter) p.set("filter", state.filter);
    if (state.sort) p.set("sort", state.sort);
    if (state.desc) p.set("desc", "1");
    if (state.group.length) p.set("group", state.group.join(","));
    return p;
  }

  async function load() {
    showGroups();
    generation++;
    const gen = generation;
    const p = query(); p.set("offset", 0); p.set("limit", PAGE);
    filterInput.classList.remove("bad");
    try {
      const r = await api("/api/runs?" + p);
      if (gen !== generation) return;
      page = r;
      problem.replaceChildren();
      cache = new Map([[0, state.group.length ? r.groups : r.rows]]);
      render();
    } catch (e) {
      if (gen !== generation) return;
      filterInput.classList.add("bad");
      const lines = [];
      if (e.position !== null && e.position !== undefined) lines.push(state.filter + "\n" + " ".repeat(e.position) + "^\n");
      problem.replaceChildren(h("pre", { class: "caret", id: "filter-error" }, ...lines, h("span", { class: "msg" }, e.message)));
    }
  }

  function render() {
    const groups = state.group.length > 0;
    const n = groups ? page.groups_total : page.matched;
    count.textContent = groups
      ? `${fmtInt(page.groups_total)} groups of ${fmtInt(page.matched)} runs` + (page.matched !== page.total ? ` (of ${fmtInt(page.total)})` : "")
      : (page.matched === page.total ? `${fmtInt(page.total)} runs` : `${fmtInt(page.matched)} of ${fmtInt(page.total)} runs`);
    count.textContent += ` · ${Math.round(page.ms)} ms` + (page.broken ? ` · ${page.broken} broken run folder(s) skipped` : "");
    groupSelect.replaceChildren(h("option", { value: "" }, "group by…"), ...page.param_keys.filter(k => !state.group.includes(k)).map(k => h("option", { value: k }, k)));
    cols = columnsOf();
    showChooser(cols);
    colsButton.disabled = groups;
    const widths = cols.map(c => ({ id: [195, 0], experiment: [100, 1], status: [100, 0], started: [160, 0], n: [70, 0], gmetric: [125, 1], gstatus: [140, 1], group: [110, 1], param: [100, 1], metric: [92, 0] })[c.kind] || [100, 0]);
    template = "32px " + widths.map(([px, fr]) => fr ? `minmax(${px}px, ${fr}fr)` : `${px}px`).join(" ");
    minWidth = 32 + widths.reduce((a, [px]) => a + px, 0);
    const head = h("div", { class: "thead", style: { gridTemplateColumns: template, minWidth: minWidth + "px" } }, h("div", {}, ""),
      ...cols.map(c => {
        const sortKey = c.kind === "gstatus" || c.kind === "n" ? null : c.key;
        const on = sortKey && state.sort === sortKey;
        return h("div", { class: (c.num ? "num " : "") + (on ? "sorted" : ""), title: c.key, "data-key": c.key, onclick: sortKey ? () => {
          if (state.sort === sortKey) state.desc = !state.desc; else { state.sort = sortKey; state.desc = c.num || c.kind === "started"; }
          save(); load();
        } : null }, c.label, on ? (state.desc ? " ▼" : " ▲") : "");
      }));
    // The header scrolls sideways with the rows and stays on top when they scroll down.
    scroller = h("div", { class: "scroller", id: "scroller" });
    spacer = h("div", { class: "spacer", style: { height: (n * ROW) + "px", minWidth: minWidth + "px" } });
    scroller.append(head, spacer);
    scroller.addEventListener("scroll", paint, { passive: true });
    table.replaceChildren(n === 0 ? h("div", { style: { overflowX: "auto" } }, head, h("div", { class: "empty" }, page.total === 0 ? "No runs yet. Start one with: exprunner run experiments/xor.yaml" : "No run matches the filter.")) : scroller);
    updateCompare();
    paint();
  }

  function updateCompare() {
    compareButton.disabled = state.sel.size === 0;
    compareButton.textContent = state.sel.size ? `Compare ${state.sel.size} ${state.group.length ? "group" : "run"}${state.sel.size === 1 ? "" : "s"}` : "Compare";
  }

  function paint() {
    if (!scroller || !page) return;
    const groups = state.group.length > 0;
    const n = groups ? page.groups_total : page.matched;
    const first = Math.max(0, Math.floor(scroller.scrollTop / ROW) - 10);
    const last = Math.min(n, Math.ceil((scroller.scrollTop + scroller.clientHeight) / ROW) + 10);
    const rows = [];
    for (let i = first; i < last; i++) {
      const pg = Math.floor(i / PAGE), chunk = cache.get(pg);
      if (chunk === undefined) fetchPage(pg);
      const item = chunk ? chunk[i - pg * PAGE] : null;
      rows.push(item ? (groups ? groupRow(item, i) : runRow(item, i)) : h("div", { class: "trow loading", style: { top: (i * ROW) + "px", gridTemplateColumns: template } }, h("div", {}), h("div", {}, "…")));
    }
    spacer.replaceChildren(...rows);
  }

  function runRow(r, i) {
    const sel = state.sel.has(r.id);
    const cells = cols.map(c => {
      switch (c.kind) {
        case "id": return h("div", { class: "mono" }, h("a", { href: "#/run/" + encodeURIComponent(r.id) }, r.id));
        case "experiment": return h("div", { title: r.experiment }, r.experiment);
        case "status": return h("div", {}, pill(r.status), r.superseded ? h("span", { class: "pill super", title: "a sweep ran this trial again" }, "superseded") : null);
        case "started": return h("div", { class: "mono" }, time(r.started));
        case "param": { const v = r.params[c.name]; return h("div", { class: "mono", title: v ?? "" }, v ?? "–"); }
        default: return h("div", { class: "num" }, num(r.metrics[c.name]));
      }
    });
    return h("div", { class: "trow" + (sel ? " sel" : ""), style: { top: (i * ROW) + "px", gridTemplateColumns: template }, "data-id": r.id },
      h("div", {}, h("input", { type: "checkbox", checked: sel, "aria-label": "select " + r.id, onchange: e => { e.target.checked ? state.sel.add(r.id) : state.sel.delete(r.id); save(); updateCompare(); e.target.closest(".trow").classList.toggle("sel", e.target.checked); } })),
      ...cells);
  }

  function groupRow(g, i) {
    const sel = state.sel.has(g.label);
    const cells = cols.map(c => {
      switch (c.kind) {
        case "group": return h("div", { class: "mono" }, g.values[c.name] ?? "–");
        case "n": return h("div", { class: "num" }, fmtInt(g.n));
        case "gstatus": return h("div", { title: Object.entries(g.status).map(([s, k]) => `${k} ${s}`).join(", ") },
          ...Object.entries(g.status).sort(([a], [b]) => STATUSES.indexOf(a) - STATUSES.indexOf(b)).map(([s, k]) => h("span", { class: "count" }, h("span", { class: "dot " + s }), fmtInt(k))));
        default: {
          const m = g.metrics[c.name];
          if (!m) return h("div", { class: "num" }, "–");
          return h("div", { class: "num", title: m.low !== null && m.low !== undefined ? `95% CI ${num(m.low)} … ${num(m.high)} (n=${m.n})` : `n=${m.n}` }, num(m.mean), m.n > 1 ? h("span", { class: "muted" }, " ± " + num(m.std, 2)) : "");
        }
      }
    });
    return h("div", { class: "trow" + (sel ? " sel" : ""), style: { top: (i * ROW) + "px", gridTemplateColumns: template }, "data-group": g.label },
      h("div", {}, h("input", { type: "checkbox", checked: sel, "aria-label": "select group " + g.label, onchange: e => { e.target.checked ? state.sel.add(g.label) : state.sel.delete(g.label); save(); updateCompare(); } })),
      ...cells);
  }

  load();
  // Running runs change: the table is read again every few seconds while the page is open (the scroll position stays).
  every(5000, async () => {
    if (!page || document.hidden) return;
    const p = query(); p.set("offset", 0); p.set("limit", 1);
    try {
      const r = await api("/api/runs?" + p);
      // New or vanished runs, or runs on screen still training: read the table again where it is.
      const running = [...cache.values()].some(chunk => chunk && chunk.some(x => x && (x.status === "RUNNING" || (x.status && typeof x.status === "object" && x.status.RUNNING))));
      if (r.total !== page.total || r.matched !== page.matched || running) { const top = scroller && scroller.scrollTop; await load(); if (scroller) scroller.scrollTop = top; }
    } catch { }
  });
}

// ---- charts -----------------------------------------------------------------------------------

const PALETTE = ["#2f6fdb", "#d9480f", "#2b8a3e", "#ae3ec9", "#e8a200", "#0c8599", "#c2255c", "#5c7cfa", "#6b7482", "#94d82d"];
const DASHES = [null, [6, 4], [2, 3], [10, 3, 2, 3]];

/**
 * A chart of series over epochs with uPlot: lines (each with an optional band from low to high),
 * a linear or log y axis, and a legend that reads out the values under the cursor.
 */
function lineChart(box, { title, series, log, yLabel, xLabel = "epoch", height = 300 }) {
  const epochs = [...new Set(series.flatMap(s => s.x))].sort((a, b) => a - b);
  const at = new Map(epochs.map((e, i) => [e, i]));
  const align = (xs, ys) => { const out = new Array(epochs.length).fill(null); xs.forEach((x, i) => { const v = ys[i]; out[at.get(x)] = typeof v === "number" && isFinite(v) && (!log || v > 0) ? v : null; }); return out; };
  const data = [epochs];
  const opts = {
    title, width: Math.max(320, box.clientWidth || 600), height,
    scales: { x: { time: false }, y: log ? { distr: 3 } : {} },
    axes: [{ label: xLabel, stroke: "#6b7482", grid: { stroke: "#eef0f3" }, incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000, 100000, 200000, 500000, 1000000] }, { label: yLabel, stroke: "#6b7482", grid: { stroke: "#eef0f3" }, size: 60, values: (u, ticks) => ticks.map(t => num(t, 3)) }],
    series: [{ label: xLabel }], bands: [], legend: { live: true }, cursor: { drag: { x: true, y: false } },
  };
  // A curve identical to an earlier one would hide behind it (sum at lr 0.01 and mean at lr 1.0 do
  // coincide): it is drawn dashed over it, with bigger markers, and named "= the other".
  const aligned = series.map(s => align(s.x, s.y));
  const twinOf = aligned.map((ys, i) => aligned.findIndex((other, j) => j < i && other.length === ys.length && other.every((v, k) => v === ys[k] || (v !== null && ys[k] !== null && Math.abs(v - ys[k]) <= 1e-12 * Math.max(1, Math.abs(v))))));
  const hidden = [];
  series.forEach((s, i) => {
    const color = s.color || PALETTE[i % PALETTE.length];
    const twin = twinOf[i];
    const dash = twin >= 0 ? [7, 5] : s.dash !== undefined ? s.dash : DASHES[Math.floor(i / PALETTE.length) % DASHES.length];
    data.push(aligned[i]);
    const label = twin >= 0 ? `${s.label}  (= ${series[twin].label})` : s.label;
    opts.series.push({ label, stroke: color, width: twin >= 0 ? 2.25 : 1.75, dash: dash || undefined, spanGaps: true,
      points: { show: twin >= 0 || epochs.length <= 40, size: twin >= 0 ? 8 : 4, fill: twin >= 0 ? "#fff" : undefined }, value: (u, v) => v === null ? "–" : num(v) });
    if (s.low && s.high) {
      const mean = data.length - 1;
      data.push(align(s.x, s.high)); opts.series.push({ label: s.label + " (highest)", stroke: "transparent", width: 0, spanGaps: true, points: { show: false }, value: (u, v) => v === null ? "–" : num(v) });
      data.push(align(s.x, s.low)); opts.series.push({ label: s.label + " (lowest)", stroke: "transparent", width: 0, spanGaps: true, points: { show: false }, value: (u, v) => v === null ? "–" : num(v) });
      opts.bands.push({ series: [mean + 1, mean + 2], fill: color + (twin >= 0 ? "00" : "26") });
      hidden.push(mean + 1, mean + 2);
    }
  });
  // The same series again (a live page's next poll): new data into the same chart, so the user's zoom and hover stay.
  const signature = JSON.stringify([title, log, yLabel, xLabel, opts.series.map(x => x.label), opts.bands.length]);
  if (box._plot && box._signature === signature) {
    box._plot.setData(data, !box._zoomed); // a zoomed chart keeps its range; otherwise it grows with the data
    return box._plot;
  }
  opts.hooks = { setSelect: [u => { if (u.select.width > 0) box._zoomed = true; }] };
  if (!box._dblclick) { box._dblclick = true; box.addEventListener("dblclick", () => { box._zoomed = false; }); }
  if (box._plot) box._plot.destroy();
  box.replaceChildren();
  const plot = new uPlot(opts, data, box);
  box._plot = plot;
  box._signature = signature;
  // The bands' edges are in the data (the hover read-out), not in the legend.
  const rows = plot.root.querySelectorAll(".u-legend .u-series");
  for (const i of hidden) if (rows[i]) rows[i].style.display = "none";
  box.dataset.series = String(series.length);
  box.dataset.labels = JSON.stringify(series.map(s => s.label));
  const resize = () => plot.setSize({ width: Math.max(320, box.clientWidth), height });
  window.addEventListener("resize", resize);
  const prev = stopPage;
  stopPage = () => { window.removeEventListener("resize", resize); if (box._plot === plot) { plot.destroy(); box._plot = null; } prev(); };
  return plot;
}

/** Linear / log toggle and metric choice above a chart. */
function chartControls(metrics, state, redraw, prefix = "") {
  const pick = h("select", { "aria-label": "metric", id: prefix + "metric" }, ...metrics.map(m => h("option", { value: m, selected: m === state.metric }, m)));
  pick.addEventListener("change", () => { state.metric = pick.value; state.chosen = true; redraw(); });
  const lin = h("button", { class: state.log ? "" : "on", id: prefix + "scale-linear" }, "linear");
  const log = h("button", { class: state.log ? "on" : "", id: prefix + "scale-log" }, "log");
  lin.addEventListener("click", () => { state.log = false; lin.classList.add("on"); log.classList.remove("on"); redraw(); });
  log.addEventListener("click", () => { state.log = true; log.classList.add("on"); lin.classList.remove("on"); redraw(); });
  return h("div", { class: "bar" }, pick, h("span", { class: "chips" }, lin, log));
}

// ---- run page -----------------------------------------------------------------------------------

function RunPage([id], q) {
  const head = h("h1", {}, id);
  const overview = h("div", {});
  const dynamics = h("div", { id: "dynamics", style: { display: "none" } });
  const tabs = { overview: h("button", { id: "tab-overview" }, "Overview"), dynamics: h("button", { id: "tab-dynamics" }, "Dynamics") };
  const show = (tab, save) => {
    for (const [k, b] of Object.entries(tabs)) b.classList.toggle("on", k === tab);
    overview.style.display = tab === "overview" ? "" : "none";
    dynamics.style.display = tab === "dynamics" ? "" : "none";
    if (save) { const s = new URLSearchParams(); if (tab !== "overview") s.set("tab", tab); go("/run/" + encodeURIComponent(id), s, true); }
    if (tab === "dynamics") loadSteps();
  };
  tabs.overview.addEventListener("click", () => show("overview", true));
  tabs.dynamics.addEventListener("click", () => show("dynamics", true));
  const body = overview;
  const headline = h("div", { class: "headline", id: "headline" });
  main().append(head, headline, h("div", { class: "chips tabs", role: "tablist" }, tabs.overview, tabs.dynamics), overview, dynamics);
  const stepState = { metric: "batch_loss", log: true }, probeState = { metric: "weight.update_ratio", log: true };
  // Kept across the 2-second updates of a running run: the chart takes the new epochs in place, keeping the user's zoom and hover.
  const chartBox = h("div", { class: "chart", id: "run-chart" });
  const stepBox = h("div", { class: "chart", id: "steps-chart" }), probeBox = h("div", { class: "chart", id: "probe-chart" });
  let lastSteps = null, stepsPolling = false, running = false;

  /** The Dynamics tab: every step's batch loss, accuracy and rate, and each layer's probes (live while the run trains). */
  async function loadSteps() {
    let d;
    try { d = await api("/api/run/" + encodeURIComponent(id) + "/steps"); }
    catch (e) { put(dynamics, h("div", { class: "card error" }, e.message)); return; }
    const text = JSON.stringify(d);
    if (text === lastSteps) return;
    lastSteps = text;
    if (!d.steps) { put(dynamics, h("div", { class: "card muted", id: "no-steps" }, running ? "No step has been recorded yet." : "This run has no per-step record (steps.csv.gz).")); return; }
    const drawSteps = () => {
      const s = d.series[stepState.metric];
      lineChart(stepBox, { series: [{ label: stepState.metric.replace("_", " "), x: s.x, y: s.y, color: "#2f6fdb" }], log: stepState.log, yLabel: stepState.metric, xLabel: "step", height: 280 });
    };
    const cards = [h("div", { class: "card" }, h("h2", {}, `Every step (${fmtInt(d.steps)} recorded)`),
      chartControls(Object.keys(d.series), stepState, drawSteps, "steps-"), stepBox,
      h("div", { class: "legend-note" }, "Each pixel column is drawn from its lowest and its highest step, so no spike is lost at any width."))];
    const probes = [...new Set(d.layers.flatMap(l => Object.keys(l.probes)))];
    if (probes.length) {
      if (!probes.includes(probeState.metric)) probeState.metric = probes[0];
      const drawProbe = () => {
        const series = d.layers.filter(l => l.probes[probeState.metric]).map((l, i) => ({ label: l.name, x: l.probes[probeState.metric].x, y: l.probes[probeState.metric].y, color: PALETTE[i % PALETTE.length] }));
        // Norms and ratios span decades: a log axis unless a value is not positive.
        const positive = series.every(s => s.y.every(v => v === null || v > 0));
        lineChart(probeBox, { series, log: probeState.log && positive, yLabel: probeState.metric, xLabel: "step", height: 300 });
      };
      cards.push(h("div", { class: "card" }, h("h2", {}, `Per layer (${fmtInt(d.probed)} probed steps)`),
        chartControls(probes, probeState, drawProbe, "probe-"), probeBox,
        h("div", { class: "legend-note" }, "grad_norm: ‖g‖ after the batch reduction; update_ratio: ‖Δw‖/‖w‖; dead / saturated: the fraction of units passing no gradient for any example of the batch; pre_mean, pre_std: the pre-activations. A log axis falls back to linear where a value is 0 or negative.")));
      put(dynamics, ...cards);
      drawSteps(); drawProbe();
    } else {
      cards.push(h("div", { class: "card muted", id: "no-probes" }, "No probes in this run: add ", h("code", {}, "probes: {}"), " to its config to see each layer's gradient, weight and update norms and its dead or saturated units."));
      put(dynamics, ...cards);
      drawSteps();
    }
  }
  const chartState = { metric: "accuracy", log: false };
  let evaluated = false, last = null;

  async function load() {
    let r;
    try { r = await api("/api/run/" + encodeURIComponent(id)); }
    catch (e) { put(body, h("div", { class: "card error" }, e.message)); return; }
    const changed = JSON.stringify(r) !== last;
    last = JSON.stringify(r);
    if (!changed) return;
    const rec = r.record || {}, sum = r.summary || {};
    put(head, h("span", { class: "mono" }, r.id), pill(r.status || "?"), h("span", { class: "muted", style: { fontWeight: 400, fontSize: "14px" } }, rec.experiment || ""),
      rec.superseded_by ? h("span", { class: "pill super" }, "superseded by " + rec.superseded_by) : null);
    // The headline: how it ended and its result, before anything else.
    const fin = sum.final || {}, lastEpoch = r.metrics.length ? Math.max(...r.metrics.map(m => m.epoch)) : 0;
    const held = fin.validation_accuracy !== undefined ? ["validation accuracy", fin.validation_accuracy] : fin.test_accuracy !== undefined ? ["test accuracy", fin.test_accuracy] : null;
    const live = r.status === "RUNNING" ? r.metrics.filter(m => m.epoch === lastEpoch && (m.split === "validation" || m.split === "test")).sort((a, b) => a.split.localeCompare(b.split)).pop() : null;
    put(headline,
      held ? h("span", {}, h("span", { class: "big", id: "headline-value" }, num(held[1])), " ", held[0]) : live ? h("span", {}, h("span", { class: "big", id: "headline-value" }, num(live.accuracy)), ` ${live.split} accuracy after epoch ${live.epoch} (running)`) : h("span", { class: "muted" }, "no epoch finished"),
      fin.test_accuracy !== undefined && held && held[0] !== "test accuracy" ? h("span", { class: "muted" }, `test accuracy ${num(fin.test_accuracy)}`) : null,
      sum.epochs_run !== undefined ? h("span", { class: "muted" }, `${sum.epochs_run} epochs` + (sum.best_epoch !== undefined ? `, best ${sum.best_epoch} by ${(sum.best_by || "").replace("_", " ")}` : "")) : null,
      rec.reason && r.status !== "FINISHED" ? h("span", { class: "muted small" }, rec.reason) : null);
    const record = h("table", { class: "kv", id: "record" });
    const row = (k, v) => v === null || v === undefined || v === "" ? null : record.append(h("tr", {}, h("th", {}, k), h("td", {}, v)));
    row("status", r.status); row("reason", rec.reason); row("seed", rec.seed); row("started", time(rec.started)); row("ended", rec.ended ? time(rec.ended) : null);
    row("duration", rec.duration_seconds !== undefined ? num(rec.duration_seconds) + " s" : null);
    row("epochs", sum.epochs_run); row("best epoch", sum.best_epoch !== undefined ? `${sum.best_epoch} (by ${sum.best_by || "?"})` : null);
    row("precision", rec.precision); row("threads", rec.threads);
    if (rec.dataset) {
      row("data", `${rec.dataset.name} — ${rec.dataset.source} (train ${rec.dataset.train_count}, validation ${rec.dataset.validation_count}, test ${rec.dataset.test_count})`);
      for (const [f, sha] of Object.entries(rec.dataset.sha256 || {})) row("  " + f, "sha256 " + sha);
    }
    row("git commit", rec.git_commit ? rec.git_commit + (rec.git_dirty ? " (uncommitted changes)" : "") : null);
    row("config", rec.source_config || rec.config_file); row("overrides", (rec.overrides || []).join("  "));
    for (const [k, v] of Object.entries(rec.versions || {})) row(k, v);
    row("host", rec.host ? `${rec.host} (pid ${rec.pid})` : null); row("user", rec.user);
    row("sweep", rec.sweep ? `${rec.sweep.id}, trial ${rec.sweep.trial}` : null);
    row("slurm", rec.slurm ? `job ${rec.slurm.job_id}` + (rec.slurm.array_job_id ? ` (array ${rec.slurm.array_job_id}_${rec.slurm.array_task_id})` : "") : null);
    row("folder", r.dir);

    const metricsCard = h("div", { class: "card" }, h("h2", {}, "Metrics per epoch"));
    const splits = [...new Set(r.metrics.map(m => m.split))];
    const redraw = () => {
      // The learning rate is the run's (the schedule's rate at each epoch's last step), not a split's.
      const series = chartState.metric === "learning_rate"
        ? [{ label: "learning rate", x: r.metrics.filter(m => m.split === splits[0]).map(m => m.epoch), y: r.metrics.filter(m => m.split === splits[0]).map(m => m.learning_rate), color: "#6b7482" }]
        : splits.map((s, i) => {
          const rows = r.metrics.filter(m => m.split === s);
          return { label: `${s} ${chartState.metric}`, x: rows.map(m => m.epoch), y: rows.map(m => m[chartState.metric]), color: { train: "#2f6fdb", validation: "#e8a200", test: "#d9480f" }[s] || PALETTE[i] };
        });
      lineChart(chartBox, { series, log: chartState.log, yLabel: chartState.metric });
    };
    const epochs = [...new Set(r.metrics.map(m => m.epoch))];
    const mtable = h("table", { class: "plain", id: "metrics-table" }, h("thead", {}, h("tr", {}, h("th", { class: "num" }, "epoch"),
      ...splits.flatMap(s => [h("th", { class: "num" }, s + " loss"), h("th", { class: "num" }, s + " acc")]), h("th", { class: "num" }, "lr"), h("th", { class: "num" }, "seconds"))),
      h("tbody", {}, ...epochs.map(e => {
        const of = s => r.metrics.find(m => m.epoch === e && m.split === s) || {};
        const any = r.metrics.find(m => m.epoch === e);
        return h("tr", {}, h("td", { class: "num" }, e), ...splits.flatMap(s => [h("td", { class: "num" }, num(of(s).loss)), h("td", { class: "num" }, num(of(s).accuracy))]),
          h("td", { class: "num" }, num(any.learning_rate)), h("td", { class: "num" }, num(any.seconds, 3)));
      })));
    if (r.metrics.length) metricsCard.append(chartControls(["accuracy", "loss", "learning_rate"], chartState, redraw), chartBox, h("div", { class: "scrollbox", style: { marginTop: "10px" } }, mtable));
    else metricsCard.append(h("div", { class: "muted" }, r.status === "RUNNING" ? "No epoch has ended yet." : "No metrics were written."));

    // What a person says of the run: label, tags, note — written to its folder first (meta.json), then shown.
    const meta = r.meta || { tags: {} };
    const labelIn = h("input", { type: "text", id: "meta-label", value: meta.label || "", placeholder: "a label for this run", "aria-label": "label" });
    const tagsIn = h("input", { type: "text", id: "meta-tags", value: Object.entries(meta.tags || {}).map(([k, v]) => `${k}=${v}`).join(", "), placeholder: "key=value, key=value", "aria-label": "tags" });
    const noteIn = h("textarea", { id: "meta-note", rows: 4, placeholder: "a note (Markdown)", "aria-label": "note" }, meta.note || "");
    const metaStatus = h("span", { class: "small muted", id: "meta-status" });
    const saveMeta = h("button", { class: "primary", id: "meta-save" }, "Save");
    saveMeta.addEventListener("click", async () => {
      const tags = {};
      for (const part of tagsIn.value.split(",").map(x => x.trim()).filter(Boolean)) {
        const eq = part.indexOf("=");
        if (eq <= 0) { metaStatus.textContent = `'${part}': key=value`; metaStatus.className = "small error"; return; }
        tags[part.slice(0, eq).trim()] = part.slice(eq + 1).trim();
      }
      try {
        const saved = await write(`/api/write/run/${encodeURIComponent(r.id)}/meta`, { label: labelIn.value, tags, note: noteIn.value });
        metaStatus.textContent = `saved (${Object.keys(saved.tags).length} tags)`; metaStatus.className = "small muted";
        last = null; // the next look reads the folder again
      } catch (e) { metaStatus.textContent = e.message; metaStatus.className = "small error"; }
    });
    const trashButton = h("button", { id: "run-trash" }, "Move to the trash");
    trashButton.addEventListener("click", async () => {
      if (!confirm(`Move run ${r.id} to the trash? (the Trash page restores it)`)) return;
      try { await write(`/api/write/run/${encodeURIComponent(r.id)}/trash`); go("/trash"); }
      catch (e) { metaStatus.textContent = e.message; metaStatus.className = "small error"; }
    });
    const metaCard = h("div", { class: "card", id: "meta" }, h("h2", {}, "Label, tags and note"),
      h("div", { class: "meta-form" }, h("label", {}, "label", labelIn), h("label", {}, "tags", tagsIn), h("label", {}, "note", noteIn)),
      h("div", { class: "bar" }, saveMeta, metaStatus, h("span", { class: "grow" }), r.status === "RUNNING" ? null : trashButton));

    const files = h("ul", { id: "files", class: "mono", style: { margin: 0, paddingLeft: "18px" } }, ...r.files.map(f => h("li", {}, h("a", { href: `/api/run/${encodeURIComponent(r.id)}/file/${encodeURIComponent(f.name)}`, target: "_blank" }, f.name), h("span", { class: "muted" }, `  ${fmtInt(f.bytes)} bytes`))));
    const evalCard = h("div", { class: "card", id: "evaluation" }, h("h2", {}, "Confusion matrix and misclassified test examples"), h("div", { class: "muted" }, "…"));
    put(body, 
      r.problems.length ? h("div", { class: "card error" }, ...r.problems.map(p => h("div", {}, p))) : null,
      h("div", { class: "grid" }, h("div", { class: "card" }, h("h2", {}, "Record"), record), metricsCard),
      h("div", { style: { height: "14px" } }),
      evalCard,
      h("div", { class: "grid" },
        h("div", { class: "card" }, h("h2", {}, "Config"), r.config ? h("pre", { class: "text", id: "config" }, r.config.text) : h("div", { class: "muted" }, "no config.yaml")),
        h("div", { class: "card" }, h("h2", {}, "Log"), r.log ? h("pre", { class: "text", id: "log" }, (r.log.cut ? "… (the start is left out)\n" : "") + r.log.text) : h("div", { class: "muted" }, "no log.txt"))),
      h("div", { style: { height: "14px" } }),
      metaCard,
      h("div", { class: "card" }, h("h2", {}, "Files"), files));
    if (r.metrics.length) redraw();
    const logPane = body.querySelector("#log");
    if (logPane) logPane.scrollTop = logPane.scrollHeight; // how the run ended is at the end of its log
    const hasWeights = r.files.some(f => f.name === "model.safetensors");
    // Which weights the matrix is of: it must not pass for the metrics of another epoch.
    const whose = r.status === "FINISHED" || r.status === "PRUNED"
      ? `the saved weights: those of epoch ${sum.weights_epoch ?? lastEpoch}${sum.weights_epoch !== undefined && sum.weights_epoch !== lastEpoch ? " (the best, restored)" : ""}, as in the metrics.`
      : `the weights saved when the run stopped (${r.status}), part-way into epoch ${lastEpoch + 1}: they are not those of the metrics' last row (epoch ${lastEpoch}), so the numbers differ.`;
    if (r.status === "DIVERGED") evalCard.lastChild.textContent = "The run diverged: its weights hold NaN or infinite values, so a confusion matrix would mean nothing.";
    else if (hasWeights && r.status !== "RUNNING") evaluate(evalCard, whose);
    else evalCard.lastChild.textContent = r.status === "RUNNING" ? "Shown when the run has ended." : "This run saved no weights to evaluate.";
    running = r.status === "RUNNING";
    if (r.status === "RUNNING" && !polling) { polling = true; every(2000, load); }
    if (r.status === "RUNNING" && !stepsPolling) { stepsPolling = true; every(2000, () => dynamics.style.display === "none" ? null : loadSteps()); }
  }
  let polling = false;

  async function evaluate(card, whose) {
    let e;
    try { e = await api(`/api/run/${encodeURIComponent(id)}/evaluation`); }
    catch (err) { card.lastChild.textContent = err.message; card.lastChild.className = "error"; return; }
    const k = e.confusion.length, max = Math.max(1, ...e.confusion.flat());
    const short = s => s.length > 9 ? s.slice(0, 8) + "…" : s;
    const table = h("table", { class: "confusion", id: "confusion" }, h("tr", {}, h("th", { title: "true class ↓, predicted →" }, "true \\ pred"), ...e.classes.map(c => h("th", { title: c }, short(c)))),
      ...e.confusion.map((row, a) => h("tr", {}, h("th", { title: e.classes[a] }, short(e.classes[a])), ...row.map((v, p) => {
        const t = v / max, diag = a === p;
        const bg = v === 0 ? "#f7f8fa" : diag ? `rgba(31,138,76,${0.12 + 0.8 * t})` : `rgba(198,47,47,${0.12 + 0.8 * Math.sqrt(t)})`;
        return h("td", { style: { background: bg, color: t > 0.55 ? "#fff" : "#1d2430" }, title: `${e.classes[a]} predicted as ${e.classes[p]}: ${v}` }, v);
      }))));
    const parts = [h("div", { class: "muted small", style: { marginBottom: "8px" }, id: "evaluation-note" }, `${fmtInt(e.examples)} test examples: accuracy ${num(e.accuracy)}, loss ${num(e.loss)}. Rows: true class; columns: predicted. Of ${whose}`),
      h("div", { style: { overflowX: "auto" } }, table)];
    if (e.images && e.mistakes.length) {
      parts.push(h("h2", { style: { marginTop: "14px" } }, `Misclassified (the first ${e.mistakes.length})`),
        h("div", { class: "gallery", id: "gallery" }, ...e.mistakes.map(m => h("figure", {},
          h("img", { src: `/api/run/${encodeURIComponent(id)}/example/${m.example}.png`, alt: `example ${m.example}`, loading: "lazy", title: `example ${m.example}` }),
          h("figcaption", {}, short(e.classes[m.label]), h("br"), h("span", { class: "wrong" }, "→ " + short(e.classes[m.predicted])))))));
    } else if (!e.images) parts.push(h("div", { class: "muted small" }, "Not image data: no gallery."));
    card.replaceChildren(h("h2", {}, "Confusion matrix and misclassified test examples"), ...parts);
  }

  load();
  show(q.get("tab") === "dynamics" ? "dynamics" : "overview", false);
}

// ---- compare page -------------------------------------------------------------------------------

function ComparePage(_, q) {
  const p = new URLSearchParams();
  for (const k of ["runs", "group", "filter", "sweep"]) if (q.get(k)) p.set(k, q.get(k));
  if (![...p.keys()].length) {
    main().append(h("div", { class: "empty" }, "Pick runs (or groups) on the ", h("a", { href: "#/runs" }, "runs page"), " and press Compare."));
    return;
  }
  const state = { metric: q.get("metric") || "test_accuracy", log: q.get("log") === "1" };
  const head = h("h1", {}, "Compare");
  const body = h("div", {});
  main().append(head, body);

  function save() {
    const s = new URLSearchParams(p);
    if (state.metric !== "test_accuracy") s.set("metric", state.metric);
    if (state.log) s.set("log", "1");
    go("/compare", s, true);
  }

  (async () => {
    let r;
    try { r = await api("/api/compare?" + p); }
    catch (e) { put(body, h("div", { class: "card error", id: "compare-error" }, e.message)); return; }
    const grouped = !!r.groups;
    const items = grouped ? r.groups : r.runs;
    const short = grouped ? shortKeys(r.group_by) : {};
    head.append(h("span", { class: "muted", style: { fontWeight: 400, fontSize: "14px" } }, grouped ? `${items.length} groups of ${fmtInt(r.runs)} runs by ${r.group_by.join(", ")}` : `${items.length} runs`));
    const seriesNames = [...new Set(items.flatMap(i => Object.keys(i.curves)))].sort();
    if (!seriesNames.includes(state.metric)) state.metric = seriesNames.find(s => s === "test_accuracy") || seriesNames[0] || state.metric;
    const chartBox = h("div", { class: "chart", id: "compare-chart" });
    const note = h("div", { class: "legend-note" });
    const redraw = () => {
      save();
      const series = items.filter(i => i.curves[state.metric]).map(i => {
        const c = i.curves[state.metric];
        if (grouped) return { label: r.group_by.map(k => `${short[k] || k}=${i.values[k] ?? "–"}`).join(", ") + ` (n=${i.n})`, x: c.epochs, y: c.mean, low: i.n > 1 ? c.low : null, high: i.n > 1 ? c.high : null };
        const epochs = Object.keys(c).map(Number).sort((a, b) => a - b);
        return { label: i.id, x: epochs, y: epochs.map(e => c[e]) };
      });
      lineChart(chartBox, { series, log: state.log, yLabel: state.metric, height: 360 });
      note.textContent = grouped
        ? "Lines: the mean of a group's runs at each epoch; bands: from its lowest to its highest run." + (items.some(g => g.drawn < g.n) ? ` Curves of groups over ${items[0].drawn} runs are drawn from their first ${items[0].drawn} runs.` : "")
        : "Hover to read every run's value at an epoch.";
    };
    body.append(h("div", { class: "card" }, chartControls(seriesNames, state, redraw), chartBox, note));
    if (seriesNames.length) redraw(); else chartBox.append(h("div", { class: "muted" }, "No metrics per epoch to draw."));

    // Every step: the batch loss (or any probe) of each run, or each group's mean with its band.
    const stepState = { metric: q.get("step_metric") || "batch_loss", log: q.get("step_log") !== "0" };
    const stepBox = h("div", { class: "chart", id: "compare-steps-chart" });
    const stepNote = h("div", { class: "legend-note" });
    const stepCard = h("div", { class: "card", id: "compare-steps" }, h("h2", {}, "Every step"), h("div", { class: "muted" }, "…"));
    body.append(stepCard);
    let stepMetrics = null;
    const drawSteps = async () => {
      const sp = new URLSearchParams(p);
      sp.set("metric", stepState.metric);
      let d;
      try { d = await api("/api/compare/steps?" + sp); }
      catch (e) { put(stepCard, h("h2", {}, "Every step"), h("div", { class: "error" }, e.message)); return; }
      if (!stepMetrics) {
        stepMetrics = d.metrics;
        put(stepCard, h("h2", {}, "Every step"), chartControls(stepMetrics, stepState, drawSteps, "steps-"), stepBox, stepNote);
      }
      const series = grouped
        ? d.groups.map(g => ({ label: r.group_by.map(k => `${short[k] || k}=${g.values[k] ?? "–"}`).join(", ") + ` (n=${g.n})`, x: g.x, y: g.mean, low: g.n > 1 ? g.low : null, high: g.n > 1 ? g.high : null }))
        : d.runs.map(r => ({ label: r.id, x: r.curve.x, y: r.curve.y }));
      const positive = series.every(s => s.y.every(v => v === null || v > 0) && (!s.low || s.low.every(v => v === null || v > 0)));
      lineChart(stepBox, { series, log: stepState.log && positive, yLabel: stepState.metric, xLabel: "step", height: 340 });
      stepNote.textContent = (grouped ? "Lines: a group's mean at each step; bands: its lowest to its highest run. " : "") +
        "Each pixel column is drawn from its lowest and highest step, so no spike is lost." + (stepState.log && !positive ? " (Linear: a value is 0 or negative.)" : "");
    };
    drawSteps();

    // Final metrics side by side.
    const finals = ["test_accuracy", "test_loss", "validation_accuracy", "train_loss", "best_epoch", "epochs_run", "duration"];
    if (grouped) {
      const cols = finals.filter(m => items.some(g => g.final[m]));
      const marked = items.some(g => g.same_config);
      body.append(h("div", { class: "card" }, h("h2", {}, "Final metrics (mean ± standard deviation; the 95% confidence interval on hover)"), h("div", { class: "scrollbox" }, h("table", { class: "plain", id: "final-table" },
        h("thead", {}, h("tr", {}, ...r.group_by.map(k => h("th", {}, k)), h("th", { title: "lr/B for mean, lr for sum" }, "effective lr"), marked ? h("th", { title: r.rule }, "same config") : null, h("th", { class: "num" }, "n"), ...cols.map(c => h("th", { class: "num" }, c)))),
        h("tbody", {}, ...items.map(g => h("tr", {}, ...r.group_by.map(k => h("td", { class: "mono" }, g.values[k] ?? "–")), h("td", { class: "mono" }, g.effective_lr ?? "–"),
          marked ? h("td", { class: "mono same", title: g.same_config ? "one configuration with the other rows marked " + g.same_config + ": " + r.rule : "" }, g.same_config || "") : null, h("td", { class: "num" }, g.n),
          ...cols.map(c => { const m = g.final[c]; return h("td", { class: "num", title: m && m.low !== null && m.low !== undefined ? `95% CI ${num(m.low)} … ${num(m.high)}` : "" }, m ? num(m.mean) + (m.n > 1 ? " ± " + num(m.std, 2) : "") : "–"); })))))),
        marked ? h("div", { class: "legend-note", id: "same-note" }, "Rows with the same ≡ mark are one configuration run twice — " + r.rule + ".") : null));
    } else {
      const cols = finals.filter(m => items.some(i => i.metrics[m] !== undefined));
      const diff = r.differing;
      body.append(h("div", { class: "card" }, h("h2", {}, diff.length ? `What differs (${diff.length} param${diff.length === 1 ? "" : "s"}) and the final metrics` : "Final metrics (the runs have the same params)"),
        h("div", { class: "scrollbox" }, h("table", { class: "plain", id: "diff-table" },
          h("thead", {}, h("tr", {}, h("th", {}, ""), ...items.map((i, n) => h("th", { class: "mono" }, h("span", { style: { color: PALETTE[n % PALETTE.length] } }, "● "), h("a", { href: "#/run/" + encodeURIComponent(i.id) }, i.id))))),
          h("tbody", {},
            h("tr", {}, h("td", {}, "status"), ...items.map(i => h("td", {}, pill(i.status)))),
            h("tr", {}, h("td", { title: "lr/B for mean, lr for sum" }, "effective lr"), ...items.map(i => h("td", { class: "mono" }, i.effective_lr ?? "–"))),
            items.some(i => i.same_config) ? h("tr", {}, h("td", { title: r.rule }, "same config"), ...items.map(i => h("td", { class: "mono same" }, i.same_config || ""))) : null,
            ...diff.map(k => h("tr", { class: "diff" }, h("td", { class: "mono" }, k), ...items.map(i => h("td", { class: "mono" }, i.params[k] ?? "–")))),
            ...cols.map(c => h("tr", {}, h("td", {}, c), ...items.map(i => h("td", { class: "num" }, num(i.metrics[c]))))))))),
        Object.keys(r.same).length ? h("details", { class: "card" }, h("summary", {}, `The ${Object.keys(r.same).length} params they share`),
          h("table", { class: "kv" }, ...Object.entries(r.same).map(([k, v]) => h("tr", {}, h("th", {}, k), h("td", {}, v ?? "–"))))) : null);
    }
    if (p.get("sweep")) SweepViews(body, p.get("sweep"));
  })();
}

// ---- trash --------------------------------------------------------------------------------------

function TrashPage() {
  const box = h("div", {});
  main().append(h("h1", {}, "Trash"), box);
  async function load() {
    const list = await api("/api/trash");
    if (!list.length) { box.replaceChildren(h("div", { class: "empty", id: "trash-empty" }, "The trash is empty.")); return; }
    box.replaceChildren(h("div", { class: "table", style: { overflowX: "auto" } }, h("table", { class: "plain", id: "trash-table" },
      h("thead", {}, h("tr", {}, h("th", {}, "run"), h("th", {}, "experiment"), h("th", {}, "status"), h("th", {}, "trashed (UTC)"), h("th", {}, ""))),
      h("tbody", {}, ...list.map(t => {
        const restore = h("button", { "data-restore": t.id }, "Restore");
        restore.addEventListener("click", async () => {
          try { await write(`/api/write/restore/${encodeURIComponent(t.id)}`); await load(); }
          catch (e) { restore.replaceWith(h("span", { class: "error" }, e.message)); }
        });
        return h("tr", {}, h("td", { class: "mono" }, t.id), h("td", {}, t.experiment), h("td", {}, pill(t.status)), h("td", { class: "mono" }, time(t.trashed)), h("td", {}, restore));
      })))));
  }
  load();
}

// ---- sweeps -------------------------------------------------------------------------------------

const STATUS_COLOR = { RUNNING: "#2f6fdb", FINISHED: "#1f8a4c", PRUNED: "#0e7c86", FAILED: "#c62f2f", DIVERGED: "#d97706", KILLED: "#6b7482", CRASHED: "#8e2a8e" };

function SweepsPage() {
  const box = h("div", {});
  main().append(h("h1", {}, "Sweeps"), box);
  async function load() {
    const list = await api("/api/sweeps");
    if (!list.length) { box.replaceChildren(h("div", { class: "empty" }, "No sweeps yet. Start one with: exprunner sweep experiments/mnist-mean-vs-sum.yaml")); return; }
    box.replaceChildren(h("div", { class: "table", style: { overflowX: "auto" } }, h("table", { class: "plain", id: "sweeps-table" },
      h("thead", {}, h("tr", {}, h("th", {}, "sweep"), h("th", {}, "experiment"), h("th", {}, "status"), h("th", {}, "trials"), h("th", {}, ""), h("th", {}, "swept"), h("th", {}, "executor"), h("th", {}, "created (UTC)"))),
      h("tbody", {}, ...list.map(s => s.problem ? h("tr", {}, h("td", { class: "mono" }, s.id), h("td", { class: "error", colspan: 7 }, s.problem)) : h("tr", {},
        h("td", { class: "mono" }, h("a", { href: "#/sweep/" + encodeURIComponent(s.id) }, s.id)), h("td", {}, s.experiment), h("td", {}, pill(s.status)),
        h("td", { class: "num" }, s.trials), h("td", {}, stack(s.counts, s.trials)), h("td", { class: "mono small" }, s.swept.join(", ") + (s.repeats > 1 ? ` ×${s.repeats} seeds` : "")),
        h("td", {}, s.executor), h("td", { class: "mono" }, time(s.created))))))));
    return list.some(s => s.status === "RUNNING");
  }
  load().then(running => { every(3000, load); });
}

function stack(counts, total) {
  return h("div", { class: "stack", title: Object.entries(counts).map(([s, n]) => `${n} ${s}`).join(", ") },
    ...Object.entries(counts).map(([s, n]) => h("span", { style: { width: (100 * n / Math.max(1, total)) + "%", background: STATUS_COLOR[s] || "#c5cbd3" } })));
}

function SweepPage([id]) {
  const head = h("h1", {}, id);
  const body = h("div", {});
  main().append(head, body);
  const trialsBox = h("div", { class: "card" });
  const chartCard = h("div", { class: "card" });
  const chartBox = h("div", { class: "chart", id: "sweep-chart" });
  const chartNote = h("div", { class: "legend-note" });
  const views = h("div", {});
  body.append(trialsBox, chartCard, views);
  let viewsKey = null, controlsFor = null, lastCurves = null;
  const chartState = { metric: "test_accuracy", log: false };

  async function load() {
    let s;
    try { s = await api("/api/sweep/" + encodeURIComponent(id)); }
    catch (e) { if (!trialsBox.childElementCount) put(body, h("div", { class: "card error" }, e.message)); return true; } // a failed poll keeps what is shown
    const counts = {};
    for (const t of s.trials) counts[t.status] = (counts[t.status] || 0) + 1;
    const seedless = s.swept.filter(k => k !== "seed");
    const repeats = s.repeats > 1 && seedless.length > 0;
    const compareLink = new URLSearchParams({ runs: s.trials.filter(t => t.run).map(t => t.run).slice(0, 200).join(","), sweep: s.id });
    if (repeats) compareLink.set("group", seedless.join(","));
    put(head, h("span", { class: "mono" }, s.id), pill(s.status), h("span", { class: "muted", style: { fontWeight: 400, fontSize: "14px" } }, `${s.experiment} · ${s.trials.length} trials · ${s.executor}`),
      h("a", { class: "right small", id: "compare-link", href: "#/compare?" + compareLink }, repeats ? "compare its groups (repeats as mean and band) →" : "compare its runs →"));
    const metric = s.trials.some(t => t.metrics && t.metrics.validation_accuracy !== undefined) ? "validation_accuracy" : "test_accuracy";
    const result = t => t.metrics && typeof t.metrics[metric] === "number" ? `${METRIC_LABEL[metric] || metric} ${num(t.metrics[metric])}` : t.status;
    trialsBox.replaceChildren(h("h2", {}, "Trials"), h("div", { class: "bar" }, stack(counts, s.trials.length), h("span", { class: "small muted" }, Object.entries(counts).map(([k, n]) => `${n} ${k}`).join(" · "))),
      h("div", { class: "scrollbox" }, h("table", { class: "plain", id: "trials-table" },
        h("thead", {}, h("tr", {}, h("th", { class: "num" }, "#"), h("th", {}, "status"), ...s.swept.map(k => h("th", {}, k)), h("th", {}, "progress"), h("th", { class: "num" }, metric), h("th", { class: "num" }, "seconds"), h("th", {}, "run"))),
        h("tbody", {}, ...s.trials.map(t => h("tr", { "data-trial": t.index },
          h("td", { class: "num" }, t.index), h("td", {}, pill(t.status, t.reason)), ...s.swept.map(k => h("td", { class: "mono" }, t.values[k] ?? "–")),
          h("td", {}, t.progress && t.status === "RUNNING" ? h("div", { style: { display: "flex", gap: "8px", alignItems: "center" } }, h("div", { class: "progress" }, h("span", { style: { width: (100 * t.progress.epoch / Math.max(1, t.progress.epochs)) + "%" } })), h("span", { class: "small mono" }, `${t.progress.epoch}/${t.progress.epochs}` + (t.progress.accuracy !== null && t.progress.accuracy !== undefined ? ` ${t.progress.metric} ${num(t.progress.accuracy)}` : "")))
            : t.status === "PRUNED" && t.reason ? h("span", { class: "small", title: t.reason }, t.reason.split(":")[0])
            : t.status === "FINISHED" || t.status === "DIVERGED" ? h("span", { class: "small" }, result(t)) : "–"),
          h("td", { class: "num" }, t.metrics ? num(t.metrics[metric]) : "–"), h("td", { class: "num" }, t.seconds !== null && t.seconds !== undefined ? num(t.seconds, 3) : "–"),
          h("td", { class: "mono" }, t.run ? h("a", { href: "#/run/" + encodeURIComponent(t.run) }, t.run) : "–")))))));
    // The trials' curves, growing while they train; repeats of one setting as their mean with a band. A poll that fails keeps the chart.
    const ids = s.trials.filter(t => t.run).map(t => t.run).slice(0, 200);
    if (ids.length) {
      let c = null;
      try { c = await api("/api/compare?" + new URLSearchParams({ runs: ids.join(",") })); }
      catch (e) { if (!lastCurves) chartCard.replaceChildren(h("h2", {}, "Learning curves"), h("div", { class: "muted" }, "Curves appear as the trials write their first epoch.")); }
      if (c) {
        lastCurves = c;
        const names = [...new Set(c.runs.flatMap(r => Object.keys(r.curves)))].sort();
        if (!chartState.chosen) chartState.metric = names.includes("validation_accuracy") ? "validation_accuracy" : chartState.metric; // what judges the trials
        if (!names.includes(chartState.metric)) chartState.metric = names[0] || chartState.metric;
        const redraw = () => {
          const withCurve = c.runs.filter(r => r.curves[chartState.metric]);
          const trialOf = r => s.trials.find(x => x.run === r.id);
          let series;
          if (repeats) {
            const groups = new Map();
            for (const r of withCurve) {
              const t = trialOf(r), key = seedless.map(k => `${k.split(".").pop()}=${t && t.values[k]}`).join(" ");
              if (!groups.has(key)) groups.set(key, []);
              groups.get(key).push(r.curves[chartState.metric]);
            }
            series = [...groups].map(([label, curves]) => {
              const epochs = [...new Set(curves.flatMap(cv => Object.keys(cv).map(Number)))].sort((a, b) => a - b);
              const at = epochs.map(e => curves.map(cv => cv[e]).filter(v => typeof v === "number"));
              return { label: `${label} (n=${curves.length})`, x: epochs, y: at.map(v => v.reduce((a, b) => a + b, 0) / v.length),
                low: curves.length > 1 ? at.map(v => Math.min(...v)) : null, high: curves.length > 1 ? at.map(v => Math.max(...v)) : null };
            });
          } else {
            series = withCurve.map(r => {
              const t = trialOf(r);
              const e = Object.keys(r.curves[chartState.metric]).map(Number).sort((a, b) => a - b);
              return { label: `#${t ? t.index : "?"} ` + s.swept.map(k => `${k.split(".").pop()}=${t && t.values[k]}`).join(" "), x: e, y: e.map(x => r.curves[chartState.metric][x]) };
            });
          }
          lineChart(chartBox, { series, log: chartState.log, yLabel: chartState.metric });
          chartNote.textContent = repeats ? "Each setting's repeats (seeds) as their mean, with a band from the lowest to the highest." : "";
        };
        const key = names.join(",");
        if (controlsFor !== key) { controlsFor = key; chartCard.replaceChildren(h("h2", {}, "Learning curves"), chartControls(names, chartState, redraw), chartBox, chartNote); }
        if (names.length) redraw();
      }
    }
    // The parallel coordinates and scatters follow the trials that have a result (and end as a fresh load shows them).
    const ended = s.status + ":" + s.trials.filter(t => t.metrics).map(t => t.index).join(",");
    if (ended !== viewsKey) { viewsKey = ended; views.replaceChildren(); SweepViews(views, id, s); }
    return s.status === "RUNNING";
  }
  load().then(running => { if (running) { const stop = every(2000, async () => { if (!(await load())) stop(); }); } });
}

/** A sweep's parallel coordinates (each trial a line through its swept values to its result) and each swept param against the result. */
async function SweepViews(box, id, sweep) {
  const s = sweep || await api("/api/sweep/" + encodeURIComponent(id));
  const ended = s.trials.filter(t => t.metrics);
  const metric = ended.some(t => typeof t.metrics.validation_accuracy === "number") ? "validation_accuracy" : "test_accuracy";
  const done = ended.filter(t => typeof t.metrics[metric] === "number"); // trials still training have no result yet
  if (!done.length || !s.swept.length) return;
  const axes = [...s.swept, metric];
  const W = 960, H = 330, pad = { l: 80, r: 90, t: 24, b: 44 };
  const short = shortKeys(s.swept);
  const value = (t, k) => k === metric ? t.metrics[k] : t.values[k];
  const scales = axes.map(k => {
    const vals = done.map(t => value(t, k)).filter(v => v !== null && v !== undefined);
    const nums = vals.map(Number);
    if (nums.every(v => isFinite(v))) {
      const lo = Math.min(...nums), hi = Math.max(...nums);
      const logScale = k !== metric && lo > 0 && hi / lo >= 100;
      const f = logScale ? v => (Math.log(v) - Math.log(lo)) / (Math.log(hi) - Math.log(lo) || 1) : v => (v - lo) / ((hi - lo) || 1);
      return { k, pos: v => f(Number(v)), ticks: [...new Set(nums)].sort((a, b) => a - b), log: logScale };
    }
    const cats = [...new Set(vals.map(String))].sort();
    return { k, pos: v => cats.length === 1 ? 0.5 : cats.indexOf(String(v)) / (cats.length - 1), ticks: cats, cat: true };
  });
  const x = i => pad.l + i * (W - pad.l - pad.r) / (axes.length - 1 || 1);
  const y = f => pad.t + (1 - f) * (H - pad.t - pad.b);
  const mvals = done.map(t => t.metrics[metric]).filter(v => typeof v === "number");
  const mlo = Math.min(...mvals), mhi = Math.max(...mvals);
  const color = v => { const f = typeof v === "number" ? (v - mlo) / ((mhi - mlo) || 1) : 0; return `hsl(${Math.round(10 + 120 * f)}, 70%, 42%)`; };
  const svg = h("svg:svg", { viewBox: `0 0 ${W} ${H}`, width: "100%", id: "parallel", role: "img", "aria-label": "parallel coordinates", style: { maxWidth: W + "px", display: "block" } });
  for (const t of done) {
    const pts = axes.map((k, i) => { const v = value(t, k); return v === null || v === undefined ? null : `${x(i)},${y(scales[i].pos(v))}`; });
    if (pts.some(p => p === null)) continue;
    svg.append(h("svg:polyline", { points: pts.join(" "), fill: "none", stroke: color(t.metrics[metric]), "stroke-width": 1.6, "stroke-opacity": 0.75, "data-trial": t.index },
      h("svg:title", {}, `trial ${t.index}: ` + axes.map(k => `${k}=${num(value(t, k))}`).join(", "))));
  }
  scales.forEach((sc, i) => {
    svg.append(h("svg:line", { x1: x(i), x2: x(i), y1: pad.t, y2: H - pad.b, stroke: "#9aa3af" }));
    svg.append(h("svg:text", { x: x(i), y: H - pad.b + 22, "text-anchor": "middle", "font-size": 12, fill: "#1d2430" }, (short[sc.k] || sc.k) + (sc.log ? " (log)" : "")));
    const ticks = sc.cat || sc.ticks.length <= 6 ? sc.ticks : [sc.ticks[0], sc.ticks[Math.floor(sc.ticks.length / 2)], sc.ticks[sc.ticks.length - 1]];
    for (const tk of ticks) svg.append(h("svg:text", { x: x(i) + 6, y: y(sc.pos(tk)) + 4, "font-size": 11, fill: "#6b7482" }, sc.cat ? tk : num(Number(tk), 3)));
  });
  const scatters = s.swept.map(k => {
    const pts = done.map(t => ({ t, v: t.values[k], m: t.metrics[metric] })).filter(p => p.v !== null && p.v !== undefined && typeof p.m === "number");
    const sc = scales[s.swept.indexOf(k)];
    const w = 300, hh = 220, pl = 50, pb = 36, pt = 14, pr = 14;
    const mx = f => pl + (0.08 + 0.84 * f) * (w - pl - pr), my = v => pt + (1 - (v - mlo) / ((mhi - mlo) || 1)) * (hh - pt - pb);
    const g = h("svg:svg", { viewBox: `0 0 ${w} ${hh}`, width: w, height: hh, class: "scatter", "data-param": k });
    g.append(h("svg:line", { x1: pl, x2: w - pr, y1: hh - pb, y2: hh - pb, stroke: "#9aa3af" }), h("svg:line", { x1: pl, x2: pl, y1: pt, y2: hh - pb, stroke: "#9aa3af" }));
    for (const tk of [mlo, (mlo + mhi) / 2, mhi]) g.append(h("svg:text", { x: pl - 6, y: my(tk) + 4, "text-anchor": "end", "font-size": 10, fill: "#6b7482" }, num(tk, 3)));
    const ticks = sc.cat || sc.ticks.length <= 5 ? sc.ticks : [sc.ticks[0], sc.ticks[sc.ticks.length - 1]];
    for (const tk of ticks) g.append(h("svg:text", { x: mx(sc.pos(tk)), y: hh - pb + 14, "text-anchor": "middle", "font-size": 10, fill: "#6b7482" }, sc.cat ? tk : num(Number(tk), 3)));
    g.append(h("svg:text", { x: (pl + w - pr) / 2, y: hh - 4, "text-anchor": "middle", "font-size": 11, fill: "#1d2430" }, (short[k] || k) + (sc.log ? " (log)" : "")));
    // Points at the same value are spread a little sideways so repeats stay visible.
    const seen = new Map();
    for (const p of pts) {
      const key = String(p.v), n = seen.get(key) || 0; seen.set(key, n + 1);
      g.append(h("svg:circle", { cx: mx(sc.pos(p.v)) + ((n % 5) - 2) * 3, cy: my(p.m), r: 4, fill: color(p.m), "fill-opacity": 0.8 }, h("svg:title", {}, `trial ${p.t.index}: ${k}=${p.v}, ${metric}=${num(p.m)}`)));
    }
    return g;
  });
  box.append(h("div", { class: "card" }, h("h2", {}, `Parallel coordinates: each trial from its swept values to ${metric} (colour: ${metric})`), svg),
    h("div", { class: "card" }, h("h2", {}, `Each swept param against ${metric}`), h("div", { style: { display: "flex", flexWrap: "wrap", gap: "18px" } }, ...scatters)));
}

// ---- start --------------------------------------------------------------------------------------

window.addEventListener("hashchange", onRoute);
api("/api/info").then(i => { document.getElementById("where").textContent = `${i.runs_root} · ${fmtInt(i.runs)} runs · v${i.version}`; }).catch(() => {});
onRoute();
