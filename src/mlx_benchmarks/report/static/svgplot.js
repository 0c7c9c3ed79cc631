/* A small SVG stand-in for Plotly.newPlot, used by the static HTML report.
 *
 * plotly.js is 4.8 MB; the report draws only lines, markers and bars, so inline SVG keeps a 100-run report far
 * under 1 MB and still works offline. It takes the same trace and layout objects render.js builds (scatter
 * and bar traces; date, category, log and linear axes). Labels arrive entity-escaped (ptext) for plotly;
 * here they go in through textContent, so they are unescaped first and never parsed as markup.
 */
"use strict";

const SVGPLOT = (() => {
  const NS = "http://www.w3.org/2000/svg";
  const COLORS = ["#4c78a8", "#f58518", "#54a24b", "#e45756", "#72b7b2", "#b279a2", "#eeca3b", "#9d755d"];
  const CHAR_PX = 6.6; // average glyph width at 11 px, to size margins and legends without measuring

  function plain(text) {
    return String(text).replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");
  }

  function node(tag, attrs, text) {
    const n = document.createElementNS(NS, tag);
    for (const [k, v] of Object.entries(attrs || {})) n.setAttribute(k, String(v));
    if (text !== undefined) n.textContent = plain(text);
    return n;
  }

  function niceTicks(lo, hi, count) {
    if (lo === hi) { lo -= Math.abs(lo) * 0.1 || 1; hi += Math.abs(hi) * 0.1 || 1; }
    const rough = (hi - lo) / count;
    const mag = Math.pow(10, Math.floor(Math.log10(rough)));
    const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= rough);
    const out = [];
    for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
    return out;
  }

  function short(v) {
    const a = Math.abs(v);
    if (a >= 10000) return (v / 1000).toFixed(0) + "k";
    if (a >= 1000) return (v / 1000).toFixed(1) + "k";
    return a >= 10 || v === 0 ? String(Math.round(v)) : String(Number(v.toPrecision(2)));
  }

  /* Date ticks on whole days (or hours, within two days), each label once: runs of one afternoon drew the
   * same date four times. */
  function dateTicks(lo, hi, scale) {
    const HOUR = 3600e3, DAY = 24 * HOUR;
    const span = hi - lo;
    const steps = [HOUR, 3 * HOUR, 6 * HOUR, 12 * HOUR, DAY, 2 * DAY, 7 * DAY, 14 * DAY, 30 * DAY, 91 * DAY, 365 * DAY];
    const step = steps.find((s) => span / s <= 5) || steps[steps.length - 1];
    const label = (t) => {
      const iso = new Date(t).toISOString();
      return step < DAY ? iso.slice(5, 10) + " " + iso.slice(11, 16) : iso.slice(0, 10);
    };
    const out = [];
    if (span === 0) return [[scale(lo), label(lo)]];
    for (let t = Math.ceil(lo / step) * step; t <= hi && out.length < 12; t += step) {
      if (!out.length || out[out.length - 1][1] !== label(t)) out.push([scale(t), label(t)]);
    }
    if (!out.length) out.push([scale(lo), label(lo)]);
    return out;
  }

  /* One axis: maps data values to pixels between a and b; kind is linear, log, date or category. */
  function axis(kind, values, a, b, fromZero) {
    if (kind === "category") {
      const cats = [...new Set(values.map(String))];
      const band = (b - a) / Math.max(cats.length, 1);  // negative on a vertical axis (pixels grow downward)
      return {kind, cats, band, at: (v) => a + band * (cats.indexOf(String(v)) + 0.5),
        ticks: cats.map((c) => [a + band * (cats.indexOf(c) + 0.5), c])};
    }
    const date = kind === "date";
    const log = kind === "log";
    const nums = values.map((v) => (date ? Date.parse(v) : Number(v))).filter((v) => Number.isFinite(v) && (!log || v > 0));
    let lo = Math.min(...nums, fromZero ? 0 : Infinity);
    let hi = Math.max(...nums, fromZero ? 0 : -Infinity);
    if (!nums.length) { lo = 0; hi = 1; }
    // every value 0 on an axis from 0: 0 to 1, never a bar from -1 to 0
    if (fromZero && lo === hi) hi = lo + 1;
    if (log) { lo = Math.log10(lo); hi = Math.log10(hi); if (lo === hi) { lo -= 0.5; hi += 0.5; } }
    const raw = log ? [] : niceTicks(lo, hi, date ? 4 : 5);
    if (!log && !date) { lo = Math.min(lo, raw[0]); hi = Math.max(hi, raw[raw.length - 1]); }
    if (lo === hi) { lo -= 1; hi += 1; }
    const scale = (v) => a + (b - a) * ((v - lo) / (hi - lo));
    const at = (v) => scale(log ? Math.log10(Number(v)) : date ? Date.parse(v) : Number(v));
    let ticks;
    if (log) ticks = niceTicks(lo, hi, 4).filter((e) => Number.isInteger(e)).map((e) => [scale(e), short(Math.pow(10, e))]);
    else if (date) ticks = dateTicks(lo, hi, scale);
    else ticks = raw.map((t) => [scale(t), short(t)]);
    return {kind, at, ticks};
  }

  function legend(svg, traces, left, top, width) {
    if (traces.length < 2) return top;
    let x = left;
    let y = top + 10;
    traces.forEach((t, i) => {
      const label = plain(t.name || "series " + (i + 1));
      const w = 22 + label.length * CHAR_PX;
      if (x + w > left + width && x > left) { x = left; y += 16; }
      svg.append(node("rect", {x: x, y: y - 8, width: 10, height: 10, fill: (t.marker && t.marker.color) || (t.line && t.line.color) || COLORS[i % COLORS.length]}));
      svg.append(node("text", {x: x + 14, y: y + 1, "font-size": 11, class: "legend"}, label));
      x += w;
    });
    return y + 10;
  }

  function newPlot(div, traces, layout) {
    layout = layout || {};
    const horizontal = traces.some((t) => t.type === "bar" && t.orientation === "h");
    const W = Number(layout.width) || (horizontal ? 900 : 640);
    const H = Number(layout.height) || 360;
    const svg = node("svg", {viewBox: "0 0 " + W + " " + H, width: W, height: H, role: "img", class: "svgplot"});
    svg.style.maxWidth = "100%";
    svg.style.height = "auto";
    const titleText = layout.title && layout.title.text ? plain(layout.title.text) : "";
    if (titleText) svg.append(node("text", {x: 8, y: 16, "font-size": 13, "font-weight": 600, class: "title"}, titleText));
    const labels = horizontal ? traces.flatMap((t) => t.y.map((v) => plain(v))) : [];
    const left = horizontal ? Math.min(W * 0.45, 14 + CHAR_PX * Math.max(...labels.map((s) => s.length), 4)) : 52;
    const plotTop = legend(svg, traces, left, titleText ? 26 : 6, W - left - 12) + 6;
    const box = {l: left, r: W - 14, t: plotTop, b: H - 26};
    const xs = traces.flatMap((t) => t.x || []);
    const ys = traces.flatMap((t) => t.y || []);
    const bars = traces.filter((t) => t.type === "bar");
    const xKind = horizontal ? "linear" : (layout.xaxis && layout.xaxis.type) || (bars.length ? "category" : "linear");
    const yKind = horizontal ? "category" : (layout.yaxis && layout.yaxis.type) || "linear";
    const tozero = (a) => Boolean(a && a.rangemode === "tozero");  // plotly's own option: an axis from 0
    const X = axis(xKind, xs, box.l, box.r, horizontal || tozero(layout.xaxis));
    const Y = axis(yKind, ys, box.b, box.t, (bars.length > 0 && !horizontal) || tozero(layout.yaxis));
    svg.append(node("line", {x1: box.l, y1: box.b, x2: box.r, y2: box.b, stroke: "#9aa3b2"}));
    svg.append(node("line", {x1: box.l, y1: box.t, x2: box.l, y2: box.b, stroke: "#9aa3b2"}));
    const every = Math.max(1, Math.ceil(X.ticks.length / Math.max(1, (box.r - box.l) / 60)));
    X.ticks.forEach(([px, text], i) => {
      if (i % every) return;
      svg.append(node("text", {x: px, y: box.b + 14, "font-size": 10, "text-anchor": "middle", fill: "#6b7385", class: "xtick"}, text));
    });
    for (const [py, text] of Y.ticks) {
      svg.append(node("line", {x1: box.l, y1: py, x2: box.r, y2: py, stroke: "#eef0f4"}));
      svg.append(node("text", {x: box.l - 4, y: py + 3, "font-size": horizontal ? 11 : 10, "text-anchor": "end", fill: "#6b7385", class: "ytick"}, text));
    }
    traces.forEach((t, i) => {
      const color = (t.marker && t.marker.color) || (t.line && t.line.color) || COLORS[i % COLORS.length];
      const hover = (j) => plain((t.hovertext || t.text || [])[j] || (t.name ? t.name + ": " : "") + (horizontal ? t.x[j] : t.y[j]));
      if (t.type === "bar") {
        if (horizontal) {
          t.y.forEach((cat, j) => {
            const band = Math.abs(Y.band);
            const bar = node("rect", {x: box.l, y: Y.at(cat) - band * 0.35, width: Math.max(0, X.at(t.x[j]) - box.l), height: band * 0.7, fill: color, class: "bar"});
            bar.append(node("title", {}, hover(j)));
            svg.append(bar);
            if (t.text) svg.append(node("text", {x: X.at(t.x[j]) - 4, y: Y.at(cat) + 4, "font-size": 11, "text-anchor": "end", fill: "#fff"}, t.text[j]));
          });
        } else {
          const width = X.band * 0.8 / bars.length;
          const k = bars.indexOf(t);
          t.x.forEach((cat, j) => {
            if (t.y[j] === null || t.y[j] === undefined) return;
            const x = X.at(cat) - X.band * 0.4 + k * width;
            const bar = node("rect", {x: x, y: Y.at(t.y[j]), width: width, height: Math.max(0, box.b - Y.at(t.y[j])), fill: color, class: "bar"});
            bar.append(node("title", {}, hover(j)));
            svg.append(bar);
          });
        }
        return;
      }
      const pts = t.x.map((x, j) => [x, t.y[j], j]).filter(([x, y]) => x !== null && y !== null && y !== undefined);
      const mode = t.mode || "lines+markers";
      if (mode.includes("lines") && pts.length > 1) {
        svg.append(node("polyline", {points: pts.map(([x, y]) => X.at(x).toFixed(1) + "," + Y.at(y).toFixed(1)).join(" "),
          fill: "none", stroke: color, "stroke-width": 1.8, "stroke-dasharray": t.line && t.line.dash === "dot" ? "3,3" : "none"}));
      }
      if (mode.includes("markers")) {
        for (const [x, y, j] of pts) {
          const dot = node("circle", {cx: X.at(x).toFixed(1), cy: Y.at(y).toFixed(1), r: 3, fill: color, class: "point"});
          dot.append(node("title", {}, hover(j)));
          svg.append(dot);
        }
      }
    });
    const yTitle = layout.yaxis && layout.yaxis.title && layout.yaxis.title.text;
    if (yTitle && !horizontal) svg.append(node("text", {x: 4, y: box.t - 4, "font-size": 10, fill: "#6b7385"}, yTitle));
    const xTitle = layout.xaxis && layout.xaxis.title && layout.xaxis.title.text;
    if (xTitle) svg.append(node("text", {x: box.r, y: H - 2, "font-size": 10, "text-anchor": "end", fill: "#6b7385"}, xTitle));
    div.append(svg);
    div.classList.add("svgplot-chart");
    return div;
  }

  return {newPlot};
})();
