// Session detail: heart rate over time (uPlot), exercises shaded, holds darker, hold ends marked,
// and the line broken wherever the heart rate had a gap (no signal for more than GAP_S).
"use strict";

(() => {
  const { api } = Companion;
  const HEIGHT = 320;
  const TICK_STEPS_S = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600];
  const RELEASE_CUES = new Set(["hold_end", "release", "end_hold"]);
  // Whole beats per minute only on the heart-rate axis.
  const BPM_STEPS = [1, 2, 5, 10, 20, 25, 50];
  // Samples further apart than this are not joined by the line.
  const GAP_S = 3;

  const num = (v) => (typeof v === "number" && Number.isFinite(v) ? v : null);
  const css = (name) => getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  const mmss = (s) => Math.floor(s / 60) + ":" + String(Math.floor(s % 60)).padStart(2, "0");

  // Each step's span in seconds from the start: what happened if recorded, else the plan.
  function stepSpans(detail) {
    const start = num(detail.started_at);
    return (detail.steps || []).map((s) => {
      const actual = start !== null && num(s.started_at) !== null && num(s.ended_at) !== null;
      return {
        from: actual ? s.started_at - start : num(s.planned_start_s ?? s.start_s),
        to: actual ? s.ended_at - start : num(s.planned_end_s ?? s.end_s),
        name: s.name || s.exercise || "",
        // Rests between exercises count breaths too; only a held stretch is drawn darker.
        hold: s.mode ? s.mode === "hold" : num(s.breaths) !== null && s.exercise !== "rest",
        rest: s.mode === "rest" || s.exercise === "rest",
      };
    }).filter((s) => s.from !== null && s.to !== null && s.to > s.from && !s.rest);
  }
  function holdEnds(detail) {
    return (detail.cues || [])
      .filter((c) => RELEASE_CUES.has(String(c.cue).toLowerCase().replace(/[-\s]/g, "_")))
      .map((c) => num(c.actual_s))
      .filter((t) => t !== null);
  }

  // The gaps the companion found (link lost, no contact, no samples), in seconds from the
  // start, and those the samples show themselves: any two more than GAP_S apart.
  function gapsOf(detail, times) {
    const listed = (Array.isArray(detail.gaps) ? detail.gaps : [])
      .map((g) => [num(g.start_s), num(g.end_s)])
      .filter(([a, b]) => a !== null && b !== null && b > a);
    for (let i = 1; i < times.length; i++) {
      if (times[i] - times[i - 1] > GAP_S) listed.push([times[i - 1], times[i]]);
    }
    return listed;
  }
  // A null between two samples breaks uPlot's line there.
  function withBreaks(times, values, gaps) {
    const xs = [];
    const ys = [];
    for (let i = 0; i < times.length; i++) {
      const t = times[i];
      if (i > 0 && gaps.some(([a, b]) => times[i - 1] < b && t > a)) {
        xs.push((times[i - 1] + t) / 2);
        ys.push(null);
      }
      if (gaps.some(([a, b]) => t > a && t < b)) continue; // inside a listed gap: not live
      xs.push(t);
      ys.push(values[i]);
    }
    return [xs, ys];
  }

  function draw(container, detail, samples) {
    const start = num(detail.started_at) ?? (samples.length ? samples[0].t : 0);
    const times = [];
    const values = [];
    for (const s of samples) {
      if (num(s.t) === null || num(s.hr) === null) continue;
      times.push(s.t - start);
      values.push(s.hr);
    }
    const gaps = gapsOf(detail, times);
    const [xs, ys] = withBreaks(times, values, gaps);
    const spans = stepSpans(detail);
    const lastEnd = spans.reduce((end, span) => Math.max(end, span.to), 0);
    const ends = holdEnds(detail);
    const text = css("--text");
    const line = css("--line");
    const accent = css("--accent");
    const warn = css("--warn");
    // Drawing stays inside the plot area, clear of the axis labels.
    const clipToPlot = (u) => {
      const { ctx, bbox } = u;
      ctx.beginPath();
      ctx.rect(bbox.left, bbox.top, bbox.width, bbox.height);
      ctx.clip();
    };
    const shade = (u) => {
      const { ctx, bbox } = u;
      ctx.save();
      clipToPlot(u);
      spans.forEach((span, i) => {
        const x0 = u.valToPos(span.from, "x", true);
        const x1 = u.valToPos(span.to, "x", true);
        ctx.globalAlpha = span.hold ? 0.32 : (i % 2 ? 0.10 : 0.18);
        ctx.fillStyle = accent;
        ctx.fillRect(x0, bbox.top, x1 - x0, bbox.height);
        if (x1 - x0 > 60) {
          ctx.globalAlpha = 0.9;
          ctx.fillStyle = text;
          ctx.font = `${Math.round(12 * devicePixelRatio)}px system-ui, sans-serif`;
          ctx.fillText(span.name, x0 + 4 * devicePixelRatio, bbox.top + 14 * devicePixelRatio, x1 - x0 - 8);
        }
      });
      ctx.restore();
    };
    // Where there was no signal: a dotted line along the bottom of the plot under the break.
    const markGaps = (u) => {
      const { ctx, bbox } = u;
      ctx.save();
      clipToPlot(u);
      ctx.strokeStyle = css("--muted");
      ctx.lineWidth = 3 * devicePixelRatio;
      ctx.setLineDash([2 * devicePixelRatio, 4 * devicePixelRatio]);
      const y = bbox.top + bbox.height - 3 * devicePixelRatio;
      for (const [a, b] of gaps) {
        ctx.beginPath();
        ctx.moveTo(u.valToPos(a, "x", true), y);
        ctx.lineTo(u.valToPos(b, "x", true), y);
        ctx.stroke();
      }
      ctx.restore();
    };
    // Hold ends are drawn over the line, so they stay visible on any shading.
    const markHoldEnds = (u) => {
      const { ctx, bbox } = u;
      ctx.save();
      clipToPlot(u);
      ctx.strokeStyle = warn;
      ctx.lineWidth = 2 * devicePixelRatio;
      ctx.setLineDash([6 * devicePixelRatio, 4 * devicePixelRatio]);
      for (const t of ends) {
        const x = u.valToPos(t, "x", true);
        ctx.beginPath();
        ctx.moveTo(x, bbox.top);
        ctx.lineTo(x, bbox.top + bbox.height);
        ctx.stroke();
      }
      ctx.restore();
    };
    const font = "14px system-ui, sans-serif";
    const axis = { stroke: text, grid: { stroke: line }, ticks: { stroke: line }, font, labelFont: font };
    const opts = {
      width: container.clientWidth,
      height: HEIGHT,
      // From the session's start, so the steps line up with the time axis.
      scales: { x: { time: false, range: (u, min, max) => [0, Math.max(max, lastEnd, 1)] } },
      legend: { show: false },
      cursor: { drag: { x: false, y: false } },
      series: [{}, { label: "Heart rate", stroke: text, width: 2 }],
      axes: [
        // Whole seconds only: labels are m:ss, so half-second ticks would repeat.
        { ...axis, incrs: TICK_STEPS_S, values: (u, ticks) => ticks.map(mmss) },
        { ...axis, label: "bpm", incrs: BPM_STEPS, values: (u, ticks) => ticks.map((v) => String(Math.round(v))) },
      ],
      hooks: { drawClear: [shade], draw: [markHoldEnds, markGaps] },
    };
    container.replaceChildren();
    const chart = new uPlot(opts, [xs, ys], container);
    container.uplot = chart; // the chart drawn here, for whoever looks at the page's insides
    return chart;
  }

  document.addEventListener("DOMContentLoaded", async () => {
    const section = document.getElementById("session");
    const container = document.getElementById("chart");
    const note = document.getElementById("chart-note");
    const say = (message) => { note.textContent = message; note.hidden = false; };
    if (typeof uPlot === "undefined") { say("The chart library is not installed (run make web-deps)."); return; }
    const id = encodeURIComponent(section.dataset.sessionId);
    let detail;
    let samples;
    try {
      [detail, samples] = await Promise.all([
        api("GET", "/api/sessions/" + id), api("GET", "/api/sessions/" + id + "/samples"),
      ]);
    } catch (e) { say(e.message); return; }
    const rows = samples.samples || [];
    if (!rows.length) { say("No heart-rate samples were recorded for this session."); return; }
    let chart = draw(container, detail, rows);
    window.addEventListener("resize", () => chart.setSize({ width: container.clientWidth, height: HEIGHT }));
    // Colours come from the theme, so redraw when night light is switched.
    new MutationObserver(() => { chart.destroy(); chart = draw(container, detail, rows); })
      .observe(document.documentElement, { attributes: true, attributeFilter: ["class"] });
  });
})();
