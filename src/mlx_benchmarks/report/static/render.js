/* Shared rendering for the HTML report and the dashboard: DOM building and plotly charts.
 *
 * Every string from a store (model names, tags, errors, prompts, model outputs) is untrusted. It reaches the
 * page only through textContent or setAttribute on a fixed list of attributes, never innerHTML; strings handed
 * to plotly (which renders a subset of HTML in labels) are entity-escaped first with ptext().
 */
"use strict";

const MB = (() => {
  const SAFE_ATTRS = new Set(["class", "id", "title", "type", "value", "name", "placeholder", "colspan", "min", "max", "step", "for"]);

  /* el("td", {class: "x", dataset: {model: m}}, "text", childNode, ...) */
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "dataset") {
        for (const [k, v] of Object.entries(value)) node.dataset[k] = String(v);
      } else if (key === "href") {
        node.setAttribute("href", safeHref(String(value)));
      } else if (key === "onclick" || key === "onchange" || key === "oninput" || key === "onsubmit") {
        node.addEventListener(key.slice(2), value);
      } else if (key === "checked" || key === "selected" || key === "disabled") {
        node[key] = Boolean(value);
      } else if (SAFE_ATTRS.has(key)) {
        node.setAttribute(key, String(value));
      } else {
        throw new Error("attribute not allowed: " + key);
      }
    }
    append(node, children);
    return node;
  }

  function append(node, children) {
    for (const child of children.flat(Infinity)) {
      if (child === null || child === undefined || child === false) continue;
      node.appendChild(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  // only in-page links: a data value can never become a javascript: URL
  function safeHref(href) {
    return href.startsWith("#") ? href : "#";
  }

  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
    return node;
  }

  function ptext(value) {
    return String(value).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  }

  // a ratio prints bare (0.80), seconds as s: the stored unit names stay in the data
  const UNITS = {ratio: "", seconds: "s"};
  function unitLabel(unit) {
    return unit in UNITS ? UNITS[unit] : (unit || "");
  }

  function num(value, unit) {
    unit = unitLabel(unit);
    if (value === null || value === undefined || Number.isNaN(value)) return "—";
    if (Number.isInteger(value)) return unit ? value + " " + unit : String(value);  // counts stay counts: 0, not 0.0000
    const abs = Math.abs(value);
    const digits = abs >= 1000 ? 0 : abs >= 100 ? 1 : abs >= 1 ? 2 : 4;
    const text = Number(value).toFixed(digits);
    return unit ? text + " " + unit : text;
  }

  function pct(value) {
    if (value === null || value === undefined) return "—";
    return (value >= 0 ? "+" : "") + (100 * value).toFixed(1) + "%";
  }

  function shortTime(iso) {
    return iso ? String(iso).replace("T", " ").replace(/\.\d+/, "").replace("+00:00", "Z") : "—";
  }

  function table(columns, rows, attrs) {
    const head = el("thead", {}, el("tr", {}, columns.map((c) => el("th", {}, c))));
    const body = el("tbody", {}, rows.map((cells) => {
      const row = cells instanceof Node ? cells : el("tr", {}, cells.map((c) => (c instanceof Node && c.tagName === "TD") ? c : el("td", {}, c)));
      return row;
    }));
    return el("table", Object.assign({class: "grid"}, attrs || {}), head, body);
  }

  // the reader's name of a result (views.labels: "decode tok/s at 64 prompt tokens"), else name · metric
  function keyLabel(key) {
    if (key.title) return key.title;
    return key.name === key.metric ? key.name : key.name + " · " + key.metric;
  }

  function withUnit(text, unit) {
    const shown = unitLabel(unit);
    return shown ? text + " (" + shown + ")" : text;
  }

  /* A model name that wraps after "/" and "-" rather than inside a word. */
  function modelName(name) {
    const parts = String(name).split(/(?<=[\/\-_·])/);
    const out = [];
    parts.forEach((part, i) => { if (i) out.push(el("wbr", {})); out.push(part); });
    return out;
  }

  const LAYOUT = {
    margin: {l: 60, r: 20, t: 36, b: 48},
    paper_bgcolor: "rgba(0,0,0,0)",
    plot_bgcolor: "rgba(0,0,0,0)",
    font: {family: "system-ui, sans-serif", size: 12},
  };
  const CONFIG = {displaylogo: false, responsive: true, showLink: false, modeBarButtonsToRemove: ["sendDataToCloud"]};

  function plot(div, traces, layout) {
    // the dashboard loads plotly.js; the static report draws the same traces as inline SVG (svgplot.js)
    // a width is for the SVG's viewBox; plotly fills its box instead
    if (typeof Plotly !== "undefined") Plotly.newPlot(div, traces, Object.assign({}, LAYOUT, layout, {width: undefined}), CONFIG);
    else SVGPLOT.newPlot(div, traces, layout);
    return div;
  }

  function shortModel(label) {
    const [model, ...rest] = String(label).split(" · ");
    return [model.slice(model.lastIndexOf("/") + 1), ...rest].join(" · ");
  }

  /* Horizontal bars, best model on top. board: one leaderboard() entry. */
  function leaderboardChart(board) {
    const narrow = typeof window !== "undefined" && window.innerWidth < 700;
    const rows = board.rows.filter((r) => r.value !== null).slice().reverse();
    const div = el("div", {class: "chart leaderboard-chart", dataset: {suite: board.suite}});
    const unit = board.unit || "";
    return plot(div, [{
      type: "bar",
      orientation: "h",
      x: rows.map((r) => r.value),
      // label: the model and the configuration keys that vary; a phone drops the organisation ("mlx-community/")
      y: rows.map((r) => ptext(narrow ? shortModel(r.label || r.model) : (r.label || r.model))),
      text: rows.map((r) => ptext(num(r.value, unit))),
      textposition: "auto",
      hovertext: rows.map((r) => ptext((r.label || r.model) + ": " + num(r.value, unit))),
      hoverinfo: "text",
      marker: {color: "#4c78a8"},
    }], {
      title: {text: ptext(board.suite + ": " + withUnit(keyLabel(board), unit))},
      height: 90 + 34 * Math.max(rows.length, 1),
      margin: {l: narrow ? 10 : 260, r: 20, t: 36, b: 36},
      yaxis: {automargin: true, type: "category"},
      xaxis: {rangemode: "tozero"},
    });
  }

  function leaderboardTable(board, linkRun) {
    const columns = ["#", "model", keyLabel(board), "± stderr", "other results", "run", "when"];
    const rows = board.rows.map((r, i) => el("tr", {class: "lb-row", dataset: {rank: i + 1}},
      el("td", {}, String(i + 1)),
      el("td", {class: "model"}, modelName(r.label || r.model)),
      el("td", {class: "value num"}, num(r.value, r.unit)),
      el("td", {class: "stderr num"}, r.stderr === null || r.stderr === undefined ? "" : num(r.stderr)),
      el("td", {class: "others"}, r.results.filter((x) => !(x.name === board.name && x.metric === board.metric))
        .map((x) => keyLabel(x) + " " + num(x.value, x.unit)).join("; ")),
      el("td", {}, linkRun ? linkRun(r.run_id) : r.run_id),
      el("td", {}, shortTime(r.timestamp)),
    ));
    return table(columns, rows, {class: "grid leaderboard-table"});
  }

  /* One line per model; change points drawn as larger open markers. */
  function trendChart(trend) {
    const traces = trend.series.map((s) => ({
      type: "scatter",
      mode: "lines+markers",
      name: ptext(s.label || s.model),
      x: s.points.map((p) => p.timestamp),
      y: s.points.map((p) => p.value),
      text: s.points.map((p) => ptext((s.label || s.model) + " · " + p.run_id)),
      hoverinfo: "x+y+text",
    }));
    const div = el("div", {class: "chart trend-chart", dataset: {suite: trend.suite, name: trend.name, metric: trend.metric}});
    return plot(div, traces, {
      title: {text: ptext(trend.suite + ": " + withUnit(keyLabel(trend), trend.unit))},
      height: 380,
      xaxis: {type: "date"},
      yaxis: {title: {text: ptext(unitLabel(trend.unit))}, rangemode: "tozero"},
      legend: {orientation: "h", y: -0.2},
    });
  }

  /* Every trend as one small chart in a grid: a glance over many metrics without 20,000 px of page. */
  function trendSmallMultiples(trends) {
    return el("div", {class: "small-multiples"}, trends.map((t) => {
      const div = el("div", {class: "chart trend-chart small", dataset: {suite: t.suite, name: t.name, metric: t.metric}});
      return plot(div, t.series.map((s) => ({
        type: "scatter", mode: "lines+markers", name: ptext(s.label || s.model),
        x: s.points.map((p) => p.timestamp), y: s.points.map((p) => p.value),
        text: s.points.map((p) => ptext((s.label || s.model) + " · " + num(p.value, t.unit) + " · " + p.run_id)),
      })), {title: {text: ptext(t.suite + ": " + withUnit(keyLabel(t), t.unit))}, width: 420, height: 240,
        xaxis: {type: "date"}, yaxis: {rangemode: "tozero"}, showlegend: t.series.length > 1, legend: {orientation: "h", y: -0.25}, margin: {l: 48, r: 10, t: 30, b: 40}});
    }));
  }

  // charts side by side keep their legend below the plot: a legend on the right overflowed the half-width box
  const PAIR_LEGEND = {orientation: "h", x: 0, y: -0.3};
  const PAIR_MARGIN = {l: 60, r: 20, t: 36, b: 90};

  /* A rate sweep: achieved vs offered rate (with the keeps-up diagonal) and latency percentiles vs offered rate. */
  function sweepCharts(points, title) {
    const offered = points.map((p) => p.offered);
    const achieved = el("div", {class: "chart sweep-chart sweep-achieved"});
    plot(achieved, [
      {type: "scatter", mode: "lines+markers", name: "achieved req/s", x: offered, y: points.map((p) => p.achieved),
        text: points.map((p) => ptext(p.label + ": offered " + num(p.offered) + ", achieved " + num(p.achieved) +
          (p.keeps_up === null ? "" : p.keeps_up ? " (keeps up)" : " (falls behind)")))},
      {type: "scatter", mode: "lines", name: "offered = achieved", x: offered, y: offered, line: {dash: "dot", color: "#9aa3b2"}},
    ], {title: {text: ptext((title ? title + ": " : "") + "achieved vs offered rate")}, width: 520, height: 340, legend: PAIR_LEGEND, margin: PAIR_MARGIN,
      xaxis: {title: {text: "offered req/s"}}, yaxis: {title: {text: "achieved req/s"}}});
    const keys = ["ttft_p50", "ttft_p99", "e2e_p50", "e2e_p99"].filter((k) => points.some((p) => p.latency[k] !== undefined));
    const latency = el("div", {class: "chart sweep-chart sweep-latency"});
    plot(latency, keys.map((k) => ({type: "scatter", mode: "lines+markers", name: k.replace("_", " "), x: offered,
      y: points.map((p) => (p.latency[k] === undefined ? null : p.latency[k])), line: {dash: k.endsWith("p99") ? "dot" : "solid"}})),
    {title: {text: ptext((title ? title + ": " : "") + "latency vs offered rate")}, width: 520, height: 340, legend: PAIR_LEGEND, margin: PAIR_MARGIN,
      xaxis: {title: {text: "offered req/s"}}, yaxis: {title: {text: "ms"}}});
    return el("div", {class: "chart-pair"}, achieved, latency);
  }

  /* A throughput run's prompt-length x generated-tokens grid: decode tok/s and TTFT per prompt length, one line per gen length. */
  function throughputCharts(cells) {
    const gens = [...new Set(cells.map((c) => c.gen_tokens))];
    const lines = (field) => gens.map((g) => {
      const mine = cells.filter((c) => c.gen_tokens === g);
      return {type: "scatter", mode: "lines+markers", name: "tg " + g, x: mine.map((c) => c.prompt_tokens), y: mine.map((c) => c[field]),
        text: mine.map((c) => ptext("pp " + c.prompt_tokens + " × tg " + g + ": " + num(c[field])))};
    });
    const logX = cells.length > 1 && Math.max(...cells.map((c) => c.prompt_tokens)) / Math.max(1, Math.min(...cells.map((c) => c.prompt_tokens))) >= 8;
    const prompts = [...new Set(cells.map((c) => c.prompt_tokens))].sort((a, b) => a - b);
    const xaxis = {type: logX ? "log" : "linear", title: {text: "prompt tokens (pp)"}, tickvals: prompts, ticktext: prompts.map(String)};
    const decode = plot(el("div", {class: "chart pp-tg-chart pp-tg-decode"}), lines("decode_tps"),
      {title: {text: "decode tok/s by prompt length"}, width: 520, height: 340, legend: PAIR_LEGEND, margin: PAIR_MARGIN, xaxis: xaxis, yaxis: {title: {text: "tok/s"}}});
    const ttft = plot(el("div", {class: "chart pp-tg-chart pp-tg-ttft"}), lines("ttft_ms"),
      {title: {text: "TTFT by prompt length"}, width: 520, height: 340, legend: PAIR_LEGEND, margin: PAIR_MARGIN, xaxis: xaxis, yaxis: {title: {text: "ms"}}});
    return el("div", {class: "chart-pair"}, decode, ttft);
  }

  /* Per-trial spread of each cell: box plots of TTFT and decode tok/s (plotly only: the dashboard). */
  function distributionCharts(cells) {
    const boxes = (field) => cells.filter((c) => c[field].length).map((c) => ({type: "box", name: c.prompt_tokens + "×" + c.gen_tokens,
      y: c[field], boxpoints: "all", jitter: 0.3, pointpos: 0}));
    const ttft = plot(el("div", {class: "chart latency-distribution"}), boxes("trials_ttft_ms"),
      {title: {text: "TTFT per trial (ms)"}, height: 320, showlegend: false, xaxis: {title: {text: "pp × tg"}}});
    const decode = plot(el("div", {class: "chart decode-distribution"}), boxes("trials_decode_tps"),
      {title: {text: "decode tok/s per trial"}, height: 320, showlegend: false, xaxis: {title: {text: "pp × tg"}}});
    return el("div", {class: "chart-pair"}, ttft, decode);
  }

  function changePointList(trend) {
    const items = [];
    for (const s of trend.series) {
      for (const c of s.change_points || []) {
        items.push(el("li", {}, (s.label || s.model) + ": from " + shortTime(c.timestamp) + " " + num(c.before) + " → " + num(c.after) +
          " (p=" + Number(c.p_value).toFixed(3) + ")"));
      }
    }
    return items.length ? el("ul", {class: "change-points"}, items) : el("p", {class: "muted"}, "no change points detected");
  }

  /* The models × tasks matrix, one row per model and setup (a log-likelihood and a generative run are two
   * rows, named by the keys that differ); cell shade follows the value within its column, ± its stderr. */
  function pivotTable(pv) {
    const mixed = !pv.metric;  // each task shows its own headline metric: say which under the task
    // a task keeps its name (gsm8k); a stored speed name reads as its title (decode tok/s at 64 prompt tokens)
    const heading = (c, j) => (pv.titles && !pv.titles[j].startsWith(c) ? pv.titles[j] : c);
    const head = el("tr", {}, el("th", {}, "model"), pv.columns.map((c, j) =>
      el("th", {}, heading(c, j), mixed ? [el("br", {}), el("span", {class: "metric-name"}, pv.metrics[j].replace(/_/g, " "))] : null)));
    const ranges = pv.columns.map((_, j) => {
      const vals = pv.rows.map((r) => r.values[j]).filter((v) => v !== null);
      return [Math.min(...vals), Math.max(...vals)];
    });
    const rows = pv.rows.map((r) => el("tr", {class: "pivot-row"},
      el("td", {class: "model"}, modelName(r.label || r.model)),
      r.values.map((v, j) => {
        const [lo, hi] = ranges[j];
        const share = v === null || hi === lo ? 0.5 : (v - lo) / (hi - lo);
        const se = r.stderr ? r.stderr[j] : null;
        const cell = el("td", {class: "num pivot-cell", dataset: {task: pv.columns[j], value: v === null ? "" : v}}, num(v),
          se === null || se === undefined || v === null ? null : el("span", {class: "se"}, " ± " + num(se)));
        cell.style.backgroundColor = v === null ? "" : "rgba(76,120,168," + (0.12 + 0.5 * share).toFixed(2) + ")";
        return cell;
      }),
    ));
    // one column per task: a sweep has dozens, so the table scrolls inside its box, not the page
    return el("div", {class: "table-scroll"}, el("table", {class: "grid pivot-table"}, el("thead", {}, head), el("tbody", {}, rows)));
  }

  /* Memory snapshots in run order (before → loaded → peak → after): the process (RSS, wired) on one chart, the
   * machine's free memory on its own, each axis from 0 — on a shared axis a 0.2 GB RSS beside 20 GB free was
   * a flat line. */
  function memoryChart(snapshots, title) {
    const phases = snapshots.map((s, i) => ptext((i + 1) + ". " + s.phase));
    const lines = (pairs) => pairs.filter(([key]) => snapshots.some((s) => s[key] !== undefined && s[key] !== null))
      .map(([key, label]) => ({type: "scatter", mode: "lines+markers", name: label, x: phases,
        y: snapshots.map((s) => (s[key] === undefined ? null : s[key]))}));
    const layout = (text) => ({title: {text: ptext(text)}, width: 520, height: 300, legend: PAIR_LEGEND, margin: PAIR_MARGIN,
      xaxis: {type: "category"}, yaxis: {title: {text: "GB"}, rangemode: "tozero"}});
    const process = plot(el("div", {class: "chart memory-chart memory-process"}), lines([["rss_gb", "RSS"], ["wired_gb", "wired"]]),
      layout((title ? title + ": " : "") + "process memory (GB)"));
    const free = lines([["free_gb", "free"]]);
    return el("div", {class: "chart-pair"}, process,
      free.length ? plot(el("div", {class: "chart memory-chart memory-free"}), free, layout("free memory on the machine (GB)")) : null);
  }

  /* Peak RSS of each latest run, one bar group per suite. */
  function peakMemoryChart(items) {
    const suites = [...new Set(items.map((m) => m.suite))];
    const traces = suites.map((suite) => {
      const mine = items.filter((m) => m.suite === suite);
      return {type: "bar", name: ptext(suite), x: mine.map((m) => ptext(m.model)), y: mine.map((m) => m.peak_gb)};
    });
    const div = el("div", {class: "chart peak-memory-chart"});
    return plot(div, traces, {title: {text: "peak RSS of the latest run (GB)"}, height: 360, barmode: "group",
      xaxis: {type: "category", automargin: true}, yaxis: {title: {text: "GB"}, rangemode: "tozero"}});
  }

  function memoryTable(snapshots) {
    const rows = snapshots.map((s) => [s.phase, num(s.rss_gb), num(s.free_gb), num(s.wired_gb), num(s.swap_mb)]);
    return table(["phase", "rss GB", "free GB", "wired GB", "swap MB"], rows, {class: "grid memory-table"});
  }

  function runsTable(runs, linkRun) {
    const rows = runs.map((r) => el("tr", {class: "run-row", dataset: {run: r.run_id}},
      el("td", {}, linkRun ? linkRun(r.run_id) : r.run_id),
      el("td", {}, shortTime(r.timestamp)),
      el("td", {}, r.suite),
      el("td", {class: "model"}, modelName(r.model)),
      el("td", {class: "num"}, r.skipped ? "skipped" : String(r.n_results)),
      el("td", {class: "num"}, String(r.n_errors)),
      el("td", {}, r.chip || ""),
    ));
    return table(["run", "when", "suite", "model", "results", "errors", "chip"], rows, {class: "grid runs-table"});
  }

  function keyValueTable(object, cls) {
    const rows = Object.entries(object || {}).map(([k, v]) => [k, typeof v === "object" && v !== null ? JSON.stringify(v) : String(v)]);
    return table(["field", "value"], rows, {class: "grid " + (cls || "kv-table")});
  }

  return {el, append, clear, ptext, num, pct, unitLabel, withUnit, modelName, shortTime, table, keyLabel, leaderboardChart, leaderboardTable, trendChart,
    trendSmallMultiples, sweepCharts, throughputCharts, distributionCharts,
    changePointList, pivotTable, memoryChart, peakMemoryChart, memoryTable, runsTable, keyValueTable};
})();
