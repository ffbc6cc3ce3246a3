// The summary page's small charts, drawn as SVG from the data the page carries
// (data-chart: {"summary": MorningSummary.to_json(), "week": [{day, label, rmssd_ms, pain}]}).
// Colours come from app.css classes, so day and night light apply to the charts too.
"use strict";

(() => {
  const NS = "http://www.w3.org/2000/svg";
  const WIDTH = 360;
  const FONT = 19;
  const PAIN_MAX = 10;
  const HR_STEP = 10;

  const num = (v) => (typeof v === "number" && Number.isFinite(v) ? v : null);

  function svg(tag, attrs, text) {
    const node = document.createElementNS(NS, tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function canvas(height) {
    return svg("svg", { viewBox: `0 0 ${WIDTH} ${height}`, width: "100%", "aria-hidden": "true",
      class: "chart-svg", preserveAspectRatio: "xMidYMid meet" });
  }

  function empty(container, text) {
    const p = document.createElement("p");
    p.className = "hint chart-empty";
    p.textContent = text;
    container.replaceChildren(p);
  }

  // Seven columns, one per day, oldest on the left; a day without data shows a dash.
  function weekBars(container, week, key, max, format, emptyText) {
    if (!week.some((d) => num(d[key]) !== null)) { empty(container, emptyText); return; }
    const height = 190;
    const top = 34;
    const base = 150;
    const column = WIDTH / week.length;
    const bar = column * 0.58;
    const root = canvas(height);
    root.append(svg("line", { x1: 0, x2: WIDTH, y1: base, y2: base, class: "axis" }));
    week.forEach((d, i) => {
      const mid = column * i + column / 2;
      const value = num(d[key]);
      const last = i === week.length - 1;
      if (value === null) {
        root.append(svg("text", { x: mid, y: base - 8, class: "chart-none", "text-anchor": "middle",
          "font-size": FONT }, "\u2013"));
      } else {
        const h = Math.max(3, (Math.min(value, max) / max) * (base - top));
        root.append(svg("rect", { x: mid - bar / 2, y: base - h, width: bar, height: h, rx: 4,
          class: last ? "bar today" : "bar" }));
        root.append(svg("text", { x: mid, y: base - h - 8, class: "chart-value", "text-anchor": "middle",
          "font-size": FONT }, format(value)));
      }
      root.append(svg("text", { x: mid, y: base + 28, class: last ? "chart-label today" : "chart-label",
        "text-anchor": "middle", "font-size": FONT }, d.label));
    });
    container.replaceChildren(root);
  }

  // One row per routine of the window, then holds and repetitions where any were planned:
  // a track for what was planned, filled for what was done.
  function exerciseBars(container, summary) {
    const sessions = Array.isArray(summary.sessions) ? summary.sessions : [];
    const totals = summary.exercises || {};
    const rows = [
      // started_at is local ISO time: characters 11-15 are HH:MM.
      ...sessions.map((s) => [String(s.started_at).slice(11, 16) + " " + (s.title || s.routine), s.steps]),
      ["Holds", totals.holds],
      ["Repetitions", totals.reps],
    ].filter(([, counts]) => counts && counts.planned > 0);
    if (!rows.length) { empty(container, "No exercises since yesterday evening."); return; }
    const rowHeight = 58;
    const root = canvas(rows.length * rowHeight + 6);
    rows.forEach(([label, counts], i) => {
      const y = i * rowHeight;
      const done = Math.min(counts.done, counts.planned);
      root.append(svg("text", { x: 0, y: y + 22, class: "chart-label", "font-size": FONT }, label));
      root.append(svg("text", { x: WIDTH, y: y + 22, class: "chart-value", "text-anchor": "end",
        "font-size": FONT }, `${counts.done} of ${counts.planned}`));
      root.append(svg("rect", { x: 0, y: y + 32, width: WIDTH, height: 16, rx: 8, class: "track" }));
      if (done > 0) {
        root.append(svg("rect", { x: 0, y: y + 32, width: (WIDTH * done) / counts.planned, height: 16,
          rx: 8, class: "bar" }));
      }
    });
    container.replaceChildren(root);
  }

  // Lowest to highest as a band on a bpm scale, with the average and resting rate marked.
  function heartRange(container, heart) {
    const low = num(heart.min);
    const high = num(heart.max);
    if (low === null || high === null) { empty(container, "No heart-rate readings in these routines."); return; }
    const mean = num(heart.mean);
    const resting = num(heart.resting);
    const marks = [low, high, mean, resting].filter((v) => v !== null);
    const lo = Math.floor((Math.min(...marks) - HR_STEP / 2) / HR_STEP) * HR_STEP;
    const hi = Math.ceil((Math.max(...marks) + HR_STEP / 2) / HR_STEP) * HR_STEP;
    const x = (bpm) => ((bpm - lo) / (hi - lo)) * WIDTH;
    const root = canvas(128);
    const band = 52;
    root.append(svg("rect", { x: 0, y: band, width: WIDTH, height: 18, rx: 9, class: "track" }));
    root.append(svg("rect", { x: x(low), y: band, width: Math.max(4, x(high) - x(low)), height: 18,
      rx: 9, class: "bar" }));
    if (mean !== null) {
      root.append(svg("line", { x1: x(mean), x2: x(mean), y1: band - 10, y2: band + 28, class: "mark" }));
      root.append(svg("text", { x: Math.min(Math.max(x(mean), 40), WIDTH - 40), y: band - 16,
        class: "chart-value", "text-anchor": "middle", "font-size": FONT }, `average ${Math.round(mean)}`));
    }
    if (resting !== null) {
      const rx = x(resting);
      root.append(svg("path", { d: `M${rx} ${band + 22} l-8 14 h16 z`, class: "mark-fill" }));
      root.append(svg("text", { x: Math.min(Math.max(rx, 50), WIDTH - 50), y: band + 60,
        class: "chart-label", "text-anchor": "middle", "font-size": FONT }, `resting ${Math.round(resting)}`));
    }
    root.append(svg("text", { x: 0, y: 20, class: "chart-label", "font-size": FONT }, `${lo}`));
    root.append(svg("text", { x: WIDTH, y: 20, class: "chart-label", "text-anchor": "end",
      "font-size": FONT }, `${hi} bpm`));
    container.replaceChildren(root);
  }

  function scoreBar(container, score) {
    const value = num(score);
    if (value === null) { empty(container, "Needs beat-to-beat data from the band during a routine."); return; }
    const root = canvas(62);
    const fraction = Math.min(Math.max(value, 0), 1);
    root.append(svg("rect", { x: 0, y: 8, width: WIDTH, height: 20, rx: 10, class: "track" }));
    if (fraction > 0) {
      root.append(svg("rect", { x: 0, y: 8, width: WIDTH * fraction, height: 20, rx: 10, class: "bar" }));
    }
    root.append(svg("text", { x: 0, y: 54, class: "chart-label", "font-size": FONT }, "0 %"));
    root.append(svg("text", { x: WIDTH, y: 54, class: "chart-label", "text-anchor": "end",
      "font-size": FONT }, "100 %"));
    container.replaceChildren(root);
  }

  document.addEventListener("DOMContentLoaded", () => {
    const page = document.getElementById("summary");
    if (!page) return;
    let data;
    try { data = JSON.parse(page.dataset.chart); } catch (e) { return; }
    const s = data.summary;
    const week = Array.isArray(data.week) ? data.week : [];
    const $ = (id) => document.getElementById(id);
    const rmssdMax = Math.max(...week.map((d) => num(d.rmssd_ms) || 0)) * 1.15 || 1;
    weekBars($("pain-chart"), week, "pain", PAIN_MAX, (v) => (Math.round(v * 10) / 10).toString(),
      "No pain ratings this week.");
    weekBars($("rmssd-chart"), week, "rmssd_ms", rmssdMax, (v) => String(Math.round(v)),
      "No beat-to-beat readings this week.");
    exerciseBars($("exercise-chart"), s);
    heartRange($("heart-chart"), s.heart_rate);
    scoreBar($("breathing-chart"), s.breathing_score);
  });
})();
