// Dashboard timeline: failovers, breaker transitions, health changes, reloads
// and alerts, newest first, with repeats folded into one line.
"use strict";

// Per-request events: counted in the charts, too many for the timeline.
const NOT_ON_TIMELINE = new Set([
  "rejected", "retry_scheduled", "retries_exhausted", "timed_out", "hedge_started", "fault_injected",
]);

function describe(event) {
  const arrow = (a, b) => a + " → " + b;
  switch (event.type) {
    case "breaker_state_changed": {
      const to = BREAKER[event.to] || { icon: "?", text: event.to, tone: "off" };
      const from = BREAKER[event.from] || { text: event.from };
      return { icon: to.icon, tone: to.tone, text: event.name + " breaker " + arrow(from.text, to.text) };
    }
    case "fallback_taken":
      return { icon: "↪", tone: "warn", text: "failover " + arrow(event.from, event.to) + (event.failure ? " (" + event.failure.kind.replace(/_/g, " ") + ")" : " (skipped: unavailable)") };
    case "health_changed": {
      const to = HEALTH[event.to] || { icon: "?", text: event.to, tone: "off" };
      return { icon: to.icon, tone: to.tone, text: event.name + " health " + arrow((HEALTH[event.from] || { text: event.from }).text, to.text) };
    }
    case "reload":
      return event.outcome === "ok"
        ? { icon: "⟳", tone: "ok", text: "config reloaded (" + event.trigger + ")" }
        : { icon: "✖", tone: "bad", text: "config reload refused (" + event.trigger + "); old config keeps serving" };
    case "retry_budget_exhausted":
      return { icon: "!", tone: "warn", text: event.name + ": retry budget spent, retries skipped" };
    default: {
      const alert = event.type.startsWith("alert");
      const details = Object.entries(event).filter(([k]) => k !== "type" && k !== "time" && k !== "count")
        .map(([k, v]) => k + ": " + (typeof v === "object" ? JSON.stringify(v) : v)).join(", ");
      return { icon: alert ? "🔔" : "•", tone: alert ? (event.type.includes("resolved") ? "ok" : "bad") : "", text: event.type.replace(/_/g, " ") + (details ? " — " + details : "") };
    }
  }
}

function sameButTime(a, b) {
  const strip = (e) => JSON.stringify(Object.entries(e).filter(([k]) => k !== "time" && k !== "count").sort());
  return strip(a) === strip(b);
}

function addEvent(event) {
  if (NOT_ON_TIMELINE.has(event.type)) return;
  const newest = state.events[state.events.length - 1];
  if (newest && sameButTime(newest, event)) {
    newest.count = (newest.count || 1) + 1;
    newest.time = event.time;
  } else {
    state.events.push(event);
    if (state.events.length > MAX_EVENTS) state.events.shift();
  }
}

function renderTimeline() {
  const items = state.events.slice().reverse().map((event) => {
    const look = describe(event);
    return el("li", { class: look.tone, "data-type": event.type },
      el("time", { datetime: new Date(event.time).toISOString() }, clock(event.time)),
      el("span", { class: "icon", "aria-hidden": "true" }, look.icon),
      el("span", {}, look.text, event.count > 1 ? el("span", { class: "count" }, "×" + event.count) : null));
  });
  $("#timeline").replaceChildren(...(items.length ? items : [el("li", { class: "empty" }, "Nothing has happened yet.")]));
}

