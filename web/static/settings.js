// Settings: breathing pace, heart-rate ceiling, units, and which band to use.
"use strict";

(() => {
  const { api, el } = Companion;
  const $ = (id) => document.getElementById(id);

  function showProblem(message) {
    $("problem").textContent = message || "";
    $("problem").hidden = !message;
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

  function deviceRow(device, actions) {
    const label = el("div", {}, el("strong", { text: device.name || "Unnamed band" }),
      el("small", { text: [device.address, device.profile].filter(Boolean).join(" · ") }));
    const buttons = el("div", { class: "row" });
    for (const [text, handler] of actions) {
      const b = el("button", { type: "button", text });
      b.addEventListener("click", handler);
      buttons.append(b);
    }
    return el("div", { class: "device" }, label, buttons);
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
      const { devices } = await api("GET", "/api/devices");
      box.replaceChildren(...devices.map((d) => deviceRow(d, [
        ["Use", () => choose(d.address)],
        ["Forget", async () => {
          try { await api("DELETE", "/api/devices/" + encodeURIComponent(d.address)); await loadDevices(); }
          catch (e) { showProblem(e.message); }
        }],
      ])));
      if (!devices.length) box.append(el("p", { class: "hint", text: "No bands known yet." }));
    } catch (e) { showProblem(e.message); }
  }

  async function scan() {
    $("scan").disabled = true;
    $("scan-state").textContent = "Looking for bands nearby…";
    try {
      const { devices } = await api("POST", "/api/devices/scan", {});
      $("found").replaceChildren(...devices.map((d) => deviceRow(d, [["Use this band", () => choose(d.address)]])));
      $("scan-state").textContent = devices.length ? "Found " + devices.length + "." : "No bands found. Tap the band to wake it and keep it close.";
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
      } catch (e) {
        showProblem(e.message);
        markInvalid(form, e.message.split(":")[0]);
      }
    });
    form.own_pace.addEventListener("change", () => syncPace(form));
    $("scan").addEventListener("click", scan);
    $("choose-any").addEventListener("click", () => choose(null));
    try { fill(form, await api("GET", "/api/settings")); } catch (e) { showProblem(e.message); }
    loadDevices();
  });
})();
