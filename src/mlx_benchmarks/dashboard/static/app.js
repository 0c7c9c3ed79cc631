/* The dashboard front-end: hash routes over the JSON API, drawn with the shared MB helpers (no innerHTML). */
"use strict";

(() => {
  const {el, clear, num, pct, shortTime} = MB;
  const root = document.getElementById("view");
  let generation = 0; // views draw into a detached box; only the newest navigation's box is shown
  const picked = new Set(); // runs ticked for comparison: kept across re-renders, so a filter applied mid-click loses no tick
  const FILTER_DELAY_MS = 400;

  async function api(path, params) {
    const query = new URLSearchParams();
    for (const [k, v] of Object.entries(params || {})) if (v !== undefined && v !== null && v !== "") query.set(k, v);
    const response = await fetch(path + (query.toString() ? "?" + query : ""), {headers: {Accept: "application/json"}});
    const data = await response.json();
    if (!response.ok) throw new Error(data.error || response.statusText);
    return data;
  }

  function parseHash() {
    const hash = location.hash.replace(/^#\/?/, "");
    const [path, query] = hash.split("?");
    const parts = path.split("/").map(decodeURIComponent);
    return {name: parts[0] || "leaderboard", arg: parts.slice(1).join("/"), params: Object.fromEntries(new URLSearchParams(query || ""))};
  }

  function go(name, params, arg) {
    const query = new URLSearchParams(Object.entries(params || {}).filter(([, v]) => v !== undefined && v !== null && v !== ""));
    location.hash = "#/" + name + (arg ? "/" + encodeURIComponent(arg) : "") + (query.toString() ? "?" + query : "");
  }

  function runLink(id) {
    return el("a", {href: "#/run/" + encodeURIComponent(id), class: "run-link"}, id);
  }

  function select(name, options, current, onchange) {
    return el("label", {}, name, el("select", {name: name, onchange: (e) => onchange(e.target.value)},
      options.map(([value, label]) => el("option", {value: value, selected: value === (current || "")}, label))));
  }

  /* A text filter applied while typing (after a pause) and on Enter, never on blur: blur comes from the
   * mousedown of the next click, and re-drawing the page then swapped the clicked checkbox away. */
  function textInput(name, current, apply) {
    let timer = null;
    const fire = (value) => {
      clearTimeout(timer);
      if (value !== (current || "")) apply(value);
    };
    const input = el("input", {type: "text", name: name, value: current || "",
      oninput: (e) => { clearTimeout(timer); const v = e.target.value; timer = setTimeout(() => fire(v), FILTER_DELAY_MS); }});
    input.addEventListener("keydown", (e) => { if (e.key === "Enter") fire(input.value); });
    return el("label", {}, name, input);
  }

  function card(title, ...body) {
    return el("section", {class: "card"}, title ? el("h2", {}, title) : null, ...body);
  }

  function metricOptions(catalog, suite) {
    const entry = catalog.suites.find((s) => s.suite === suite);
    return entry ? entry.metrics.map((m) => [m.name + "|" + m.metric, MB.keyLabel(m) + " (" + m.unit + ")"]) : [];
  }

  function splitKey(key) {
    const at = (key || "").lastIndexOf("|");
    return at < 0 ? [null, null] : [key.slice(0, at), key.slice(at + 1)];
  }

  async function status() {
    const c = await api("/api/catalog");
    clear(document.getElementById("status")).append(c.n_runs + " runs · newest " + shortTime(c.newest));
    return c;
  }

  // ---- views --------------------------------------------------------------------------------------------
  async function leaderboardView(p, out) {
    const catalog = await status();
    const suites = [["", "all suites"], ...catalog.suites.map((s) => [s.suite, s.suite])];
    const [name, metric] = splitKey(p.key);
    const controls = el("div", {class: "controls"},
      select("suite", suites, p.suite, (v) => go("leaderboard", {suite: v, model: p.model})),
      p.suite ? select("metric", [["", "headline"], ...metricOptions(catalog, p.suite)], p.key, (v) => go("leaderboard", {...p, key: v})) : null,
      textInput("model", p.model, (v) => go("leaderboard", {...p, model: v})));
    const boards = await api("/api/leaderboard", {suite: p.suite, model: p.model, name: name, metric: metric});
    out.append(card("Leaderboard: latest result per model and configuration", controls,
      boards.length ? null : el("p", {class: "muted"}, "no runs with results"),
      boards.map((b) => el("div", {class: "board", dataset: {suite: b.suite}}, el("h3", {}, b.suite),
        MB.leaderboardChart(b), MB.leaderboardTable(b, runLink)))));
  }

  async function trendView(p, out) {
    const catalog = await status();
    const suite = p.suite || (catalog.suites[0] || {}).suite;
    if (!suite) return out.append(card("Trend", el("p", {class: "muted"}, "no results stored yet")));
    const options = metricOptions(catalog, suite);
    const key = p.key || (options[0] || [""])[0];
    const [name, metric] = splitKey(key);
    const controls = el("div", {class: "controls"},
      select("suite", catalog.suites.map((s) => [s.suite, s.suite]), suite, (v) => go("trend", {suite: v, model: p.model})),
      select("metric", options, key, (v) => go("trend", {suite: suite, key: v, model: p.model})),
      textInput("model", p.model, (v) => go("trend", {suite: suite, key: key, model: v})));
    const t = await api("/api/trend", {suite: suite, name: name, metric: metric, model: p.model});
    // one series per model and configuration; a series too short for the test is "not tested", not "no change"
    const counts = MB.table(["model", "runs", "latest", "change test"], t.series.map((s) => el("tr", {class: "series-row", dataset: {points: s.points.length, tested: String(s.tested)}},
      el("td", {class: "model"}, s.label || s.model), el("td", {class: "num"}, String(s.points.length)),
      el("td", {class: "num"}, num(s.points[s.points.length - 1].value, t.unit)),
      el("td", {class: "tested"}, s.tested ? "tested" : "not tested: " + s.points.length + " of " + s.min_runs + " runs needed"))), {class: "grid series-table"});
    const untested = t.series.filter((s) => !s.tested).length;
    const shortNote = untested ? el("p", {class: "muted too-short"}, untested + " of " + t.series.length +
      " series have fewer runs than the change-point test needs to reach its level (" + t.series[0].min_runs + "): not tested") : null;
    out.append(card("Trend over time", controls, MB.trendChart(t), el("h3", {}, "Change points"), MB.changePointList(t), shortNote, counts));
  }

  async function pivotView(p, out) {
    const catalog = await status();
    const suite = p.suite || (catalog.suites[0] || {}).suite;
    if (!suite) return out.append(card("Pivot", el("p", {class: "muted"}, "no results stored yet")));
    const entry = catalog.suites.find((s) => s.suite === suite);
    const metrics = [...new Set((entry ? entry.metrics : []).map((m) => m.metric))];
    const pv = await api("/api/pivot", {suite: suite, metric: p.metric, model: p.model});
    const controls = el("div", {class: "controls"},
      select("suite", catalog.suites.map((s) => [s.suite, s.suite]), suite, (v) => go("pivot", {suite: v, model: p.model})),
      select("metric", metrics.map((m) => [m, m]), pv.metric, (v) => go("pivot", {suite: suite, metric: v, model: p.model})),
      textInput("model", p.model, (v) => go("pivot", {suite: suite, metric: pv.metric, model: v})));
    out.append(card("Models × tasks" + (pv.metric ? ": " + MB.withUnit(pv.metric.replace(/_/g, " "), pv.unit) : ""), controls, MB.pivotTable(pv)));
  }

  async function runsView(p, out) {
    const catalog = await status();
    const offset = Number(p.offset || 0);
    const data = await api("/api/runs", {suite: p.suite, model: p.model, limit: 50, offset: offset});
    const compareButton = el("button", {type: "button", disabled: picked.size !== 2, onclick: () => {
      const [a, b] = [...picked];
      go("compare", {a: a, b: b});
    }}, "Compare the two selected runs");
    const table = MB.runsTable(data.runs, runLink);
    for (const row of table.querySelectorAll("tr.run-row")) {
      const box = el("input", {type: "checkbox", checked: picked.has(row.dataset.run), onchange: (e) => {
        if (e.target.checked) picked.add(row.dataset.run); else picked.delete(row.dataset.run);
        compareButton.disabled = picked.size !== 2;
      }});
      row.insertBefore(el("td", {}, box), row.firstChild);
    }
    table.querySelector("thead tr").insertBefore(el("th", {}, "pick"), table.querySelector("thead th"));
    const controls = el("div", {class: "controls"},
      select("suite", [["", "all suites"], ...catalog.suites.map((s) => [s.suite, s.suite])], p.suite, (v) => go("runs", {suite: v, model: p.model})),
      textInput("model", p.model, (v) => go("runs", {suite: p.suite, model: v})), compareButton);
    out.append(card("Runs", controls, pager(data.total, offset, 50, (o) => go("runs", {...p, offset: o})), table));
  }

  function pager(total, offset, size, move) {
    return el("div", {class: "pager"},
      el("button", {type: "button", disabled: offset <= 0, onclick: () => move(Math.max(0, offset - size))}, "previous"),
      el("span", {class: "page-info"}, total ? (offset + 1) + "–" + Math.min(total, offset + size) + " of " + total : "none"),
      el("button", {type: "button", disabled: offset + size >= total, onclick: () => move(offset + size)}, "next"));
  }

  async function runView(id, p, out) {
    await status();
    const d = await api("/api/runs/" + encodeURIComponent(id));
    const env = d.envelope;
    const head = {model: env.model, suite: env.suite, timestamp: env.timestamp, git_sha: env.git_sha, trigger: env.trigger,
      quantization: env.quantization, model_revision: env.model_revision, seed: env.seed, skipped: env.skipped};
    // tags fold behind a toggle: a throughput result carries ~40 of them
    const tagList = (tags) => {
      const entries = Object.entries(tags || {});
      if (!entries.length) return "";
      return el("details", {class: "tags"}, el("summary", {}, entries.length + " tags"),
        el("ul", {}, entries.map(([k, v]) => el("li", {}, k + " = " + (typeof v === "object" && v !== null ? JSON.stringify(v) : String(v))))));
    };
    // the tags that tell namesakes apart (tok_per_sec_128 at tg 32 and at tg 128) stay in view
    const KEY_TAGS = [["prompt_tokens_requested", "pp"], ["gen_tokens_requested", "tg"], ["concurrency", "c"], ["request_rate", "rate"]];
    const keyTags = (tags) => KEY_TAGS.filter(([k]) => tags && tags[k] !== undefined).map(([k, short]) => short + " " + tags[k]).join(" · ");
    // the settings column only where a result has one; the stored name and metric stay in the cell's title
    const settings = d.results.some((r) => keyTags(r.tags));
    const stderr = (r) => (r.tags && r.tags.stderr !== undefined && r.tags.stderr !== "" ? num(Number(r.tags.stderr)) : "");
    const results = MB.table(["result", ...(settings ? ["settings"] : []), "value", "± stderr", "unit", "tags"], d.results.map((r) => el("tr", {class: "result-row"},
      el("td", {class: "result-name", title: r.name + " · " + r.metric}, r.title || r.name), settings ? el("td", {class: "key-tags"}, keyTags(r.tags)) : null,
      el("td", {class: "num"}, num(r.value)), el("td", {class: "num stderr"}, stderr(r)), el("td", {}, MB.unitLabel(r.unit)),
      el("td", {class: "tags-cell"}, tagList(r.tags)))), {class: "grid results-table"});
    out.append(card("Run " + d.run_id, MB.keyValueTable(Object.fromEntries(Object.entries(head).filter(([, v]) => v !== undefined && v !== null)), "kv-table run-head"),
      el("p", {}, el("a", {href: "#/compare?a=" + encodeURIComponent(d.run_id)}, "compare with another run…"))));
    out.append(card("System", MB.keyValueTable(d.system, "kv-table system-table"), env.gen_kwargs ? MB.keyValueTable(env.gen_kwargs, "kv-table gen-table") : null));
    if (d.cells && d.cells.length) {
      out.append(card("Prompt length × generated tokens", MB.throughputCharts(d.cells)));
      if (d.cells.some((c) => c.trials_ttft_ms.length || c.trials_decode_tps.length)) out.append(card("Latency distributions", MB.distributionCharts(d.cells)));
    }
    if (d.sweep && d.sweep.length >= 2) out.append(card("Rate sweep", MB.sweepCharts(d.sweep, "")));
    out.append(card("Results", results));
    out.append(card("Memory timeline", d.memory.length ? [MB.memoryChart(d.memory), MB.memoryTable(d.memory)] : el("p", {class: "muted"}, "no memory snapshots")));
    out.append(card("Errors (" + d.errors.length + ")", d.errors.length ? el("ul", {class: "errors"}, d.errors.map((e) => el("li", {class: "error-text"}, e))) : el("p", {class: "muted"}, "none")));
    if (d.samples.total) out.append(await samplesCard(d, p));
  }

  async function samplesCard(d, p) {
    const offset = Number(p.offset || 0);
    const page = await api("/api/runs/" + encodeURIComponent(d.run_id) + "/samples", {offset: offset, limit: 20, q: p.q, task: p.task, status: p.status});
    const move = (changes) => go("run", {...p, ...changes}, d.run_id);
    const controls = el("div", {class: "controls"},
      textInput("search", p.q, (v) => move({q: v, offset: 0})),
      select("task", [["", "all tasks"], ...d.samples.tasks.map((t) => [t.task, t.task + " (" + t.n + ")"])], p.task, (v) => move({task: v, offset: 0})),
      select("status", [["all", "all"], ["error", "errors"], ["incorrect", "incorrect"], ["correct", "correct"]], p.status || "all", (v) => move({status: v, offset: 0})));
    const wide = new Set(["prompt", "response", "error", "extracted"]);
    const columns = d.samples.columns;
    const rows = page.samples.map((s) => el("tr", {class: "sample-row", dataset: {key: s.key !== undefined ? s.key : ""}},
      columns.map((c) => el("td", {class: "col-" + c.replace(/[^a-z0-9_]/gi, "")},
        wide.has(c) && s[c] !== null && s[c] !== undefined ? el("pre", {}, String(s[c])) : (typeof s[c] === "number" ? num(s[c]) : (s[c] === null || s[c] === undefined ? "" : String(s[c])))))));
    const summary = MB.table(["task", "samples", "errors", "mean score"], d.samples.tasks.map((t) => [t.task, String(t.n), String(t.errors), num(t.mean_score)]), {class: "grid task-table"});
    const samples = MB.table(columns, rows, {class: "grid samples-table"});
    samples.querySelectorAll("thead th").forEach((th, i) => th.classList.add("col-" + columns[i].replace(/[^a-z0-9_]/gi, "")));
    return card("Samples: " + page.matched + " of " + page.total, summary, controls,
      pager(page.matched, offset, 20, (o) => move({offset: o})), samples);
  }

  async function compareView(p, out) {
    await status();
    const inputs = {a: el("input", {type: "text", name: "a", value: p.a || "", placeholder: "baseline run id (or prefix)"}),
      b: el("input", {type: "text", name: "b", value: p.b || "", placeholder: "candidate run id (or prefix)"})};
    const form = el("div", {class: "controls"}, el("label", {}, "run A (baseline)", inputs.a), el("label", {}, "run B (candidate)", inputs.b),
      el("button", {type: "button", onclick: () => go("compare", {a: inputs.a.value.trim(), b: inputs.b.value.trim()})}, "Compare"));
    if (!p.a || !p.b) return out.append(card("Compare two runs", form, el("p", {class: "muted"}, "pick two runs here or on the Runs page")));
    const c = await api("/api/compare", {a: p.a, b: p.b});
    const side = (e, id) => el("div", {class: "side"}, runLink(id), " · " + e.model + " · " + e.suite + " · " + shortTime(e.timestamp) + " · git " + e.git_sha);
    // label: the name with the configuration keys that tell it from a namesake ("tok_per_sec_128 [gen_tokens=8]")
    const rows = c.rows.map((r) => el("tr", {class: "compare-row", dataset: {name: r.name, metric: r.metric}},
      el("td", {}, r.label || r.name), el("td", {}, r.metric), el("td", {class: "num value-a"}, num(r.a, r.unit)), el("td", {class: "num value-b"}, num(r.b, r.unit)),
      el("td", {class: "num"}, pct(r.rel_change)),
      el("td", {class: "num"}, r.ci_low === null ? "—" : "[" + pct(r.ci_low) + ", " + pct(r.ci_high) + "]"),
      el("td", {class: "num"}, r.p_value === null ? "—" : Number(r.p_value).toFixed(3)),
      el("td", {}, r.method), el("td", {class: "verdict verdict-" + r.verdict.replace(/[^a-z]/g, "")}, r.verdict)));
    // results are paired by name, metric and configuration; the rest is listed with the reason
    const only = [...c.unpaired.map((u) => "not paired: " + u.key + ": " + u.reason),
      ...c.only_a.map((k) => "only in A: " + k), ...c.only_b.map((k) => "only in B: " + k)];
    out.append(card("Compare", form, el("p", {}, "A: ", side(c.envelope_a, c.run_a)), el("p", {}, "B: ", side(c.envelope_b, c.run_b)),
      el("p", {class: "summary"}, c.regressions + " regressions, " + c.improvements + " improvements (threshold " + pct(c.threshold) + ", confidence " + c.confidence + ")"),
      MB.table(["name", "metric", "A", "B", "change", "CI of change", "p", "method", "verdict"], rows, {class: "grid compare-table"}),
      only.length ? el("ul", {class: "muted not-paired"}, only.map((o) => el("li", {}, o))) : null));
  }

  const VIEWS = {leaderboard: leaderboardView, trend: trendView, pivot: pivotView, runs: runsView, compare: compareView};

  async function render() {
    const {name, arg, params} = parseHash();
    for (const a of document.querySelectorAll("#nav a")) a.classList.toggle("active", a.dataset.view === name);
    const mine = ++generation;
    const box = el("div", {class: "view-" + name});
    document.body.dataset.ready = "false";
    try {
      if (name === "run") await runView(arg, params, box);
      else await (VIEWS[name] || leaderboardView)(params, box);
    } catch (error) {
      box.append(el("p", {class: "banner"}, "error: " + error.message));
    }
    if (mine !== generation) return; // a newer navigation started meanwhile
    // a filter applied while typing re-draws the page: keep the caret in the new copy of the field
    const typing = document.activeElement && document.activeElement.tagName === "INPUT" && document.activeElement.type === "text" ? document.activeElement : null;
    clear(root).append(box);
    if (typing) {
      const again = box.querySelector("input[type='text'][name='" + typing.name.replace(/[^a-z0-9_]/gi, "") + "']");
      if (again) { again.focus(); again.setSelectionRange(again.value.length, again.value.length); }
    }
    // charts drawn while detached take plotly's default size; fit them to the page now
    // (resize is asynchronous: the page is "ready" only once every chart has its final size)
    await Promise.all([...box.querySelectorAll(".js-plotly-plot")].map((chart) => Plotly.Plots.resize(chart)));
    if (mine !== generation) return;
    document.body.dataset.ready = "true";
    document.body.dataset.renders = String(generation); // lets tests wait for this navigation's page
  }

  window.addEventListener("hashchange", render);
  render();
})();
