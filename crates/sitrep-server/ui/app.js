// sitrep situation room. Reads the public API: /api/v1/incidents, /api/v1/incidents/{id},
// /api/v1/stats and the live feed /api/v1/live (SSE). All content is set with textContent:
// event text is data, never markup.
'use strict';

const $ = (sel) => document.querySelector(sel);
const state = { incidents: new Map(), history: [], current: null, es: null };

function token() { return localStorage.getItem('sitrep-token') || ''; }
function authHeaders() { const t = token(); return t ? { Authorization: 'Bearer ' + t } : {}; }
function withToken(url) { const t = token(); return t ? url + (url.includes('?') ? '&' : '?') + 'token=' + encodeURIComponent(t) : url; }

async function api(path, opts = {}) {
  const r = await fetch(withToken(path), { ...opts, headers: { 'content-type': 'application/json', ...authHeaders(), ...(opts.headers || {}) } });
  const body = await r.json().catch(() => ({}));
  if (!r.ok) throw new Error(body.error || r.statusText);
  return body;
}

function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = String(text);
  if (cls) e.className = cls;
  return e;
}
function sev(s) { return el('span', s, 'sev sev-' + s); }
function fmtTime(ms) { return new Date(ms).toLocaleTimeString(); }
function fmtDateTime(ms) { return new Date(ms).toISOString().replace('T', ' ').slice(0, 19) + ' UTC'; }

// ---- overview -------------------------------------------------------------------------

function drawSeries(canvas, points, color) {
  const ctx = canvas.getContext('2d');
  const w = canvas.width, h = canvas.height, pad = 28;
  ctx.clearRect(0, 0, w, h);
  ctx.font = '11px system-ui'; ctx.fillStyle = '#8a96a3'; ctx.strokeStyle = '#27313b';
  const max = Math.max(1, ...points.map((p) => p[1]));
  for (let i = 0; i <= 2; i++) {
    const y = h - pad / 2 - (i / 2) * (h - pad);
    ctx.beginPath(); ctx.moveTo(pad, y); ctx.lineTo(w, y); ctx.stroke();
    ctx.fillText(String(Math.round((max * i) / 2)), 0, y + 4);
  }
  if (points.length < 2) return;
  const t0 = points[0][0], t1 = points[points.length - 1][0];
  const x = (t) => pad + ((t - t0) / Math.max(1, t1 - t0)) * (w - pad - 4);
  const y = (v) => h - pad / 2 - (v / max) * (h - pad);
  ctx.strokeStyle = color; ctx.lineWidth = 1.5; ctx.beginPath();
  points.forEach((p, i) => (i ? ctx.lineTo(x(p[0]), y(p[1])) : ctx.moveTo(x(p[0]), y(p[1]))));
  ctx.stroke();
}

function renderStats() {
  const h = state.history;
  const last = h[h.length - 1];
  if (last) {
    $('#rate').textContent = Math.round(last.rate).toLocaleString();
    $('#open').textContent = last.open_incidents;
    $('#resolved').textContent = `${last.resolved_incidents} resolved · ${last.closed_incidents} closed`;
    $('#alerts').textContent = last.active_alerts.toLocaleString();
    $('#events').textContent = last.events.toLocaleString();
  }
  const recent = h.slice(-600);
  drawSeries($('#chart-rate'), recent.map((s) => [s.time, s.rate]), '#4fa3ff');
  drawSeries($('#chart-open'), recent.map((s) => [s.time, s.open_incidents]), '#f76b15');
}

function matchesFilter(inc) {
  const f = $('#state-filter').value;
  if (f === 'active' && !(inc.state === 'open' || inc.state === 'acknowledged')) return false;
  if (f && f !== 'active' && inc.state !== f) return false;
  const q = $('#search').value.trim().toLowerCase();
  if (q && ![inc.title, inc.root_cause.source, inc.root_cause.check, inc.id].some((s) => (s || '').toLowerCase().includes(q))) return false;
  return true;
}

function renderList(flashId) {
  const tbody = $('#incidents tbody');
  tbody.replaceChildren();
  const rows = [...state.incidents.values()].filter(matchesFilter).sort((a, b) => b.last_time - a.last_time);
  $('#count').textContent = rows.length + ' incident' + (rows.length === 1 ? '' : 's');
  for (const inc of rows.slice(0, 500)) {
    const tr = document.createElement('tr');
    tr.dataset.id = inc.id;
    const sevTd = el('td'); sevTd.append(sev(inc.severity));
    tr.append(el('td', inc.id), sevTd, el('td', inc.state), el('td', inc.title), el('td', inc.alert_count),
      el('td', inc.root_cause.source + ' · ' + inc.root_cause.check), el('td', inc.recipe), el('td', fmtTime(inc.last_time), 'muted'));
    if (inc.id === flashId) tr.classList.add('flash');
    tr.addEventListener('click', () => { location.hash = '#/incident/' + encodeURIComponent(inc.id); });
    tbody.append(tr);
  }
}

