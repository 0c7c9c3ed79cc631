/* The static HTML report: renders the JSON embedded in the page with the shared MB helpers. No network. */
"use strict";

(() => {
  const {el, num, shortTime} = MB;
  const data = JSON.parse(document.getElementById("report-data").textContent);
  const main = document.getElementById("report");
  const TOP = 20;

  function section(id, title, ...body) {
    return el("section", {id: id, class: "card"}, el("h2", {}, title), ...body);
  }

  function summary() {
    const f = data.filters;
    const scope = [f.suite ? "suite " + f.suite : "all suites", f.model ? "model matching " + f.model : "all models"].join(", ");
    return el("p", {class: "summary"},
      data.catalog.n_runs + " runs (" + scope + "), " + data.catalog.models.length + " models; newest run " +
      shortTime(data.catalog.newest) + "; generated " + shortTime(data.generated) + " from " + data.store + ".");
  }

  function leaderboards() {
    if (!data.leaderboards.length) return section("leaderboard", "Leaderboard", el("p", {class: "muted"}, "no runs with results"));
    return section("leaderboard", "Leaderboard: latest result per model and configuration",
      data.leaderboards.map((board) => {
        // a store of many models: the chart shows the best TOP, the full table folds away
        const long = board.rows.length > TOP;
        const table = MB.leaderboardTable(board, null);
        return el("div", {class: "board", dataset: {suite: board.suite}},
          el("h3", {}, board.suite + (long ? " (chart: best " + TOP + " of " + board.rows.length + ")" : "")),
          MB.leaderboardChart(long ? Object.assign({}, board, {rows: board.rows.slice(0, TOP)}) : board),
          long ? el("details", {class: "all-rows"}, el("summary", {}, "all " + board.rows.length + " rows"), table) : table);
      }));
  }

  function trends() {
    // only series with 3 or more runs reach here: one point is no trend
    if (!data.trends.length) return section("trends", "Trends over time", el("p", {class: "muted"}, "no series with 3 or more runs yet"));
    const changes = data.trends.map((t) => MB.changePointList(t)).filter((node) => node.tagName === "UL");
    return section("trends", "Trends over time (series with 3 or more runs)", MB.trendSmallMultiples(data.trends),
      changes.length ? [el("h3", {}, "Change points"), changes] : el("p", {class: "muted"}, "no change points detected"));
  }

  function sweeps() {
    // the page's "Sweeps" link always leads somewhere
    if (!data.sweeps.length) return section("sweeps", "Rate sweeps", el("p", {class: "muted"}, "no rate sweeps stored (mlx-bench run throughput --rates ... or --sweep)"));
    return section("sweeps", "Rate sweeps: achieved vs offered, latency vs rate",
      data.sweeps.map((s) => el("div", {class: "sweep", dataset: {run: s.run_id}},
        el("h3", {}, MB.modelName(s.model), " · " + shortTime(s.timestamp) + " · " + s.run_id), MB.sweepCharts(s.points, ""))));
  }

  function pivots() {
    return section("pivot", "Models × tasks (latest result per model and setup)",
      data.pivots.map((p) => el("div", {class: "pivot", dataset: {suite: p.suite}},
        el("h3", {}, p.suite + (p.metric ? ": " + MB.withUnit(p.metric.replace(/_/g, " "), p.unit) : "")), MB.pivotTable(p))));
  }

  function memory() {
    const latest = data.memory.filter((m) => m.peak_gb !== null);
    const summaryChart = latest.length ? MB.peakMemoryChart(latest) : el("p", {class: "muted"}, "no memory snapshots");
    // one timeline per run, drawn when first opened: a large store has many
    const details = data.memory.map((m) => {
      const box = el("details", {class: "memory"}, el("summary", {}, MB.modelName(m.model), " · " + m.suite + " · peak " + num(m.peak_gb, "GB")));
      box.addEventListener("toggle", () => {
        if (box.open && !box.dataset.drawn) {
          box.dataset.drawn = "true";
          box.appendChild(MB.memoryChart(m.snapshots, m.model + " · " + m.suite));
          box.appendChild(MB.memoryTable(m.snapshots));
        }
      });
      return box;
    });
    return section("memory", "Memory of the latest runs", summaryChart, details);
  }

  function runs() {
    const body = [MB.runsTable(data.runs, null)];
    if (data.runs_total > data.runs.length) body.push(el("p", {class: "muted"}, "showing the newest " + data.runs.length + " of " + data.runs_total + " runs"));
    const errors = data.runs_errors.map((r) => el("li", {}, el("code", {}, r.run_id), ": ", r.errors.join(" | ")));
    if (errors.length) body.push(el("h3", {}, "Errors in these runs"), el("ul", {class: "errors"}, errors));
    return section("runs", "Runs", body);
  }

  main.appendChild(summary());
  for (const make of [leaderboards, trends, sweeps, pivots, memory, runs]) {
    const made = make();
    if (made) main.appendChild(made);
  }
  document.body.dataset.rendered = "true";
})();
