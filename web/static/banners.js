// Banners on every page: a reminder ("Time for your … routine": start now, snooze, dismiss)
// and "your morning summary is ready". A page with a live stream of its own (Now) hands it
// over with Banners.shareStream() + Banners.attach(source); every other page gets one here.
"use strict";

const Banners = (() => {
  const { api, el, remembered, remember } = Companion;
  const RECONNECT_MS = 5000;
  const SNOOZED_SHOWN_MS = 8000;
  const SUMMARY_SEEN_KEY = "summary-seen";

  let ownStream = true;
  // What "Start now" does; the Now page replaces it with its own pain-before flow.
  let startRoutine = (routine) => {
    window.location.href = "/?routine=" + encodeURIComponent(routine);
  };

  const box = () => document.getElementById("banners");

  function clock(unixSeconds) {
    const d = new Date(unixSeconds * 1000);
    return String(d.getHours()).padStart(2, "0") + ":" + String(d.getMinutes()).padStart(2, "0");
  }

  function place(key, node) {
    const container = box();
    if (!container) return;
    for (const old of container.querySelectorAll(".banner")) if (old.dataset.key === key) old.remove();
    node.dataset.key = key;
    container.append(node);
  }

  function button(text, cls, onClick) {
    const b = el("button", { type: "button", class: cls, text });
    b.addEventListener("click", onClick);
    return b;
  }

  function reminder(p) {
    if (!p || typeof p.reminder_id !== "number" || typeof p.routine !== "string") return;
    const id = p.reminder_id;
    const text = el("p", { class: "banner-text", text: p.message || "Time for your routine." });
    const problem = el("p", { class: "banner-problem", role: "alert" });
    problem.hidden = true;
    const actions = el("div", { class: "banner-actions" });
    const node = el("section", { class: "banner", "data-kind": "reminder", "data-reminder": String(id),
      "aria-label": "Reminder" }, text, problem, actions);
    const dismiss = button("Dismiss", "", () => node.remove());
    const start = button("Start now", "primary", () => {
      node.remove();
      startRoutine(p.routine);
    });
    const snooze = button("Snooze 10 min", "", async () => {
      snooze.disabled = true;
      try {
        const { at } = await api("POST", "/api/reminders/" + id + "/snooze");
        text.textContent = "Snoozed. The reminder comes back at " + clock(at) + ".";
        problem.hidden = true;
        actions.replaceChildren(dismiss);
        setTimeout(() => node.remove(), SNOOZED_SHOWN_MS);
      } catch (e) {
        problem.textContent = e.message;
        problem.hidden = false;
        snooze.disabled = false;
      }
    });
    actions.append(start, snooze, dismiss);
    place("reminder-" + id, node);
  }

  function sameLocalDay(unixSeconds) {
    return new Date(unixSeconds * 1000).toDateString() === new Date().toDateString();
  }

  // fromSnapshot: the notice was in the status snapshot (it may be old), not a live event.
  function notice(p, fromSnapshot) {
    if (!p || p.topic !== "summary") return;
    const wall = typeof p.wall === "number" ? p.wall : 0;
    if (wall <= Number(remembered(SUMMARY_SEEN_KEY, "0"))) return;
    if (document.body.dataset.page === "summary") {
      remember(SUMMARY_SEEN_KEY, String(wall)); // already looking at it
      return;
    }
    if (fromSnapshot && !sameLocalDay(wall)) return;
    const node = el("section", { class: "banner", "data-kind": "summary", "aria-label": "Morning summary" },
      el("p", { class: "banner-text", text: p.message || "Your morning summary is ready." }));
    const seen = () => { remember(SUMMARY_SEEN_KEY, String(wall)); node.remove(); };
    const link = el("a", { class: "button primary", href: "/summary", text: "See the summary" });
    link.addEventListener("click", () => remember(SUMMARY_SEEN_KEY, String(wall)));
    node.append(el("div", { class: "banner-actions" }, link, button("Dismiss", "", seen)));
    place("summary", node);
  }

  function parsed(ev) {
    try { return JSON.parse(ev.data); } catch (e) { return null; }
  }

  // Listen for banners on a stream the page opened itself.
  function attach(source) {
    source.addEventListener("reminder", (ev) => reminder(parsed(ev)));
    if (ownStream) {
      source.addEventListener("notice", (ev) => notice(parsed(ev), false));
      source.addEventListener("status", (ev) => {
        const s = parsed(ev);
        for (const n of (s && Array.isArray(s.notices) ? s.notices : [])) notice(n, true);
      });
    }
  }

  function connect() {
    const source = new EventSource("/api/stream");
    attach(source);
    source.addEventListener("error", () => {
      // The browser retries by itself unless the server refused (e.g. too many streams).
      if (source.readyState === EventSource.CLOSED) setTimeout(connect, RECONNECT_MS);
    });
  }

  document.addEventListener("DOMContentLoaded", () => {
    if (ownStream && box()) connect();
  });

  return {
    reminder,
    notice,
    attach,
    // Called by a page script before the page has loaded: it brings its own stream.
    shareStream() { ownStream = false; },
    onStart(handler) { startRoutine = handler; },
  };
})();
