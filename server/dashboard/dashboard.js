// ota-origin dashboard: reads /api/v1/ every REFRESH_MS and draws it. Read-only, no
// dependencies, nothing loaded from elsewhere (the server's Content-Security-Policy
// allows this origin only). Text from the database goes into the page as text, never
// as markup. body[data-refreshes] counts the refreshes drawn (the browser test waits on it).
'use strict';

const REFRESH_MS = Number(new URLSearchParams(location.search).get('refresh_ms')) || 2000;
const STATES = ['pending', 'downloading', 'downloaded', 'installing', 'installed', 'failed',
  'cancelled'];
let selected = null; // the campaign shown, by id
let refreshes = 0;

const $ = (id) => document.getElementById(id);

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === 'class') e.className = v;
    else if (k === 'width') e.style.width = v; // CSSOM: the CSP refuses style attributes
    else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c instanceof Node ? c : String(c));
  return e;
}

function bytes(n) {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  while (n >= 1000 && i < units.length - 1) { n /= 1000; i++; }
  return (i ? n.toFixed(1) : n) + ' ' + units[i];
}

function duration(s) {
  if (s === null || s === undefined) return '–';
  if (s < 90) return s + ' s';
  if (s < 5400) return Math.round(s / 60) + ' min';
  return (s / 3600).toFixed(1) + ' h';
}

function bar(counts, total) {
  const b = el('div', { class: 'bar' });
  const active = counts.downloading + counts.downloaded + counts.installing;
  for (const [cls, n] of [['installed', counts.installed], ['failed', counts.failed],
    ['active', active]]) {
    if (total > 0 && n > 0) b.append(el('span', { class: cls, width: `${100 * n / total}%` }));
  }
  return b;
}

async function get(path) {
  const r = await fetch(path, { cache: 'no-store' });
  if (!r.ok) throw new Error(`${path}: ${r.status}`);
  return r.json();
}

function drawCampaigns(list) {
  const body = $('campaigns').tBodies[0];
  body.replaceChildren();
  $('no-campaigns').hidden = list.length > 0;
  if (selected === null && list.length) {
    const running = list.filter((c) => c.state === 'running');
    selected = (running.length ? running : list)[(running.length ? running : list).length - 1].id;
  }
  for (const c of list) {
    const tr = el('tr', { 'data-id': c.id, class: c.id === selected ? 'sel' : '' },
      el('td', {}, c.id), el('td', {}, c.name), el('td', {}, el('span', { class: 'badge ' + c.state }, c.state)),
      el('td', {}, bar(c.counts, c.deployments)),
      el('td', { class: 'n' }, c.counts.installed), el('td', { class: 'n' }, c.counts.failed),
      el('td', { class: 'n' }, c.deployments));
    tr.addEventListener('click', () => { selected = c.id; location.hash = 'campaign=' + c.id; refresh(); });
    body.append(tr);
  }
}

function drawChart(p) {
  const svg = $('chart');
  const W = 600, H = 180, pad = 6;
  const max = Math.max(1, p.installed[p.installed.length - 1] + p.failed[p.failed.length - 1]);
  const n = p.installed.length;
  const pts = (series) => series.map((v, i) =>
    `${(pad + (W - 2 * pad) * i / (n - 1)).toFixed(1)},${(H - pad - (H - 2 * pad) * v / max).toFixed(1)}`).join(' ');
  const ns = 'http://www.w3.org/2000/svg';
  svg.replaceChildren();
  for (const [series, cls] of [[p.installed, 'installed'], [p.failed, 'failed']]) {
    const line = document.createElementNS(ns, 'polyline');
    line.setAttribute('points', pts(series));
    line.setAttribute('class', cls);
    svg.append(line);
  }
}

function drawCampaign(c) {
  $('campaign').hidden = false;
  $('campaign-id').textContent = c.id;
  $('campaign-name').textContent = c.name;
  $('campaign-state').textContent = c.state;
  $('campaign-state').className = 'badge ' + c.state;
  $('campaign-artifact').textContent = c.artifact;
  $('campaign-started').textContent = c.started_at || 'not yet';
  const counts = $('counts');
  counts.replaceChildren(el('div', { id: 'deployments-box' }, el('b', { id: 'deployments' }, c.deployments), 'vehicles'));
  for (const s of STATES) {
    counts.append(el('div', { class: s }, el('b', { id: 'count-' + s }, c.counts[s]), s));
  }
  const p = c.progress;
  $('rate').textContent = p.rate_per_min === null ? '–' : p.rate_per_min.toFixed(1);
  $('eta').textContent = duration(p.eta_s);
  $('unfinished').textContent = p.unfinished;
  drawChart(p);
  const stages = $('stages').tBodies[0];
  stages.replaceChildren();
  const ro = c.rollout;
  $('no-stages').hidden = !!(ro && ro.stages.length);
  for (const s of (ro && ro.stages) || []) {
    stages.append(el('tr', {}, el('td', {}, s.stage), el('td', {}, s.open ? 'open' : 'waiting'),
      el('td', { class: 'n' }, s.size), el('td', { class: 'n' }, s.counts.installed),
      el('td', { class: 'n' }, s.counts.failed), el('td', {}, s.opened_at || '–')));
  }
  const fails = $('failures').tBodies[0];
  fails.replaceChildren();
  $('no-failures').hidden = c.failures.length > 0;
  for (const f of c.failures) {
    fails.append(el('tr', {}, el('td', { class: 'n' }, f.count), el('td', {}, f.detail || '(no detail)')));
  }
}

function drawFleet(f) {
  $('fleet-total').textContent = f.vehicles;
  const body = $('versions').tBodies[0];
  body.replaceChildren();
  for (const v of f.versions) {
    const w = f.vehicles ? 100 * v.vehicles / f.vehicles : 0;
    body.append(el('tr', { 'data-version': v.version },
      el('td', {}, v.version || '(none reported)'), el('td', { class: 'n' }, v.vehicles),
      el('td', { class: 'wide' }, el('div', { class: 'bar' }, el('span', { class: 'installed', width: `${w}%` })))));
  }
}

async function refresh() {
  try {
    const m = /campaign=(\d+)/.exec(location.hash);
    if (m) selected = Number(m[1]);
    const [list, fleet, traffic] = await Promise.all([
      get('/api/v1/campaigns'), get('/api/v1/fleet'), get('/api/v1/traffic')]);
    drawCampaigns(list.campaigns);
    drawFleet(fleet);
    $('bytes-served').textContent = bytes(traffic.bytes);
    $('bytes-served').dataset.bytes = traffic.bytes;
    $('requests').textContent = traffic.requests;
    $('connections').textContent = traffic.connections_open;
    if (selected !== null) drawCampaign(await get('/api/v1/campaigns/' + selected));
    $('status').textContent = 'updated ' + new Date().toLocaleTimeString();
    document.body.dataset.refreshes = ++refreshes;
  } catch (e) {
    $('status').textContent = 'cannot reach the server: ' + e.message;
  }
}

refresh();
setInterval(refresh, REFRESH_MS);