async function loadList() {
  const page = await api('/api/v1/incidents?limit=1000');
  state.incidents.clear();
  for (const i of page.items) {
    const { members, timeline, ...summary } = i;
    state.incidents.set(i.id, summary);
  }
  renderList();
}

async function loadStats() {
  const s = await api('/api/v1/stats');
  state.history = s.history;
  renderStats();
  renderFeed(s.feed);
}

// A built-in feeder (the live demo) says what it plays, how far it is, and when it ends.
function renderFeed(f) {
  const box = $('#feed');
  if (!f) { box.hidden = true; return; }
  box.hidden = false;
  const last = state.history[state.history.length - 1];
  const clock = last ? ' · scenario time ' + fmtDateTime(last.time) : '';
  box.textContent = f.ended
    ? `Demo feed ended (${f.name}): all ${f.fed.toLocaleString()} events fed — no more will come${clock}.`
    : `Demo feed: ${f.name} at ${f.speed}× — ${f.fed.toLocaleString()} of ${f.total.toLocaleString()} events${clock}.`;
  box.classList.toggle('ended', !!f.ended);
  if (!f.ended) setTimeout(() => loadStats().catch(() => {}), 2000);
}

// ---- one incident ---------------------------------------------------------------------

function whyText(w) {
  const parts = [w.recipe + ' (' + w.kind + ')'];
  if (w.compared_with) parts.push('vs ' + w.compared_with);
  // learned joins explain themselves in words: show those instead of the raw matches
  if (w.evidence && w.evidence.length) {
    for (const e of w.evidence) parts.push(e);
    parts.push((w.gap_ms / 1000).toFixed(1) + ' s after the previous alert');
    return parts.join(' · ');
  }
  for (const m of w.matched || []) parts.push(m.field + ' ' + m.method + ' ' + m.similarity.toFixed(2) + ' (' + m.value + ' ~ ' + m.other + ')');
  if (w.hops !== undefined && w.hops !== null) parts.push(w.hops + ' hop' + (w.hops === 1 ? '' : 's') + (w.direction ? ' ' + w.direction : ''));
  else if (w.direction) parts.push(w.direction);
  parts.push('gap ' + (w.gap_ms / 1000).toFixed(1) + ' s');
  return parts.join(' · ');
}

function drawMembers(canvas, inc) {
  const ctx = canvas.getContext('2d');
  const w = canvas.width, h = canvas.height;
  ctx.clearRect(0, 0, w, h);
  const alerts = inc.alerts || [];
  if (!alerts.length) return;
  const t0 = Math.min(...alerts.map((a) => a.first_time)), t1 = Math.max(...alerts.map((a) => a.last_time), t0 + 1000);
  const rowH = Math.max(6, Math.min(24, (h - 20) / alerts.length));
  const x = (t) => 120 + ((t - t0) / (t1 - t0)) * (w - 130);
  const colors = { critical: '#e5484d', major: '#f76b15', minor: '#ffb224', warning: '#e5d34a', indeterminate: '#8a96a3', clear: '#30a46c' };
  ctx.font = '11px system-ui';
  alerts.forEach((a, i) => {
    const y = 10 + i * rowH + rowH / 2;
    ctx.fillStyle = '#8a96a3';
    ctx.fillText(a.source.slice(0, 18), 0, y + 4);
    ctx.strokeStyle = '#27313b'; ctx.beginPath(); ctx.moveTo(x(a.first_time), y); ctx.lineTo(x(a.last_time), y); ctx.stroke();
    ctx.fillStyle = colors[a.max_severity] || '#4fa3ff';
    ctx.beginPath(); ctx.arc(x(a.first_time), y, Math.min(rowH / 2, 3 + Math.log2(1 + a.count)), 0, 2 * Math.PI); ctx.fill();
  });
  ctx.fillStyle = '#8a96a3';
  ctx.fillText(fmtTime(t0), 120, h - 2);
  const end = fmtTime(t1); ctx.fillText(end, w - ctx.measureText(end).width, h - 2);
}

