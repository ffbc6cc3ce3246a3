// Session detail: heart rate over time (uPlot), exercises shaded, holds darker, hold ends marked.
"use strict";

(() => {
  const { api } = Companion;
  const HEIGHT = 320;
  const TICK_STEPS_S = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600];
  const RELEASE_CUES = new Set(["hold_end", "release", "end_hold"]);

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
        hold: num(s.breaths) !== null,
      };
    }).filter((s) => s.from !== null && s.to !== null && s.to > s.from);
  }
  function holdEnds(detail) {
    return (detail.cues || [])
      .filter((c) => RELEASE_CUES.has(String(c.cue).toLowerCase().replace(/[-\s]/g, "_")))
      .map((c) => num(c.actual_s))
      .filter((t) => t !== null);
  }

  function draw(container, detail, samples) {
    const start = num(detail.started_at) ?? (samples.length ? samples[0].t : 0);
    const xs = [];
    const ys = [];
    for (const s of samples) {
      if (num(s.t) === null || num(s.hr) === null) continue;
      xs.push(s.t - start);
      ys.push(s.hr);
    }
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
        { ...axis, label: "bpm" },
      ],
      hooks: { drawClear: [shade], draw: [markHoldEnds] },
    };
    container.replaceChildren();
    return new uPlot(opts, [xs, ys], container);
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
