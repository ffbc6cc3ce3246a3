// Live coherence on the Now page: how closely heart rate follows the pacer right now
// (the "coherence" events of the stream). A guide, not a measurement: it says so, and it
// hides when no reading has come for a while or the routine ends.
"use strict";

const Coherence = (() => {
  const HIDE_AFTER_MS = 20000;
  const FINAL = new Set(Companion.vocabulary.final_states);
  const WORDS = { high: "closely", medium: "partly", low: "not yet" };
  let timer = null;

  function hide() {
    const item = document.getElementById("coherence");
    if (item) item.hidden = true;
  }

  function show(p) {
    const item = document.getElementById("coherence");
    if (!item || typeof p.value !== "number" || !(p.level in WORDS)) return;
    const meter = document.getElementById("coherence-meter");
    meter.value = Math.round(Math.max(0, Math.min(1, p.value)) * 100);
    document.getElementById("coherence-word").textContent = WORDS[p.level];
    item.dataset.level = p.level;
    item.hidden = false;
    clearTimeout(timer);
    timer = setTimeout(hide, HIDE_AFTER_MS);
  }

  function parsed(ev) {
    try { return JSON.parse(ev.data); } catch (e) { return null; }
  }

  function attach(source) {
    source.addEventListener("coherence", (ev) => { const p = parsed(ev); if (p) show(p); });
    source.addEventListener("state", (ev) => {
      const p = parsed(ev);
      if (p && FINAL.has(p.state)) hide();
    });
  }

  return { attach };
})();
