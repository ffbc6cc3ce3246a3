// Shared by every page: the API helper (with the CSRF header) and the night-light toggle.
"use strict";

const Companion = (() => {
  const csrfMeta = document.querySelector('meta[name="csrf-token"]');
  const csrf = csrfMeta ? csrfMeta.content : "";

  class ApiError extends Error {
    constructor(status, message) { super(message); this.status = status; }
  }

  async function api(method, path, body) {
    const headers = { "Accept": "application/json" };
    const init = { method, headers, credentials: "same-origin" };
    if (method !== "GET") headers["X-CSRF-Token"] = csrf;
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch(path, init);
    } catch (e) {
      throw new ApiError(0, "The companion is not answering. Is it still running?");
    }
    const data = await response.json().catch(() => ({}));
    if (response.status === 401) { window.location.href = "/login?next=" + encodeURIComponent(location.pathname); }
    if (!response.ok) throw new ApiError(response.status, data.error || ("HTTP " + response.status));
    return data;
  }

  function remembered(key, fallback) {
    try { const v = localStorage.getItem("companion." + key); return v === null ? fallback : v; }
    catch (e) { return fallback; }
  }
  function remember(key, value) {
    try { localStorage.setItem("companion." + key, value); } catch (e) { /* private mode */ }
  }

  // A toggle button bound to a remembered on/off flag.
  function bindToggle(button, key, apply) {
    if (!button) return;
    const set = (on) => {
      button.setAttribute("aria-pressed", on ? "true" : "false");
      remember(key, on ? "1" : "0");
      apply(on);
    };
    set(remembered(key, "0") === "1");
    button.addEventListener("click", () => set(button.getAttribute("aria-pressed") !== "true"));
  }

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "class") node.className = v; else if (k === "text") node.textContent = v; else node.setAttribute(k, v);
    }
    for (const child of children) node.append(child);
    return node;
  }

  // A radio group as WAI-ARIA describes it: one tab stop (the checked radio, else the first),
  // arrow keys move and check, Home and End jump to the ends, Space and Enter check.
  // items: [{ value, content: [nodes or text], class }]; onPick(value, byKey) after each change
  // (byKey: an arrow key moved the choice, so the person may still be on the way to theirs).
  const NEXT_KEYS = new Set(["ArrowRight", "ArrowDown"]);
  const PREVIOUS_KEYS = new Set(["ArrowLeft", "ArrowUp"]);
  function radioGroup(container, items, selected, onPick) {
    container.replaceChildren();
    const buttons = items.map((item) => el("button", {
      type: "button", role: "radio", class: item.class || "",
      "aria-checked": item.value === selected ? "true" : "false", "data-value": String(item.value),
    }, ...item.content));
    const rove = (chosen) => buttons.forEach((b) => b.setAttribute("tabindex", b === chosen ? "0" : "-1"));
    const check = (index, byKey) => {
      buttons.forEach((b, i) => b.setAttribute("aria-checked", i === index ? "true" : "false"));
      rove(buttons[index]);
      onPick(items[index].value, byKey);
    };
    buttons.forEach((button, index) => {
      button.addEventListener("click", () => check(index, false));
      button.addEventListener("keydown", (ev) => {
        let to = null;
        if (NEXT_KEYS.has(ev.key)) to = (index + 1) % buttons.length;
        else if (PREVIOUS_KEYS.has(ev.key)) to = (index - 1 + buttons.length) % buttons.length;
        else if (ev.key === "Home") to = 0;
        else if (ev.key === "End") to = buttons.length - 1;
        if (to === null) return;
        ev.preventDefault();
        buttons[to].focus();
        check(to, true);
      });
    });
    const current = buttons.find((b) => b.getAttribute("aria-checked") === "true") || buttons[0];
    if (current) rove(current);
    container.append(...buttons);
    return buttons;
  }

  // A clock time (a Date) the way the person chose in Settings: 24-hour unless told "12h".
  function clockText(date, clock) {
    return date.toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit", hour12: clock === "12h" });
  }

  document.addEventListener("DOMContentLoaded", () => {
    bindToggle(document.getElementById("night-toggle"), "night",
      (on) => document.documentElement.classList.toggle("night", on));
  });

  // The product's names for session states and cues, from Python (web/page_vocabulary.py).
  const vocabularyMeta = document.querySelector('meta[name="page-vocabulary"]');
  const vocabulary = vocabularyMeta ? JSON.parse(vocabularyMeta.content)
    : { final_states: [], after_session: {}, cue_phases: {} };

  return { api, ApiError, bindToggle, remembered, remember, el, radioGroup, clockText, vocabulary };
})();
