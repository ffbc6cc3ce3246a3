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

  document.addEventListener("DOMContentLoaded", () => {
    bindToggle(document.getElementById("night-toggle"), "night",
      (on) => document.documentElement.classList.toggle("night", on));
  });

  return { api, ApiError, bindToggle, remembered, remember, el };
})();
