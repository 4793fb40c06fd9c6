// Dashboard charts: hand-drawn SVG line charts of the per-second history,
// one series per target (colour plus dash pattern), and their legend.
"use strict";

// Okabe-Ito colours (told apart with colour blindness) plus a dash per series.
const COLOURS = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#56B4E9", "#E69F00", "#000000"];
const DASHES = ["", "6 3", "2 3", "8 3 2 3", "4 4", "1 2", "10 4"];

function colourOf(name) {
  const names = state.status ? state.status.targets.map((t) => t.name) : [];
  const index = Math.max(0, names.indexOf(name));
  return { colour: COLOURS[index % COLOURS.length], dash: DASHES[index % DASHES.length] };
}

function renderLegend() {
  const items = state.status.targets.map((t) => {
    const look = colourOf(t.name);
    const sample = svg("svg", { width: 26, height: 10, viewBox: "0 0 26 10", "aria-hidden": "true" });
    sample.style.width = "26px";
    sample.style.display = "inline";
    sample.append(svg("line", { x1: 0, y1: 5, x2: 26, y2: 5, stroke: look.colour, "stroke-width": 3, "stroke-dasharray": look.dash }));
    return el("span", {}, sample, t.name);
  });
  $("#legend").replaceChildren(...items);
}

function niceMax(value) {
  if (value <= 0) return 1;
  const power = Math.pow(10, Math.floor(Math.log10(value)));
  for (const step of [1, 2, 2.5, 5, 10]) if (value <= step * power) return step * power;
  return 10 * power;
}

function drawChart(id, pick, unit) {
  const chart = document.getElementById(id);
  const W = 420, H = 170, left = 40, right = 8, top = 8, bottom = 22;
  const now = Date.now(), from = now - state.windowSecs * 1000;
  const samples = state.samples.filter((s) => s.time >= from);
  const names = state.status ? state.status.targets.map((t) => t.name) : [];
  let max = 0;
  for (const s of samples) for (const n of names) { const v = s.targets[n] ? pick(s.targets[n]) : null; if (v !== null && v > max) max = v; }
  max = niceMax(max);
  const x = (t) => left + ((t - from) / (now - from)) * (W - left - right);
  const y = (v) => top + (1 - v / max) * (H - top - bottom);
  const nodes = [];
  for (const fraction of [0, 0.5, 1]) {
    const value = max * fraction;
    nodes.push(svg("line", { class: fraction ? "grid" : "axis", x1: left, x2: W - right, y1: y(value), y2: y(value) }));
    const label = svg("text", { x: left - 4, y: y(value) + 4, "text-anchor": "end" });
    label.textContent = (Number.isInteger(value) ? value : value.toFixed(1)) + (fraction === 1 ? unit : "");
    nodes.push(label);
  }
  for (const [fraction, text] of [[0, "-" + state.windowSecs / 60 + " min"], [0.5, "-" + state.windowSecs / 120 + " min"], [1, "now"]]) {
    const label = svg("text", { x: left + fraction * (W - left - right), y: H - 6, "text-anchor": fraction === 0 ? "start" : fraction === 1 ? "end" : "middle" });
    label.textContent = text;
    nodes.push(label);
  }
  for (const name of names) {
    const points = [];
    for (const s of samples) {
      const v = s.targets[name] ? pick(s.targets[name]) : null;
      if (v !== null && v !== undefined) points.push(x(s.time).toFixed(1) + "," + y(v).toFixed(1));
    }
    if (!points.length) continue;
    const look = colourOf(name);
    const line = svg("polyline", { points: points.join(" "), fill: "none", stroke: look.colour, "stroke-width": 2, "stroke-dasharray": look.dash, "data-series": name });
    nodes.push(line);
  }
  if (!samples.length) {
    const empty = svg("text", { x: W / 2, y: H / 2, "text-anchor": "middle" });
    empty.textContent = "collecting…";
    nodes.push(empty);
  }
  chart.replaceChildren(...nodes);
}

function drawCharts() {
  drawChart("chart-traffic", (t) => t.attempts, "/s");
  drawChart("chart-errors", (t) => t.failures, "/s");
  drawChart("chart-latency", (t) => t.p99_ms, " ms");
}

