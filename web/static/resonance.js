// Settings: the resonance assessments kept (newest first) and "use this pace", which saves
// an answer's pattern as the breathing pattern (POST /api/resonance/adopt). The section
// stays hidden until there is an assessment to show.
"use strict";

(() => {
  const { api, el } = Companion;
  const SHOWN = 5;
  const MOST = 200; // the most /api/resonance lists at once

  // History's "Adopt it in Settings" names its assessment: offer that one, not the latest.
  function asked() {
    const id = Number(new URLSearchParams(location.search).get("assessment"));
    return Number.isInteger(id) && id > 0 ? id : null;
  }

  function when(unixSeconds) {
    return new Date(unixSeconds * 1000).toLocaleString([], { dateStyle: "medium", timeStyle: "short" });
  }

  function patternText(a) {
    return `${a.pace_per_min} a minute (in ${a.inhale_s} s, out ${a.exhale_s} s)`;
  }

  function reflectInForm(pattern) {
    const form = document.getElementById("prefs");
    if (!form || !form.inhale_s) return;
    form.own_pace.checked = false;
    form.inhale_s.disabled = false;
    form.exhale_s.disabled = false;
    form.inhale_s.value = pattern.inhale_s;
    form.exhale_s.value = pattern.exhale_s;
  }

  async function adopt(a, button) {
    const saved = document.getElementById("resonance-saved");
    button.disabled = true;
    try {
      const reply = await api("POST", "/api/resonance/adopt", { id: a.id });
      reflectInForm(reply.pattern);
      saved.textContent = `Saved: ${patternText(a)}. The next routine you start breathes at it.`;
    } catch (e) {
      saved.textContent = e.message;
    } finally {
      saved.hidden = false;
      button.disabled = false;
    }
  }

  async function load() {
    const section = document.getElementById("resonance");
    if (!section) return;
    const wanted = asked();
    let assessments;
    try {
      assessments = (await api("GET", "/api/resonance?limit=" + (wanted ? MOST : SHOWN))).assessments;
    } catch (e) {
      return; // the rest of Settings works without it
    }
    if (!assessments.length) return;
    const latest = assessments.find((a) => a.id === wanted) || assessments[0];
    const older = assessments.filter((a) => a !== latest).slice(0, SHOWN - 1);
    document.getElementById("resonance-latest").textContent = `${when(latest.at)}: ${latest.message}`;
    const button = document.getElementById("resonance-adopt");
    if (latest.answered) {
      button.textContent = `Use ${patternText(latest)}`;
      button.hidden = false;
      button.addEventListener("click", () => adopt(latest, button));
    }
    const list = document.getElementById("resonance-history");
    for (const a of older) list.append(el("li", { text: `${when(a.at)}: ${a.answered ? patternText(a) : "no clear answer"}` }));
    section.hidden = false;
    // Hidden when the page loaded, so the browser could not scroll to it then.
    if (location.hash === "#resonance") section.scrollIntoView();
  }

  document.addEventListener("DOMContentLoaded", load);
})();
