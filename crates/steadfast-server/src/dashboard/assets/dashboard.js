// The Steadfast dashboard (inlined after charts.js and timeline.js, in one
// script): renders /api/status and /api/history, then keeps itself current
// from the server-sent events of /api/events. No framework and no network
// access beyond this gateway. Text goes in with textContent only.
"use strict";

const MAX_SAMPLES = 600;
const MAX_EVENTS = 200;
const BREAKER = {
  closed: { icon: "●", text: "closed", tone: "ok" },
  open: { icon: "✖", text: "open", tone: "bad" },
  half_open: { icon: "◐", text: "half-open", tone: "warn" },
  forced_open: { icon: "⛔", text: "forced open", tone: "bad" },
  disabled: { icon: "○", text: "disabled", tone: "off" },
};
const HEALTH = {
  healthy: { icon: "✔", text: "healthy", tone: "ok" },
  unhealthy: { icon: "✖", text: "unhealthy", tone: "bad" },
  unknown: { icon: "?", text: "not probed", tone: "off" },
};

const state = { status: null, samples: [], events: [], windowSecs: 300, token: null, rows: new Map() };

const $ = (selector) => document.querySelector(selector);

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value);
  }
  for (const child of children) {
    if (child !== null && child !== undefined) node.append(child);
  }
  return node;
}

function svg(tag, attrs) {
  const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, value);
  return node;
}

function pill(kind, table, raw) {
  const look = table[raw] || { icon: "?", text: String(raw), tone: "off" };
  const node = el("span", { class: "pill pill-" + look.tone, "data-state": raw });
  node.append(el("span", { "aria-hidden": "true" }, look.icon + " "), el("span", { class: "state-text" }, look.text));
  node.title = kind + ": " + look.text;
  return node;
}

const percent = (ratio) => (ratio === null || ratio === undefined ? "—" : (ratio * 100).toFixed(ratio >= 0.999 || ratio === 0 ? 0 : 1) + "%");
const ms = (value) => (value === null || value === undefined ? "—" : value < 10 ? value.toFixed(1) + " ms" : Math.round(value) + " ms");
const clock = (time) => new Date(time).toLocaleTimeString([], { hour12: false });

// ---- targets, routes and the summary --------------------------------------

function targetRow(name) {
  let row = state.rows.get(name);
  if (row) return row;
  const cells = {
    name: el("td"), breaker: el("td", { class: "breaker" }), health: el("td", { class: "health" }),
    success: el("td", { class: "success" }), p50: el("td", { class: "num p50" }), p99: el("td", { class: "num p99" }),
    share: el("td", { class: "share-cell" }),
    actions: el("td", {}, el("div", { class: "actions" },
      el("button", { type: "button", class: "trip", onclick: () => manual(name, "trip") }, "Trip"),
      el("button", { type: "button", class: "reset", onclick: () => manual(name, "reset") }, "Reset"))),
  };
  row = { tr: el("tr", { "data-target": name }), cells };
  row.tr.append(...Object.values(cells));
  state.rows.set(name, row);
  return row;
}

function setBreaker(name, breakerState) {
  const row = state.rows.get(name);
  if (!row) return;
  row.cells.breaker.replaceChildren(pill("Breaker", BREAKER, breakerState));
  row.tr.dataset.breaker = breakerState;
}

// A breaker transition shows at once, before the next status event.
function breakerChanged(name, breakerState) {
  const target = state.status && state.status.targets.find((t) => t.name === name);
  if (!target) return;
  target.breaker = breakerState;
  target.available = breakerState !== "open" && breakerState !== "forced_open" && target.health !== "unhealthy";
  renderStatus(state.status);
}

