// The Now page: heart rate, routine picker, the running session and the after-rating.
// Works from the status snapshot plus the live event stream alone.
"use strict";

(() => {
  const { api, el, bindToggle, remembered, remember, radioGroup, clockText } = Companion;
  const $ = (id) => document.getElementById(id);
  // This page's own stream carries the banners too (one stream per page, not two).
  Banners.shareStream();

  const FINAL = new Set(Companion.vocabulary.final_states);
  const AFTER_SESSION = Companion.vocabulary.after_session;
  // The cues that move the circle, by their names on the stream.
  const CUE_PHASES = Companion.vocabulary.cue_phases;
  const PHASE_TEXT = { in: "Breathe in", out: "Breathe out", hold: "Hold your breath", release: "Let go" };
  // What a step asks of the body, from the plan's mode (or guessed from the step alone).
  const MODE_TEXT = { hold: "Hold the stretch", reps: "Repeat, one each breath", flow: "Move with your breath",
    rest: "Rest" };
  // The README suggests the taster for a first try.
  const FIRST_ROUTINE = "taster";
  // "Let go" stays at least this long, even when the next breath-in comes in the same instant.
  const LET_GO_MS = 2500;
  // A heart rate older than this is shown as stale, with its age.
  const STALE_S = 3;
  const LOST_LINKS = new Set(["lost", "closed", "scanning", "connecting", "none"]);
  const EMPTY_SCALE = 0.5;
  const FULL_SCALE = 1;
  const DEFAULT_PATTERN = { inhale_s: 4, hold_in_s: 0, exhale_s: 6, hold_out_s: 0 };
  const TICK_MS = 250;
  const RECONNECT_MS = 5000;
  const STREAM_EVENTS = ["status", "hr", "hr_stale", "battery", "link", "session", "step", "cue", "state",
    "pacing", "rating", "notice"];

  const model = {
    routines: [],
    routine: remembered("routine", null),
    painBefore: null,
    session: null, // { run_id, routine, title, state }
    step: null, // the latest step event
    pattern: { ...DEFAULT_PATTERN },
    clock: null, // { base_s, at_ms, running }: seconds since the session started
    view: "idle",
    plan: null, // the session event's plan, for each step's mode
    breathPhase: "idle", // what the circle does now
    letGoUntil: 0, // performance.now() until which "Let go" keeps the phase word
    hr: null, // { bpm, at_ms (performance.now()), wall_ms } of the last value
    link: null,
    clockStyle: remembered("clock", "24h"), // "24h" or "12h", as chosen in Settings
  };

  const num = (v) => (typeof v === "number" && Number.isFinite(v) ? v : null);
  function field(obj, ...names) {
    if (!obj || typeof obj !== "object") return null;
    for (const n of names) if (obj[n] !== undefined && obj[n] !== null) return obj[n];
    return null;
  }

  // ---- display pieces ----------------------------------------------------------------
  // ageS: how old the value already is (the snapshot says; a stream event is new).
  function showHr(bpm, contact, ageS) {
    if (num(bpm) !== null) {
      const age = Math.max(0, num(ageS) ?? 0) * 1000;
      model.hr = { bpm: Math.round(bpm), at_ms: performance.now() - age, wall_ms: Date.now() - age };
      $("hr-value").textContent = String(model.hr.bpm);
    }
    if (contact === true || contact === false) {
      $("contact").textContent = contact ? "yes" : "no: adjust the band";
      $("hr").classList.toggle("no-contact", !contact);
    }
    renderHrAge();
  }
  // A number on screen is either live or says how old it is: greyed, struck through and
  // labelled after STALE_S without a new value.
  function renderHrAge() {
    const hr = model.hr;
    const age = hr ? (performance.now() - hr.at_ms) / 1000 : 0;
    const stale = Boolean(hr) && age > STALE_S;
    $("hr").classList.toggle("stale", stale);
    const label = $("hr-age");
    label.hidden = !stale;
    if (!stale) return;
    $("contact").textContent = "—"; // unknown until the band says again
    label.textContent = LOST_LINKS.has(model.link)
      ? "band lost, last " + hr.bpm + " at " + clockText(new Date(hr.wall_ms), model.clockStyle)
      : "no signal for " + Math.floor(age) + " s";
  }
  function showBattery(percent) {
    if (num(percent) !== null) $("battery").textContent = Math.round(percent) + "%";
  }
  function showLink(state, detail) {
    if (!state) return;
    const node = $("link-state");
    model.link = state;
    node.dataset.state = state;
    node.textContent = detail ? state + " (" + detail + ")" : state;
  }
  function showProblem(message) {
    const node = $("problem");
    node.textContent = message || "";
    node.hidden = !message;
  }
  function addNotice(p) {
    const box = $("notices");
    const topic = field(p, "topic") || "notice";
    for (const old of box.querySelectorAll(".notice")) if (old.dataset.topic === topic) old.remove();
    const close = el("button", { type: "button", class: "toggle", text: "Dismiss" });
    const node = el("div", { class: "notice", "data-topic": topic, "data-level": field(p, "level") || "info" },
      el("span", { text: field(p, "message") || "" }), close);
    close.addEventListener("click", () => node.remove());
    box.append(node);
  }

  function setView(view) {
    // A new view starts at the top: heart rate, step and circle first.
    if (view !== model.view) window.scrollTo(0, 0);
    const entering = view === "running" && model.view !== "running";
    model.view = view;
    $("idle").hidden = view !== "idle";
    $("running").hidden = view !== "running";
    if (entering) restCircle();
    $("pain").hidden = view !== "running";
    $("after").hidden = view !== "after";
    document.body.classList.toggle("in-session", view === "running");
    if (view === "after") focusFirst($("pain-after"));
    keepAwake(view === "running");
  }

  // ---- the routine picker and rating scales ---------------------------------------------
  function focusFirst(group) {
    const first = group.querySelector("[tabindex='0']");
    if (first) first.focus({ preventScroll: true });
  }
  const scaleItems = () => Array.from({ length: 11 }, (_, n) => ({ value: n, content: [String(n)] }));

  function renderRoutines() {
    const names = model.routines.map((r) => r.name);
    if (!names.includes(model.routine)) {
      model.routine = names.includes(FIRST_ROUTINE) ? FIRST_ROUTINE : (names.length ? names[0] : null);
    }
    // Cards say name and length; the chosen one's description is written out below them, so
    // the picker stays short enough for a phone.
    radioGroup($("routines"), model.routines.map((r) => ({
      value: r.name,
      class: "routine",
      content: [
        el("strong", { text: r.title || r.name }),
        el("span", { text: num(r.total_s) ? Math.max(1, Math.round(r.total_s / 60)) + " min" : "" }),
      ],
    })), model.routine, (name) => { model.routine = name; describeRoutine(); updateStart(); });
    if (!names.length) showProblem("No routines are available.");
    describeRoutine();
    updateStart();
  }
  function describeRoutine() {
    const r = model.routines.find((x) => x.name === model.routine);
    $("routine-about").textContent = r ? (r.description || "") : "";
  }
  function renderPainBefore() {
    radioGroup($("pain-before"), scaleItems(), model.painBefore, (n) => { model.painBefore = n; updateStart(); });
  }
  function updateStart() {
    $("start").disabled = model.routine === null || model.painBefore === null;
    $("start-hint").textContent = model.routine === null ? "Choose a routine first."
      : model.painBefore === null ? "Rate your pain first." : "";
  }

  // ---- session clock and the countdown --------------------------------------------------
  function sessionTime() {
    const c = model.clock;
    if (!c) return null;
    return c.base_s + (c.running ? (performance.now() - c.at_ms) / 1000 : 0);
  }
  function setClock(seconds, running) {
    model.clock = { base_s: seconds, at_ms: performance.now(), running };
  }
  function renderCountdown() {
    const step = model.step;
    const t = sessionTime();
    const end = num(field(step, "end_s"));
    if (!step || t === null || end === null) { $("countdown").textContent = ""; return; }
    const left = Math.max(0, end - t);
    const parts = [];
    const breaths = num(field(step, "breaths"));
    if (breaths !== null) {
      const p = currentPattern();
      const period = p.inhale_s + p.hold_in_s + p.exhale_s + p.hold_out_s;
      const breathsLeft = Math.min(breaths, Math.ceil(left / period));
      parts.push(breathsLeft + (breathsLeft === 1 ? " breath" : " breaths"));
    }
    parts.push(Math.ceil(left) + " s");
    if (model.session && model.session.state === "paused") parts.push("paused");
    $("countdown").textContent = parts.join(" · ");
  }

  // ---- the breathing circle and sounds --------------------------------------------------
  function cuePhase(name) {
    return CUE_PHASES[name] || null;
  }
  // A panel that was hidden has no size to animate from: give the circle its empty size
  // and make the browser lay it out, so the first breath-in grows instead of jumping.
  function restCircle() {
    clearTimeout(holdTimer);
    model.breathPhase = "idle";
    model.letGoUntil = 0;
    $("breath").dataset.phase = "idle";
    const circle = $("circle");
    circle.style.transitionDuration = "0s";
    circle.style.transform = "scale(" + EMPTY_SCALE + ")";
    void circle.offsetWidth;
    circle.style.transitionDuration = "";
  }
  let holdTimer = null;
  let wordTimer = null;
  // The phase word and the circle's colour and shape. "Let go" keeps the word for LET_GO_MS
  // while the circle already follows the next breath.
  function showPhase(phase) {
    model.breathPhase = phase;
    $("breath").dataset.phase = phase;
    renderPhaseWord();
  }
  function renderPhaseWord() {
    const paused = model.session && model.session.state === "paused";
    const letGo = performance.now() < model.letGoUntil;
    const phase = paused ? "paused" : (letGo ? "release" : model.breathPhase);
    const node = $("phase");
    node.dataset.phase = phase;
    node.textContent = paused ? "Paused" : (PHASE_TEXT[phase] || "Breathe easily");
    $("breath").dataset.paused = paused ? "true" : "false";
  }
  function breathe(cueName, duration) {
    const phase = cuePhase(cueName);
    if (!phase) return;
    const circle = $("circle");
    clearTimeout(holdTimer);
    if (phase === "in" || phase === "out") {
      const p = currentPattern();
      const fallback = phase === "in" ? p.inhale_s : p.exhale_s;
      // A cue's duration may include the hold after it; the circle moves only while breathing.
      const seconds = num(duration) && duration > 0 ? Math.min(duration, fallback) : fallback;
      circle.style.transitionDuration = seconds + "s";
      circle.style.transform = "scale(" + (phase === "in" ? FULL_SCALE : EMPTY_SCALE) + ")";
      showPhase(phase);
      // A pattern with a held breath after this phase: the circle stops and says so.
      const held = phase === "in" ? p.hold_in_s : p.hold_out_s;
      if (held > 0) holdTimer = setTimeout(() => showPhase("hold"), seconds * 1000);
    } else if (phase === "release") {
      model.letGoUntil = performance.now() + LET_GO_MS;
      const breath = $("breath");
      breath.dataset.release = "false";
      void breath.offsetWidth; // restart the ripple when two hold ends come close together
      breath.dataset.release = "true";
      clearTimeout(wordTimer);
      wordTimer = setTimeout(() => { breath.dataset.release = "false"; renderPhaseWord(); }, LET_GO_MS);
      showPhase(model.breathPhase === "idle" ? "release" : model.breathPhase);
    } else {
      showPhase(phase);
    }
    playCue(phase);
  }

  const audio = { on: false, ctx: null };
  function tone(from, to, seconds, type, level) {
    const ctx = audio.ctx;
    if (!ctx || ctx.state !== "running") return;
    const t0 = ctx.currentTime;
    const osc = ctx.createOscillator();
    const gain = ctx.createGain();
    osc.type = type;
    osc.frequency.setValueAtTime(from, t0);
    osc.frequency.linearRampToValueAtTime(to, t0 + seconds);
    // Fade in and out so the tone never clicks.
    gain.gain.setValueAtTime(0.0001, t0);
    gain.gain.exponentialRampToValueAtTime(level, t0 + 0.12);
    gain.gain.exponentialRampToValueAtTime(0.0001, t0 + seconds);
    osc.connect(gain).connect(ctx.destination);
    osc.start(t0);
    osc.stop(t0 + seconds + 0.05);
  }
  const SOUNDS = {
    in: () => tone(330, 440, 1.0, "sine", 0.07),
    out: () => tone(392, 294, 1.2, "sine", 0.07),
    release: () => { tone(660, 660, 0.25, "triangle", 0.1); setTimeout(() => tone(880, 880, 0.4, "triangle", 0.1), 280); },
  };
  function playCue(phase) { if (audio.on && SOUNDS[phase]) SOUNDS[phase](); }
  function setSound(on) {
    audio.on = on;
    if (!on) return;
    const Ctx = window.AudioContext || window.webkitAudioContext;
    if (!audio.ctx && Ctx) audio.ctx = new Ctx();
    if (audio.ctx) audio.ctx.resume().catch(() => {});
  }

  // ---- the screen stays on during a session ---------------------------------------------
  let wakeLock = null;
  async function keepAwake(on) {
    if (!("wakeLock" in navigator)) return;
    try {
      if (on && !wakeLock) {
        wakeLock = await navigator.wakeLock.request("screen");
        wakeLock.addEventListener("release", () => { wakeLock = null; });
      } else if (!on && wakeLock) {
        const lock = wakeLock;
        wakeLock = null;
        await lock.release();
      }
    } catch (e) { /* refused (battery saver, hidden tab): the session runs anyway */ }
  }

  // ---- session life cycle ---------------------------------------------------------------
  function routineTitle(name) {
    const r = model.routines.find((x) => x.name === name);
    return r ? (r.title || r.name) : (name || "");
  }
  function enterSession(runId, routine, state) {
    const fresh = !model.session || Boolean(runId && model.session.run_id !== runId);
    if (!fresh) {
      runId = runId || model.session.run_id;
      routine = routine || model.session.routine;
    }
    model.session = { run_id: runId, routine, state: state || "running" };
    if (fresh) {
      model.step = null;
      model.clock = null;
      model.plan = null; // the last routine's steps say nothing about this one
      renderStep();
    }
    $("routine-title").textContent = routineTitle(routine);
    $("pause").textContent = model.session.state === "paused" ? "Resume" : "Pause";
    setView("running");
    renderPhaseWord();
  }
  function renderStep() {
    const s = model.step;
    const name = s ? (field(s, "name", "exercise") || "Exercise") : "Getting ready";
    const side = s ? field(s, "side") : null;
    $("step-title").textContent = name;
    // Plan step names already carry their side ("Knee to chest — left"); say it only when not.
    $("step-side").textContent = side && !name.toLowerCase().includes(String(side).toLowerCase())
      ? "(" + side + " side)" : "";
    const mode = stepMode(s);
    $("step-mode").textContent = mode ? MODE_TEXT[mode] || "" : "";
    $("step-mode").dataset.mode = mode || "";
    $("instructions").textContent = s ? (field(s, "instructions") || "") : "Lie comfortably and let your breathing settle.";
    renderCountdown();
  }
  function plannedStep(step) {
    const index = num(field(step, "index", "step"));
    return model.plan && Array.isArray(model.plan.steps) && index !== null
      ? model.plan.steps.find((p) => p.index === index) || null : null;
  }
  // The breathing the current step follows: its own (an assessment's paces) or the plan's.
  function currentPattern() {
    const planned = model.step ? plannedStep(model.step) : null;
    const own = planned ? field(planned, "pattern") : null;
    return own && typeof own === "object" ? { ...model.pattern, ...own } : model.pattern;
  }
  function stepMode(step) {
    if (!step) return null;
    const planned = plannedStep(step);
    if (planned && planned.mode) return planned.mode;
    if (field(step, "exercise") === "rest") return "rest";
    if (num(field(step, "reps")) !== null) return "reps";
    return num(field(step, "breaths")) !== null ? "hold" : null;
  }
  function finish(state) {
    if (model.view === "after") return; // already asking; a reconnect's snapshot changes nothing
    if (model.view !== "running") { model.session = null; setView("idle"); return; }
    $("after-outcome").textContent = AFTER_SESSION[state] || "The session has ended.";
    $("after-saved").hidden = true;
    radioGroup($("pain-after"), scaleItems(), null, pickAfter);
    for (const b of $("pain-after").children) b.disabled = false;
    model.session = null;
    setView("after");
  }
  // A tap saves at once; arrow keys pass through values on the way, so the one they stop on
  // is saved after a short pause (or when Done is pressed).
  const RATE_SETTLE_MS = 800;
  let pendingRating = null;
  function pickAfter(pain, byKey) {
    clearTimeout(pendingRating);
    pendingRating = null;
    if (!byKey) { rateAfter(pain); return; }
    pendingRating = setTimeout(() => { pendingRating = null; rateAfter(pain); }, RATE_SETTLE_MS);
  }
  function flushRating() {
    if (pendingRating === null) return;
    clearTimeout(pendingRating);
    pendingRating = null;
    const checked = $("pain-after").querySelector("[aria-checked='true']");
    if (checked) rateAfter(Number(checked.dataset.value));
  }
  async function rateAfter(pain) {
    try {
      await api("POST", "/api/session/rating", { pain_after: pain });
      $("after-saved").hidden = false;
      showProblem("");
    } catch (e) { showProblem(e.message); }
  }
  function onState(p) {
    const state = field(p, "state");
    if (!state) return;
    if (FINAL.has(state)) { finish(state); return; }
    const runId = field(p, "run_id") || (model.session && model.session.run_id);
    const routine = model.session ? model.session.routine : field(p, "routine");
    const t = sessionTime();
    enterSession(runId, routine, state);
    if (t !== null) setClock(t, state === "running");
    renderCountdown();
  }

  // ---- the status snapshot and live events ---------------------------------------------
  function applyPattern(source) {
    for (const key of Object.keys(DEFAULT_PATTERN)) {
      const value = num(field(source, key));
      if (value !== null) model.pattern[key] = value;
    }
  }
  // The snapshot's shape is companion.core.Core.status(); older or simpler shapes (flat
  // hr/battery/link fields) are read too, so the page never depends on one spelling.
  function applyStatus(s) {
    if (!s || typeof s !== "object") return;
    const link = field(s, "link", "link_state");
    if (link && typeof link === "object") showLink(field(link, "state"), field(link, "detail"));
    else showLink(link);
    const hr = field(s, "heart_rate", "hr");
    if (hr && typeof hr === "object") {
      // age_s from the companion; a value it calls stale without an age is at least that old.
      const age = num(hr.age_s) ?? (hr.stale === true ? STALE_S + 1 : 0);
      showHr(field(hr, "hr", "bpm"), hr.contact, age);
    } else showHr(hr, s.contact);
    const battery = field(s, "battery") ?? field(link, "battery");
    showBattery(battery && typeof battery === "object" ? field(battery, "percent") : battery);
    for (const n of field(s, "notices") || []) {
      if (field(n, "topic") === "summary") Banners.notice(n, true); else addNotice(n);
    }

    const session = field(s, "session");
    const info = session && typeof session === "object" ? session : {};
    applyPattern(field(info, "pattern") || field(field(s, "plan"), "pattern", "breathing"));
    applyPattern(field(s, "pacing"));
    const state = typeof session === "string" ? session : field(info, "state") || field(s, "session_state");
    if (state === "running" || state === "paused") {
      enterSession(field(info, "run_id", "id"), field(info, "routine"), state);
      const step = field(info, "step", "current_step") || field(s, "step");
      if (step && typeof step === "object") { model.step = step; renderStep(); }
      const elapsed = num(field(info, "offset_s", "elapsed_s")) ?? num(field(s, "elapsed_s"));
      if (elapsed !== null) setClock(elapsed, state === "running");
    } else if (state && FINAL.has(state)) {
      finish(state);
    } else if (model.view !== "after") {
      model.session = null;
      setView("idle");
    }
  }

  const handlers = {
    status: applyStatus,
    hr: (p) => showHr(p.hr, p.contact),
    // The companion's own word that the value is old (the page also ages it by itself).
    hr_stale: (p) => {
      const age = num(p.age_s);
      if (num(p.last_hr) === null || age === null) return;
      model.hr = { bpm: Math.round(p.last_hr), at_ms: performance.now() - age * 1000,
        wall_ms: num(p.last_wall) !== null ? p.last_wall * 1000 : Date.now() - age * 1000 };
      $("hr-value").textContent = String(model.hr.bpm);
      renderHrAge();
    },
    battery: (p) => showBattery(p.percent),
    link: (p) => { showLink(p.state, p.detail); renderHrAge(); },
    notice: (p) => (field(p, "topic") === "summary" ? Banners.notice(p, false) : addNotice(p)),
    pacing: (p) => applyPattern(p),
    rating: () => {},
    session: (p) => {
      enterSession(p.run_id, p.routine, "running");
      model.plan = field(p, "plan");
      applyPattern(field(model.plan, "pattern", "breathing"));
      setClock(0, true);
    },
    step: (p) => {
      model.step = p;
      if (!model.clock && num(p.start_s) !== null) setClock(p.start_s, true);
      if (model.view !== "running" && model.session) setView("running");
      renderStep();
    },
    cue: (p) => {
      const running = !model.session || model.session.state !== "paused";
      if (num(p.actual_s) !== null) setClock(p.actual_s, running);
      breathe(p.cue, p.duration_s);
    },
    state: onState,
  };

  function connect() {
    const source = new EventSource("/api/stream");
    Banners.attach(source);
    if (typeof Coherence !== "undefined") Coherence.attach(source); // coherence.js
    for (const kind of STREAM_EVENTS) {
      source.addEventListener(kind, (ev) => {
        let payload;
        try { payload = JSON.parse(ev.data); } catch (e) { return; }
        handlers[kind](payload);
      });
    }
    source.addEventListener("open", () => { $("feed-state").hidden = true; });
    source.addEventListener("error", () => {
      $("feed-state").hidden = false;
      // The browser retries by itself unless the server refused (e.g. too many streams).
      if (source.readyState === EventSource.CLOSED) setTimeout(connect, RECONNECT_MS);
    });
  }

  // ---- buttons ---------------------------------------------------------------------------
  async function command(name) {
    try {
      const result = await api("POST", "/api/session/" + name);
      showProblem("");
      if (field(result, "state")) onState(result);
    } catch (e) { showProblem(e.message); }
  }
  // "Start now" on a reminder: that routine, chosen, and the usual pain rating before it.
  function offerRoutine(name) {
    if (model.view === "running") { showProblem("A routine is already running."); return; }
    if (!model.routines.some((r) => r.name === name)) { showProblem("The reminder's routine is not available."); return; }
    model.routine = name;
    model.painBefore = null;
    renderRoutines();
    renderPainBefore();
    setView("idle");
    showProblem("");
    $("pain-before-title").scrollIntoView({ block: "center" });
    const first = $("pain-before").querySelector("button");
    if (first) first.focus({ preventScroll: true });
  }

  // Times on this page follow the clock chosen in Settings (remembered for the next load).
  async function loadClock() {
    try {
      const clock = field(field(await api("GET", "/api/settings"), "units"), "clock");
      if (clock) { model.clockStyle = clock; remember("clock", clock); }
    } catch (e) { /* the 24-hour default stays */ }
  }

  async function start() {
    $("start").disabled = true;
    try {
      const created = await api("POST", "/api/session", { routine: model.routine, pain_before: model.painBefore });
      remember("routine", model.routine);
      showProblem("");
      enterSession(created.id, model.routine, "running");
      // The Start button is gone: keyboard focus moves to the session, one Tab from its controls.
      $("running").focus({ preventScroll: true });
    } catch (e) {
      showProblem(e.message);
      updateStart();
    }
  }

  document.addEventListener("DOMContentLoaded", async () => {
    bindToggle($("sound-toggle"), "sound", setSound);
    Banners.onStart(offerRoutine);
    // A browser only lets sound start after a tap; the first one anywhere will do.
    document.addEventListener("click", () => { if (audio.on) setSound(true); }, { once: true });
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "visible" && model.view === "running") keepAwake(true);
    });
    $("start").addEventListener("click", start);
    $("pause").addEventListener("click", () =>
      command(model.session && model.session.state === "paused" ? "resume" : "pause"));
    $("skip").addEventListener("click", () => command("skip"));
    $("stop").addEventListener("click", () => command("stop"));
    $("pain").addEventListener("click", () => command("pain"));
    $("after-done").addEventListener("click", () => {
      flushRating();
      model.painBefore = null;
      renderPainBefore();
      updateStart();
      setView("idle");
      focusFirst($("routines")); // Done is gone: keyboard focus goes back to the start
    });
    renderPainBefore();
    setView("idle");
    setInterval(() => { renderCountdown(); renderHrAge(); }, TICK_MS);
    try {
      const [routines, status] = await Promise.all([api("GET", "/api/routines"), api("GET", "/api/status")]);
      loadClock();
      model.routines = Array.isArray(routines) ? routines : [];
      renderRoutines();
      applyStatus(status);
      // Arrived from a reminder's "Start now" on another page.
      const wanted = new URLSearchParams(window.location.search).get("routine");
      if (wanted) {
        window.history.replaceState(null, "", window.location.pathname);
        offerRoutine(wanted);
      }
    } catch (e) { showProblem(e.message); }
    connect();
  });
})();