async function showIncident(id) {
  const inc = await api('/api/v1/incidents/' + encodeURIComponent(id));
  state.current = inc;
  $('#inc-title').textContent = inc.id + ' — ' + inc.title;
  const meta = $('#inc-meta'); meta.replaceChildren(sev(inc.severity));
  meta.append(' ' + inc.state + ' · ' + inc.alert_count + ' alerts on ' + inc.source_count + ' sources · recipe ' + inc.recipe +
    ' · ' + fmtTime(inc.first_time) + ' → ' + fmtTime(inc.last_time) + (inc.assignee ? ' · assigned to ' + inc.assignee : ''));
  $('#inc-root').textContent = 'Probable root cause: ' + inc.root_cause.check + ' on ' + inc.root_cause.source + ' (' + inc.root_cause.alert_id + ') — ' + inc.root_cause.reason;
  const whyById = new Map((inc.members || []).map((m) => [m.alert_id, m.why]));
  const tbody = $('#members tbody'); tbody.replaceChildren();
  for (const a of inc.alerts || []) {
    const tr = document.createElement('tr');
    const pick = el('td'); const cb = document.createElement('input'); cb.type = 'checkbox'; cb.value = a.id; cb.className = 'pick'; pick.append(cb);
    const sevTd = el('td'); sevTd.append(sev(a.severity));
    const why = whyById.get(a.id);
    tr.append(pick, el('td', a.id), sevTd, el('td', a.source), el('td', a.check), el('td', a.description, 'desc'), el('td', a.count),
      el('td', why ? whyText(why) : '', 'why'));
    tbody.append(tr);
  }
  const tl = $('#timeline'); tl.replaceChildren();
  for (const t of inc.timeline || []) {
    tl.append(el('li', fmtTime(t.time) + ' — ' + t.what + (t.by ? ' (by ' + t.by + ')' : '') + (t.alert_id ? ' [' + t.alert_id + ']' : '')));
  }
  drawMembers($('#chart-members'), inc);
}

async function act(action) {
  const inc = state.current; if (!inc) return;
  const picked = [...document.querySelectorAll('.pick:checked')].map((c) => c.value);
  const body = { action, by: localStorage.getItem('sitrep-user') || 'ui' };
  if (action === 'assign') { body.to = prompt('Assign to'); if (!body.to) return; }
  if (action === 'comment') { body.text = prompt('Comment'); if (!body.text) return; }
  if (action === 'merge') { body.from = prompt('Incident to merge into this one (id)'); if (!body.from) return; }
  if (action === 'split') { body.alerts = picked; }
  if (action === 'move_alert') { body.alert = picked[0]; body.to = prompt('Move ' + picked[0] + ' to incident (id)'); if (!body.to) return; }
  try {
    await api('/api/v1/incidents/' + encodeURIComponent(inc.id) + '/actions', { method: 'POST', body: JSON.stringify(body) });
    $('#action-result').textContent = action + ': done';
  } catch (e) {
    $('#action-result').textContent = action + ': ' + e.message;
  }
  await showIncident(inc.id);
}

// ---- live feed and routing ------------------------------------------------------------

function connect() {
  if (state.es) state.es.close();
  const es = new EventSource(withToken('/api/v1/live'));
  state.es = es;
  es.onopen = () => { $('#conn').textContent = 'live'; $('#conn').className = 'conn on'; };
  es.onerror = () => { $('#conn').textContent = 'reconnecting'; $('#conn').className = 'conn off'; };
  es.addEventListener('incident', (m) => {
    const u = JSON.parse(m.data);
    state.incidents.set(u.incident.id, u.incident);
    if (!$('#overview-view').hidden) renderList(u.incident.id);
    if (state.current && state.current.id === u.incident.id && !$('#incident-view').hidden) showIncident(u.incident.id);
  });
  es.addEventListener('stats', (m) => {
    state.history.push(JSON.parse(m.data));
    if (state.history.length > 3600) state.history.shift();
    renderStats();
  });
  es.addEventListener('lagged', () => loadList());
}

function route() {
  const m = location.hash.match(/^#\/incident\/(.+)$/);
  $('#overview-view').hidden = !!m;
  $('#incident-view').hidden = !m;
  if (m) showIncident(decodeURIComponent(m[1])).catch((e) => { $('#inc-title').textContent = e.message; });
  else { state.current = null; renderList(); }
}

$('#token').value = token();
$('#token').addEventListener('change', (e) => { localStorage.setItem('sitrep-token', e.target.value); connect(); loadList(); loadStats(); });
$('#state-filter').addEventListener('change', () => renderList());
$('#search').addEventListener('input', () => renderList());
document.querySelectorAll('.actions button').forEach((b) => b.addEventListener('click', () => act(b.dataset.action)));
window.addEventListener('hashchange', route);

connect();
Promise.all([loadList(), loadStats()]).then(route).catch((e) => { $('#count').textContent = e.message; });