function renderTargets(targets) {
  const body = $("#targets tbody");
  const present = new Set();
  for (const target of targets) {
    present.add(target.name);
    const row = targetRow(target.name);
    const c = row.cells;
    c.name.replaceChildren(el("span", { class: "target-name" }, target.name),
      el("span", { class: "target-detail" }, target.provider + " · " + target.model));
    setBreaker(target.name, target.breaker);
    const health = [pill("Health", HEALTH, target.health)];
    if (target.misconfigured) health.push(el("span", { class: "target-detail rate-bad" }, "✖ credentials refused"));
    if (target.cooling_down_ms) health.push(el("span", { class: "target-detail" }, "⏸ retry-after " + Math.ceil(target.cooling_down_ms / 1000) + " s"));
    if (target.concurrency) health.push(el("span", { class: "target-detail concurrency" }, target.concurrency.in_flight + " of " + target.concurrency.limit + " in flight" + (target.concurrency.adaptive ? " (learned limit)" : "")));
    c.health.replaceChildren(...health);
    const recent = target.recent || {};
    const useRecent = recent.attempts > 0;
    const rate = useRecent ? recent.success_rate : target.success_rate;
    const tone = rate === null || rate === undefined ? "" : rate < 0.5 ? "rate-bad" : rate < 0.95 ? "rate-warn" : "";
    const mark = tone === "rate-bad" ? "✖ " : tone === "rate-warn" ? "! " : "";
    c.success.replaceChildren(el("span", { class: tone }, mark + percent(rate)),
      el("span", { class: "target-detail" }, useRecent ? recent.attempts + " attempts" : target.counts.attempts + " attempts, all time"));
    c.p50.textContent = ms(target.latency_ms.p50);
    c.p99.textContent = ms(target.latency_ms.p99);
    const share = useRecent ? recent.traffic_share : target.traffic_share;
    const bar = el("span");
    bar.style.width = Math.round((share || 0) * 100) + "%";
    c.share.replaceChildren(el("div", { class: "share" }, el("div", { class: "bar", "aria-hidden": "true" }, bar), el("span", { class: "num" }, percent(share))));
    row.tr.className = !target.available ? "down" : target.breaker === "half_open" || (rate !== null && rate < 0.95) ? "degraded" : "";
    if (row.tr.parentNode !== body) body.append(row.tr);
  }
  for (const [name, row] of state.rows) {
    if (!present.has(name)) { row.tr.remove(); state.rows.delete(name); }
  }
}

// What a route answered without a model (cache, stale, static) or shed,
// since it was built; with its cache mode and shedding capacity if it has them.
function degraded(route) {
  const d = route.degraded || {};
  const parts = [];
  if (route.cache) parts.push("cache " + route.cache.mode.replace(/_/g, " ") + ": " + (d.cache_hits || 0) + " hits, " + (d.stale || 0) + " stale");
  if (d.static_answers) parts.push(d.static_answers + " static answers");
  if (route.shedding) parts.push("shedding: " + route.shedding.in_flight + " in flight of " + route.shedding.capacity_now + ", " + (d.shed || 0) + " shed");
  else if (d.shed) parts.push(d.shed + " shed");
  return parts.length ? el("div", { class: "target-detail", "data-degraded": route.name }, parts.join("; ")) : null;
}

function renderRoutes(routes, targets) {
  const byName = new Map(targets.map((t) => [t.name, t]));
  const cards = routes.map((route) => {
    const serving = route.targets.some((name) => byName.get(name) && byName.get(name).available);
    const list = el("ol");
    for (const name of route.targets) {
      const target = byName.get(name);
      list.append(el("li", {}, el("strong", {}, name), " ", target ? pill("Breaker", BREAKER, target.breaker) : null,
        target && !target.available ? el("span", { class: "target-detail" }, "skipped: unavailable") : null));
    }
    return el("div", { class: "route", "data-route": route.name },
      el("div", { class: "route-head" }, el("strong", {}, route.name),
        serving ? el("span", { class: "pill pill-ok" }, "✔ serving") : el("span", { class: "pill pill-bad" }, "✖ no target available")),
      el("div", { class: "target-detail" }, route.strategy + ", in this order:"), list, degraded(route));
  });
  $("#routes").replaceChildren(...cards);
}

