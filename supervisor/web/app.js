"use strict";
// The status page: polls /v1/modules and /v1/events, keeps a short history
// of each module's message counter for the rate sparkline.
const history = {};        // module -> [{t, total}]
const HISTORY = 60;
let lastEvent = 0;

function el(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") e.className = v; else if (k.startsWith("on")) e.addEventListener(k.slice(2), v); else e.setAttribute(k, v);
  }
  for (const k of kids) e.append(k instanceof Node ? k : document.createTextNode(String(k)));
  return e;
}

function fmtBytes(n) {
  if (!n) return "–";
  const u = ["B", "KiB", "MiB", "GiB", "TiB"]; let i = 0;
  while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
  return n.toFixed(i ? 1 : 0) + " " + u[i];
}

function fmtDur(s) {
  if (!s) return "–";
  s = Math.floor(s);
  const d = Math.floor(s / 86400), h = Math.floor(s % 86400 / 3600), m = Math.floor(s % 3600 / 60);
  if (d) return d + "d " + h + "h"; if (h) return h + "h " + m + "m"; if (m) return m + "m " + (s % 60) + "s";
  return s + "s";
}

function msgTotal(m) {
  let t = 0;
  for (const i of m.inputs || []) t += i.messages || 0;
  for (const o of m.outputs || []) t += o["sent-messages"] || 0;
  return t;
}

function rates(name) {
  const h = history[name] || [];
  const r = [];
  for (let i = 1; i < h.length; i++) {
    const dt = (h[i].t - h[i - 1].t) / 1000, dv = h[i].total - h[i - 1].total;
    r.push(dt > 0 && dv >= 0 ? dv / dt : 0);
  }
  return r;
}

function sparkline(values) {
  const w = 120, hgt = 26, ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("class", "spark"); svg.setAttribute("width", w); svg.setAttribute("height", hgt);
  const max = Math.max(1, ...values);
  const pts = values.map((v, i) => {
    const x = values.length > 1 ? i * (w - 2) / (values.length - 1) + 1 : 1;
    return x.toFixed(1) + "," + (hgt - 2 - v / max * (hgt - 4)).toFixed(1);
  });
  const pl = document.createElementNS(ns, "polyline");
  pl.setAttribute("points", pts.join(" "));
  svg.append(pl);
  return svg;
}

function fmtRate(r) {
  if (r >= 1e6) return (r / 1e6).toFixed(1) + " M/s";
  if (r >= 1e3) return (r / 1e3).toFixed(1) + " k/s";
  return r.toFixed(0) + " /s";
}

function rateCell(r) {
  return el("td", {class: "rate"}, sparkline(r), el("div", {class: "ratev"}, r.length ? fmtRate(r[r.length - 1]) + " msg" : "–"));
}

function ifcCell(m) {
  const td = el("td", {class: "ifc"});
  for (const i of m.inputs || []) {
    td.append(el("div", {}, "in " + String.fromCharCode(i.ifc_type) + ":" + i.ifc_id + " " +
      (i.ifc_state ? "conn" : "disc") + " msg " + i.messages + " buf " + i.buffers));
  }
  for (const o of m.outputs || []) {
    const d = el("div", {}, "out " + String.fromCharCode(o.ifc_type) + ":" + o.ifc_id + " cli " + o.num_clients +
      " msg " + o["sent-messages"] + " buf " + o.buffers + " ");
    d.append(el("span", {class: o["dropped-messages"] ? "drop" : ""}, "drop " + o["dropped-messages"]));
    td.append(d);
  }
  if (!td.childNodes.length) td.append("–");
  return td;
}

async function act(name, what) {
  const r = await fetch("v1/modules/" + encodeURIComponent(name) + "/" + what, {method: "POST"});
  if (!r.ok) {
    const body = await r.json().catch(() => ({error: r.statusText}));
    alert(name + ": " + body.error);
  }
  refresh();
}

function row(m) {
  const svc = m.service_ifc;
  const svcCls = svc.state === "ok" ? "svc-ok" : (svc.state === "off" || svc.state === "stopped" || svc.state === "connecting") ? "svc-mute" : "svc-bad";
  const stateTd = el("td", {}, el("span", {class: "state " + m.status, "data-state": m.status}, m.status));
  if (m.auto_disabled.disabled) stateTd.append(el("div", {class: "reason"}, "auto-disabled: " + m.auto_disabled.reason));
  else if (!m.effective_enabled) stateTd.append(el("div", {class: "reason"}, m.enabled ? "profile disabled" : "disabled"));
  const svcTd = el("td", {class: svcCls, title: svc.error || ""}, svc.state);
  if (svc.error && svc.state !== "ok") svcTd.append(el("div", {class: "reason"}, svc.error));
  const restart = el("button", {"data-action": "restart", onclick: () => act(m.name, "restart")}, "restart");
  if (!m.pid) restart.disabled = true;
  const actions = el("td", {},
    restart,
    m.enabled && !m.auto_disabled.disabled
      ? el("button", {"data-action": "disable", onclick: () => act(m.name, "disable")}, "disable")
      : el("button", {"data-action": "enable", onclick: () => act(m.name, "enable")}, "enable"));
  return el("tr", {"data-module": m.name},
    el("td", {class: "num"}, m.idx),
    el("td", {class: "name", title: m.args.join(" ")}, m.name),
    el("td", {}, m.profile),
    stateTd,
    el("td", {class: "num pid"}, m.pid || "–"),
    el("td", {class: "num"}, fmtDur(m.uptime_s)),
    el("td", {class: "num"}, m.restarts_total + (m.restarts_in_window ? " (" + m.restarts_in_window + " in window)" : "")),
    el("td", {class: "num"}, m.pid ? m.cpu.user + " / " + m.cpu.kernel : "–"),
    el("td", {class: "num"}, fmtBytes(m.mem.rss)),
    svcTd,
    ifcCell(m),
    rateCell(rates(m.name)),
    actions);
}

async function refreshModules() {
  const r = await fetch("v1/modules");
  const mods = await r.json();
  const now = Date.now();
  let running = 0;
  const body = document.querySelector("#modules tbody");
  const rows = [];
  for (const m of mods) {
    if (m.pid) running++;
    const h = history[m.name] || (history[m.name] = []);
    h.push({t: now, total: msgTotal(m)});
    if (h.length > HISTORY) h.shift();
    rows.push(row(m));
  }
  body.replaceChildren(...rows);
  document.getElementById("summary").textContent =
    mods.length + " modules, " + running + " running · updated " + new Date(now).toLocaleTimeString();
}

async function refreshEvents() {
  const r = await fetch("v1/events?after=" + lastEvent);
  const text = await r.text();
  const list = document.getElementById("events");
  for (const line of text.split("\n")) {
    if (!line) continue;
    const e = JSON.parse(line);
    lastEvent = Math.max(lastEvent, e.seq);
    const li = el("li", {}, new Date(e.time).toLocaleTimeString() + " ", el("span", {class: "k " + e.event}, "[" + e.event + "]"), " " + e.detail);
    list.prepend(li);
  }
  while (list.children.length > 300) list.lastChild.remove();
}

async function refresh() {
  try {
    await Promise.all([refreshModules(), refreshEvents()]);
  } catch (err) {
    document.getElementById("summary").replaceChildren(el("span", {class: "err"}, "supervisor unreachable: " + err));
  }
}

refresh();
setInterval(refresh, 1000);
