// Settings: breathing pace, heart-rate ceiling, units, reminders, the wake time, and which
// band to use.
"use strict";

(() => {
  const { api, el, clockText } = Companion;
  const $ = (id) => document.getElementById(id);

  // Each form's problem line and its "saved" line: showing one hides the other, so an old
  // "Added" never stands beside a new error.
  const SAVED_OF = { "problem": "prefs-saved", "reminder-problem": "reminder-saved", "wake-problem": "wake-saved" };
  function say(id, message) {
    $(id).textContent = message || "";
    $(id).hidden = !message;
    if (message && SAVED_OF[id]) $(SAVED_OF[id]).hidden = true;
  }
  const showProblem = (message) => say("problem", message);
  let clock = "24h";
  // "21:30" as the chosen clock shows it.
  function timeText(hhmm) {
    const [h, m] = String(hhmm).split(":").map(Number);
    if (!Number.isInteger(h) || !Number.isInteger(m)) return String(hhmm);
    const at = new Date();
    at.setHours(h, m, 0, 0);
    return clockText(at, clock);
  }
  // The band the companion is connected to now (address), from the status.
  async function bandInUse() {
    try {
      const link = (await api("GET", "/api/status")).link || {};
      return link.device && ["connected", "reconnected", "silent"].includes(link.state)
        ? { address: link.device, profile: link.profile, state: link.state } : null;
    } catch (e) { return null; }
  }

  function fill(form, s) {
    form.own_pace.checked = s.pattern === null;
    const pattern = s.pattern || { inhale_s: 4, exhale_s: 6 };
    form.inhale_s.value = pattern.inhale_s;
    form.exhale_s.value = pattern.exhale_s;
    syncPace(form);
    form.hr_ceiling.value = s.hr_ceiling;
    form.energy.value = s.units.energy;
    form.clock.value = s.units.clock;
    clock = s.units.clock;
  }

  function read(form) {
    // Sent as typed; the server checks every value and says which one is wrong.
    const number = (input) => (input.value.trim() === "" ? null : Number(input.value));
    return {
      pattern: form.own_pace.checked ? null : { inhale_s: number(form.inhale_s), exhale_s: number(form.exhale_s) },
      hr_ceiling: number(form.hr_ceiling),
      units: { energy: form.energy.value, clock: form.clock.value },
    };
  }

  function syncPace(form) {
    form.inhale_s.disabled = form.own_pace.checked;
    form.exhale_s.disabled = form.own_pace.checked;
  }

  function markInvalid(form, field) {
    for (const input of form.querySelectorAll("input")) input.removeAttribute("aria-invalid");
    const name = (field || "").split(".").pop();
    if (form[name] && form[name].tagName === "INPUT") form[name].setAttribute("aria-invalid", "true");
  }

  function deviceRow(device, actions, inUse) {
    const name = el("strong", { text: device.name || "Unnamed band" });
    const label = el("div", {}, name,
      el("small", { text: [device.address, device.profile].filter(Boolean).join(" · ") }));
    if (inUse) label.append(el("span", { class: "in-use", text: "In use now" }));
    const buttons = el("div", { class: "row" });
    for (const [text, handler] of actions) {
      const b = el("button", { type: "button", text });
      b.addEventListener("click", handler);
      buttons.append(b);
    }
    return el("div", { class: "device", "data-in-use": inUse ? "true" : "false" }, label, buttons);
  }

  async function choose(address) {
    try {
      await api("POST", "/api/devices/choose", { address });
      $("scan-state").textContent = address ? "This band will be used from now on." : "The first band found will be used.";
      showProblem("");
    } catch (e) { showProblem(e.message); }
  }

  async function loadDevices() {
    const box = $("devices");
    try {
      const [{ devices }, using] = await Promise.all([api("GET", "/api/devices"), bandInUse()]);
      $("band-in-use").textContent = using
        ? "In use now: " + ((devices.find((d) => d.address === using.address) || {}).name || using.address) + "."
        : "No band is connected right now.";
      box.replaceChildren(...devices.map((d) => deviceRow(d, [
        ["Use", () => choose(d.address)],
        ["Forget", async () => {
          try { await api("DELETE", "/api/devices/" + encodeURIComponent(d.address)); await loadDevices(); }
          catch (e) { showProblem(e.message); }
        }],
      ], using !== null && using.address === d.address)));
      if (!devices.length) box.append(el("p", { class: "hint", text: "No bands known yet." }));
    } catch (e) { showProblem(e.message); }
  }

  // ---- reminders -------------------------------------------------------------------------
  const DAY_ORDER = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
  const DAY_NAMES = { mon: "Mon", tue: "Tue", wed: "Wed", thu: "Thu", fri: "Fri", sat: "Sat", sun: "Sun" };
  let routineTitles = {};
  const reminderProblem = (message) => say("reminder-problem", message);

  function daysText(days) {
    const set = new Set(days);
    if (DAY_ORDER.every((d) => set.has(d))) return "Every day";
    if (set.size === 5 && DAY_ORDER.slice(0, 5).every((d) => set.has(d))) return "Weekdays";
    if (set.size === 2 && set.has("sat") && set.has("sun")) return "Weekends";
    return DAY_ORDER.filter((d) => set.has(d)).map((d) => DAY_NAMES[d]).join(", ");
  }

  function reminderRow(r) {
    const what = el("div", { class: "reminder-what" }, el("strong", { text: timeText(r.at) }),
      el("span", { text: (routineTitles[r.routine] || r.routine) + " · " + daysText(r.days) }));
    const toggle = el("input", { type: "checkbox", name: "enabled" });
    toggle.checked = r.enabled;
    toggle.addEventListener("change", async () => {
      try {
        await api("PATCH", "/api/reminders/" + r.id, { enabled: toggle.checked });
        reminderProblem("");
        await loadReminders();
      } catch (e) { toggle.checked = !toggle.checked; reminderProblem(e.message); }
    });
    const remove = el("button", { type: "button", text: "Remove" });
    remove.addEventListener("click", async () => {
      try { await api("DELETE", "/api/reminders/" + r.id); reminderProblem(""); await loadReminders(); }
      catch (e) { reminderProblem(e.message); }
    });
    const on = el("label", { class: "check" }, toggle, "On");
    return el("div", { class: "reminder", "data-id": String(r.id), "data-enabled": String(r.enabled) },
      what, el("div", { class: "row" }, on, remove));
  }

  async function loadReminders() {
    const box = $("reminders");
    try {
      const { reminders } = await api("GET", "/api/reminders");
      box.replaceChildren(...reminders.map(reminderRow));
      if (!reminders.length) box.append(el("p", { class: "hint", text: "No reminders yet." }));
    } catch (e) { reminderProblem(e.message); }
  }

  async function loadRoutines(form) {
    try {
      const routines = await api("GET", "/api/routines");
      routineTitles = Object.fromEntries(routines.map((r) => [r.name, r.title || r.name]));
      form.routine.replaceChildren(...routines.map((r) => el("option", { value: r.name, text: r.title || r.name })));
    } catch (e) { reminderProblem(e.message); }
  }

  async function addReminder(form) {
    $("reminder-saved").hidden = true;
    const days = Array.from(form.querySelectorAll("input[name=days]:checked"), (box) => box.value);
    try {
      // Sent as chosen; the server checks the time, the days and the routine.
      const added = await api("POST", "/api/reminders", { at: form.at.value, days, routine: form.routine.value });
      reminderProblem("");
      $("reminder-saved").textContent = "Added: " + timeText(added.at) + ", " + daysText(added.days).toLowerCase() + ".";
      $("reminder-saved").hidden = false;
      await loadReminders();
    } catch (e) { reminderProblem(e.message); }
  }

  async function saveWakeTime(form) {
    $("wake-saved").hidden = true;
    try {
      const saved = await api("PUT", "/api/settings", { wake_time: form.wake_time.value });
      form.wake_time.value = saved.wake_time;
      say("wake-problem", "");
      $("wake-saved").hidden = false;
    } catch (e) { say("wake-problem", e.message); }
  }

  async function scan() {
    $("scan").disabled = true;
    $("scan-state").textContent = "Looking for bands nearby…";
    try {
      const [{ devices }, using] = await Promise.all([api("POST", "/api/devices/scan", {}), bandInUse()]);
      // A connected band stops advertising, so a scan never finds the one in use: list it too.
      const rows = devices.map((d) => deviceRow(d, [["Use this band", () => choose(d.address)]],
        using !== null && using.address === d.address));
      const listed = using !== null && devices.some((d) => d.address === using.address);
      if (using !== null && !listed) {
        rows.unshift(deviceRow({ name: "The band in use", address: using.address, profile: using.profile }, [], true));
      }
      $("found").replaceChildren(...rows);
      const others = devices.filter((d) => !using || d.address !== using.address).length;
      $("scan-state").textContent = others
        ? "Found " + others + (others === 1 ? " other band." : " other bands.")
        : using ? "No other bands nearby; the band in use is connected."
          : "No bands found. Tap the band to wake it and keep it close.";
    } catch (e) {
      $("scan-state").textContent = "";
      showProblem(e.message);
    } finally { $("scan").disabled = false; }
  }

  document.addEventListener("DOMContentLoaded", async () => {
    const form = $("prefs");
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      $("prefs-saved").hidden = true;
      try {
        fill(form, await api("PUT", "/api/settings", read(form)));
        markInvalid(form, null);
        showProblem("");
        $("prefs-saved").hidden = false;
        loadReminders(); // their times in the clock just chosen
      } catch (e) {
        showProblem(e.message);
        markInvalid(form, e.message.split(":")[0]);
      }
    });
    form.own_pace.addEventListener("change", () => syncPace(form));
    $("scan").addEventListener("click", scan);
    $("choose-any").addEventListener("click", () => choose(null));
    const adding = $("add-reminder");
    adding.addEventListener("submit", (ev) => { ev.preventDefault(); addReminder(adding); });
    const wake = $("wake");
    wake.addEventListener("submit", (ev) => { ev.preventDefault(); saveWakeTime(wake); });
    try {
      const saved = await api("GET", "/api/settings");
      fill(form, saved);
      wake.wake_time.value = saved.wake_time;
    } catch (e) { showProblem(e.message); }
    await loadRoutines(adding);
    loadReminders();
    loadDevices();
  });
})();