function renderSummary(status) {
  const down = status.targets.filter((t) => !t.available);
  const stranded = status.routes.filter((r) => !r.targets.some((n) => status.targets.some((t) => t.name === n && t.available)));
  const summary = $("#summary");
  if (stranded.length) {
    summary.className = "summary bad";
    summary.textContent = "✖ No available target for route " + stranded.map((r) => r.name).join(", ") + ": requests fail.";
  } else if (down.length) {
    summary.className = "summary warn";
    summary.textContent = "⚠ " + down.map((t) => t.name + " unavailable (" + (t.breaker !== "closed" && BREAKER[t.breaker] ? "breaker " + BREAKER[t.breaker].text : HEALTH[t.health] ? HEALTH[t.health].text : t.health) + ")").join(", ") +
      "; traffic fails over to the next target.";
  } else {
    summary.className = "summary ok";
    summary.textContent = "✔ All " + status.targets.length + " targets available.";
  }
  $("#uptime").textContent = "up " + formatUptime(status.uptime_secs);
}

function formatUptime(secs) {
  const h = Math.floor(secs / 3600), m = Math.floor((secs % 3600) / 60), s = secs % 60;
  return (h ? h + "h " : "") + (h || m ? m + "m " : "") + s + "s";
}

function renderStatus(status) {
  state.status = status;
  renderSummary(status);
  renderTargets(status.targets);
  renderRoutes(status.routes, status.targets);
  renderLegend();
}

// ---- manual recovery -------------------------------------------------------

function notify(text) {
  const notice = $("#notice");
  notice.textContent = text;
  notice.hidden = false;
}

async function manual(name, action) {
  const token = state.token || window.prompt("Admin token to " + action + " " + name + ":");
  if (!token) return;
  try {
    const response = await fetch("/admin/models/" + encodeURIComponent(name) + "/" + action, {
      method: "POST", headers: { Authorization: "Bearer " + token },
    });
    const body = await response.json().catch(() => ({}));
    if (response.ok) {
      state.token = token;
      notify("✔ " + name + ": " + action + " done.");
    } else {
      if (response.status === 401 || response.status === 403) state.token = null;
      notify("✖ " + name + ": " + action + " refused — " + ((body.error && body.error.message) || "HTTP " + response.status));
    }
  } catch (error) {
    notify("✖ " + name + ": " + action + " failed — " + error.message);
  }
}

// ---- live updates ----------------------------------------------------------

function connect() {
  const source = new EventSource("/api/events");
  const connection = $("#connection");
  source.onopen = () => { connection.className = "pill pill-ok"; connection.textContent = "● live"; };
  source.onerror = () => { connection.className = "pill pill-bad"; connection.textContent = "✖ disconnected, retrying"; };
  source.addEventListener("status", (message) => renderStatus(JSON.parse(message.data)));
  source.addEventListener("sample", (message) => {
    state.samples.push(JSON.parse(message.data));
    if (state.samples.length > MAX_SAMPLES) state.samples.shift();
    drawCharts();
  });
  source.onmessage = (message) => {
    const event = JSON.parse(message.data);
    if (event.type === "breaker_state_changed") breakerChanged(event.name, event.to);
    addEvent(event);
    renderTimeline();
  };
}

async function start() {
  for (const button of document.querySelectorAll("[data-window]")) {
    button.addEventListener("click", () => {
      state.windowSecs = Number(button.dataset.window);
      for (const other of document.querySelectorAll("[data-window]")) other.setAttribute("aria-pressed", String(other === button));
      $("#window-label").textContent = button.textContent.replace("min", state.windowSecs === 60 ? "minute" : "minutes");
      drawCharts();
    });
  }
  // A session that ended (a new server.ops_token) goes back to the sign-in form.
  const load = (path) => fetch(path).then((r) => {
    if (r.status === 401) { window.location.reload(); throw new Error("signed out"); }
    return r.json();
  });
  const [status, history] = await Promise.all([load("/api/status"), load("/api/history")]);
  renderStatus(status);
  state.samples = history.samples;
  for (const event of history.events) addEvent(event);
  renderTimeline();
  drawCharts();
  connect();
}

start().catch((error) => notify("✖ Could not load the dashboard: " + error.message));
