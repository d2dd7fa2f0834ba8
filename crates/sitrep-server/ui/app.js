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

const SEV_RANK = { clear: 0, indeterminate: 1, warning: 2, minor: 3, major: 4, critical: 5 };
const rank = (s) => SEV_RANK[s] ?? 0;

function matchesFilter(inc) {
  const f = $('#state-filter').value;
  if (f === 'active' && !(inc.state === 'open' || inc.state === 'acknowledged')) return false;
  if (f && f !== 'active' && inc.state !== f) return false;
  const min = $('#severity-filter').value;
  if (min && rank(inc.max_severity) < rank(min)) return false;
  if (state.serviceIds && !state.serviceIds.has(inc.id)) return false;
  const q = $('#search').value.trim().toLowerCase();
  if (q && ![inc.title, inc.root_cause.source, inc.root_cause.check, inc.id].some((s) => (s || '').toLowerCase().includes(q))) return false;
  return true;
}

const SORTS = {
  last: (a, b) => b.last_time - a.last_time,
  first: (a, b) => b.first_time - a.first_time,
  severity: (a, b) => rank(b.max_severity) - rank(a.max_severity) || rank(b.severity) - rank(a.severity) || b.last_time - a.last_time,
  alerts: (a, b) => b.alert_count - a.alert_count || b.last_time - a.last_time,
};

function sevCell(inc) {
  // the worst it reached, and the current one beside it when it has come down
  const td = el('td', null, 'nowrap'); td.append(sev(inc.max_severity));
  if (inc.severity !== inc.max_severity) td.append(el('span', ' now ' + inc.severity, 'muted small-inline'));
  return td;
}

function renderList(flashId) {
  const tbody = $('#incidents tbody');
  tbody.replaceChildren();
  const rows = [...state.incidents.values()].filter(matchesFilter).sort(SORTS[$('#sort').value] || SORTS.last);
  $('#count').textContent = rows.length + ' incident' + (rows.length === 1 ? '' : 's');
  for (const inc of rows.slice(0, 500)) {
    const tr = document.createElement('tr');
    tr.dataset.id = inc.id;
    tr.append(el('td', inc.id, 'nowrap'), sevCell(inc), el('td', inc.state), el('td', inc.title), el('td', inc.alert_count),
      el('td', inc.root_cause.source + ' · ' + inc.root_cause.check), el('td', inc.recipe), el('td', fmtTime(inc.last_time), 'muted nowrap'));
    if (inc.id === flashId) tr.classList.add('flash');
    tr.addEventListener('click', () => { location.hash = '#/incident/' + encodeURIComponent(inc.id); });
    tbody.append(tr);
  }
}

// The service filter asks the API (an incident's services are its members'), then filters
// the live list by the ids it returned. Only the answer to the latest request counts: an
// earlier, slower one must not overwrite the filter typed after it.
let serviceFilterSeq = 0;
async function loadServiceFilter() {
  const seq = ++serviceFilterSeq;
  const svc = $('#service-filter').value.trim();
  if (!svc) { state.serviceIds = null; renderList(); return; }
  const page = await api('/api/v1/incidents?limit=10000&service=' + encodeURIComponent(svc));
  if (seq !== serviceFilterSeq) return;
  state.serviceIds = new Set(page.items.map((i) => i.id));
  renderList();
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

// Text with `quoted` names: the quoted parts as code, all of it as text (never markup).
function words(text) {
  const f = document.createDocumentFragment();
  String(text).split('`').forEach((part, i) => { if (part) f.append(i % 2 ? el('code', part) : part); });
  return f;
}
function wordsEl(tag, text, cls) { const e = el(tag, null, cls); e.append(words(text)); return e; }

function ago(ms) {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 90) return s + ' s';
  if (s < 5400) return Math.round(s / 60) + ' min';
  if (s < 172800) return (s / 3600).toFixed(1) + ' h';
  return Math.round(s / 86400) + ' days';
}

function alertName(a) { return a ? a.source + ' · ' + a.check : ''; }

// Why an alert joined, in words an operator reads. `first` is its first explanation (the
// seed stays the seed when it is raised again); `again` counts later occurrences.
function whyWords(w, byId, again) {
  const other = w.compared_with ? byId.get(w.compared_with) : null;
  const ref = other ? alertName(other) : w.compared_with;
  const gap = ' ' + (w.gap_ms / 1000).toFixed(0) + ' s after the previous alert.';
  let text;
  switch (w.kind) {
    case 'seed':
      text = 'Started this incident (the seed): the first alert of the group, ' + (w.recipe ? 'recipe `' + w.recipe + '`.' : '');
      break;
    case 'reraised':
      text = 'Raised again while this incident was active (or within its reopen grace).';
      break;
    case 'absorbed':
      // learned absorption (a burst of alerts never seen before) says why in its evidence
      if (w.evidence && w.evidence.length) {
        text = w.evidence.join('; ') + (ref ? ' (compared with ' + ref + ').' : '.');
        break;
      }
      text = 'Absorbed: it had started a group of its own, merged into this incident because it lies ' +
        (w.hops != null ? w.hops + ' hop' + (w.hops === 1 ? '' : 's') + ' ' : '') + (w.direction || 'downstream') +
        (ref ? ' of ' + ref : ' of the root cause') + ' in the topology.';
      break;
    case 'topology':
      text = (w.hops === 0 ? 'The same device as ' : (w.hops != null ? w.hops + ' hop' + (w.hops === 1 ? '' : 's') + ' ' : '') + (w.direction || 'related') + ' of ') +
        (ref || 'the incident') + ' in the topology;' + gap;
      break;
    default:
      if (w.evidence && w.evidence.length) {
        text = w.evidence.join('; ') + (ref ? ' (compared with ' + ref + ');' : ';') + gap;
        // a named link is a hop of the learned topology, with its direction where text gave it
        if (w.kind === 'learned' && w.hops != null) {
          text += ' ' + w.hops + ' hop' + (w.hops === 1 ? '' : 's') + (w.direction ? ' ' + w.direction : '') +
            ' in the learned topology.';
        }
      } else {
        const m = (w.matched || []).map((f) => f.method === 'equal' || f.similarity >= 0.999
          ? 'the same ' + f.field + ' (`' + f.value + '`)'
          : f.field + ' `' + f.value + '` like `' + f.other + '` (' + Math.round(f.similarity * 100) + '% similar)');
        text = (m.length ? m.join(', ') : 'grouped by recipe `' + w.recipe + '`') + (ref ? ' as ' + ref : '') + ';' + gap;
      }
  }
  if (again > 0) text += ' Raised again ' + again + '×.';
  return text;
}

function drawMembers(canvas, inc) {
  const alerts = inc.alerts || [];
  const bySource = new Map();
  for (const a of alerts) { if (!bySource.has(a.source)) bySource.set(a.source, []); bySource.get(a.source).push(a); }
  const rows = [...bySource.keys()];
  const rowH = 18, top = 6, axis = 22, left = 190;
  const w = Math.max(640, canvas.parentElement.clientWidth - 4);
  const h = top + rows.length * rowH + axis;
  canvas.width = w; canvas.height = h;
  const ctx = canvas.getContext('2d');
  ctx.clearRect(0, 0, w, h);
  if (!alerts.length) return;
  const t0 = Math.min(...alerts.map((a) => a.first_time)), t1 = Math.max(...alerts.map((a) => a.last_time), t0 + 1000);
  const x = (t) => left + ((t - t0) / (t1 - t0)) * (w - left - 12);
  const colors = { critical: '#e5484d', major: '#f76b15', minor: '#ffb224', warning: '#e5d34a', indeterminate: '#8a96a3', clear: '#30a46c' };
  ctx.font = '12px system-ui';
  rows.forEach((src, i) => {
    const y = top + i * rowH + rowH / 2;
    if (i % 2) { ctx.fillStyle = '#141a20'; ctx.fillRect(0, y - rowH / 2, w, rowH); }
    ctx.fillStyle = '#b8c2cc';
    let label = src; while (ctx.measureText(label).width > left - 10 && label.length > 4) label = label.slice(0, -2);
    ctx.fillText(label === src ? src : label + '…', 4, y + 4);
    for (const a of bySource.get(src)) {
      ctx.strokeStyle = '#3a4754'; ctx.lineWidth = 2; ctx.beginPath(); ctx.moveTo(x(a.first_time), y); ctx.lineTo(x(a.last_time), y); ctx.stroke();
      ctx.fillStyle = colors[a.max_severity] || '#4fa3ff';
      ctx.beginPath(); ctx.arc(x(a.first_time), y, Math.min(rowH / 2 - 1, 3 + Math.log2(1 + a.count)), 0, 2 * Math.PI); ctx.fill();
    }
  });
  // a time axis with a few ticks
  ctx.fillStyle = '#8a96a3'; ctx.strokeStyle = '#27313b'; ctx.lineWidth = 1;
  const yAxis = h - axis + 4;
  ctx.beginPath(); ctx.moveTo(left, yAxis); ctx.lineTo(w - 12, yAxis); ctx.stroke();
  for (let k = 0; k <= 4; k++) {
    const t = t0 + ((t1 - t0) * k) / 4, label = fmtTime(t), tx = x(t);
    ctx.fillText(label, Math.min(w - ctx.measureText(label).width - 2, Math.max(left, tx - ctx.measureText(label).width / 2)), h - 4);
  }
}

// Labels every member shares: where the incident is ("region=ams").
function sharedLabels(alerts) {
  if (!alerts.length) return [];
  const first = alerts[0].labels || {};
  return Object.keys(first).filter((k) => !/^p\d+$/.test(k) && alerts.every((a) => (a.labels || {})[k] === first[k])).map((k) => k + '=' + first[k]);
}

function summarySentence(inc) {
  const alerts = inc.alerts || [];
  const rc = inc.root_cause;
  const where = sharedLabels(alerts).slice(0, 3);
  const services = [...new Set(alerts.map((a) => a.service).filter(Boolean))];
  const ongoing = inc.state === 'open' || inc.state === 'acknowledged';
  const parts = [
    '`' + rc.check + '` on ' + rc.source + (ongoing ? ' has been failing since ' : ' failed at ') + fmtDateTime(inc.first_time) +
      (ongoing ? ' (' + ago(inc.last_time - inc.first_time) + ' of activity)' : ', for ' + ago(inc.last_time - inc.first_time)) + ': ',
    inc.alert_count + ' alert' + (inc.alert_count === 1 ? '' : 's') + ' on ' + inc.source_count + ' source' + (inc.source_count === 1 ? '' : 's'),
  ];
  if (where.length) parts.push(', all with ' + where.join(', '));
  if (services.length) parts.push(services.length <= 3 ? ' (service ' + services.join(', ') + ')' : ' (' + services.length + ' services)');
  parts.push('. Worst severity ' + inc.max_severity + (inc.severity !== inc.max_severity ? ', now ' + inc.severity : '') + '; ' + inc.state + '.');
  return parts.join('');
}

// Links out from members' annotations: Prometheus' generatorURL, runbooks, dashboards.
// Only http(s) URLs become links (never javascript: or data:).
function linksOut(alerts) {
  const found = new Map();
  const add = (kind, url) => { if (typeof url === 'string' && /^https?:\/\//i.test(url) && !found.has(url)) found.set(url, kind); };
  for (const a of alerts) {
    const x = a.extra || {};
    add('source graph', x.generatorURL);
    const ann = x.annotations || {};
    for (const [k, v] of Object.entries(ann)) {
      if (/runbook/i.test(k)) add('runbook', v);
      else if (/dashboard|grafana/i.test(k)) add('dashboard', v);
    }
  }
  return [...found.entries()].slice(0, 12);
}

async function showIncident(id) {
  const inc = await api('/api/v1/incidents/' + encodeURIComponent(id));
  state.current = inc;
  const alerts = inc.alerts || [];
  const byId = new Map(alerts.map((a) => [a.id, a]));
  $('#inc-title').textContent = inc.id + ' — ' + inc.title;
  // a withdrawn incident says so first: the engine's word that it is routine, and why
  $('#inc-summary').replaceChildren(words((inc.withdrawn ? inc.withdrawn.charAt(0).toUpperCase() + inc.withdrawn.slice(1) + '. ' : '') + summarySentence(inc)));
  const meta = $('#inc-meta'); meta.replaceChildren(sev(inc.max_severity));
  if (inc.severity !== inc.max_severity) { meta.append(' now '); meta.append(sev(inc.severity)); }
  meta.append(' ' + (inc.withdrawn ? 'withdrawn as routine' : inc.state) + ' · ' + inc.alert_count + ' alerts on ' + inc.source_count + ' sources · recipe ' + inc.recipe +
    ' · ' + fmtDateTime(inc.first_time) + ' → ' + fmtDateTime(inc.last_time) + (inc.assignee ? ' · assigned to ' + inc.assignee : '') +
    (inc.reopen_count ? ' · reopened ' + inc.reopen_count + '×' : ''));
  const rc = inc.root_cause, rootAlert = byId.get(rc.alert_id);
  $('#inc-root').replaceChildren(words('Probable root cause: `' + rc.check + '` on ' + rc.source + ' (' + rc.alert_id + ')' +
    (rootAlert ? ', ' + rootAlert.max_severity + ': "' + (rootAlert.raised_description || rootAlert.description) + '"' : '') + ' — ' + rc.reason + '.'));
  const links = $('#inc-links'); links.replaceChildren();
  for (const [url, kind] of linksOut(alerts)) {
    const a = el('a', kind); a.href = url; a.target = '_blank'; a.rel = 'noopener noreferrer'; a.title = url; links.append(a);
  }
  for (const b of document.querySelectorAll('.actions button')) b.hidden = !b.dataset.states.split(' ').includes(inc.state);

  // the first explanation per alert (the seed stays the seed), and how often it came back
  const first = new Map(), again = new Map(), joined = new Map();
  for (const m of inc.members || []) {
    if (!first.has(m.alert_id)) { first.set(m.alert_id, m.why); joined.set(m.alert_id, m.joined); } else again.set(m.alert_id, (again.get(m.alert_id) || 0) + 1);
  }
  const stateF = $('#member-state').value, sortBy = $('#member-sort').value;
  const shown = alerts.filter((a) => !stateF || a.state === stateF);
  const sorts = {
    joined: (a, b) => (joined.get(a.id) ?? a.first_time) - (joined.get(b.id) ?? b.first_time),
    severity: (a, b) => rank(b.max_severity) - rank(a.max_severity) || a.first_time - b.first_time,
    source: (a, b) => a.source.localeCompare(b.source) || a.first_time - b.first_time,
  };
  shown.sort(sorts[sortBy] || sorts.joined);
  const tbody = $('#members tbody'); tbody.replaceChildren();
  for (const a of shown) {
    const tr = document.createElement('tr');
    if (a.id === rc.alert_id) tr.classList.add('is-root');
    const pick = el('td'); const cb = document.createElement('input'); cb.type = 'checkbox'; cb.value = a.id; cb.className = 'pick'; pick.append(cb);
    const name = el('td', null, 'nowrap'); name.append(el('div', a.source, 'host'), el('div', a.check, 'muted'));
    const raised = el('td', null, 'raised');
    const sevs = el('div', null, 'nowrap'); sevs.append(sev(a.first_severity || a.max_severity));
    if (a.first_severity && a.first_severity !== a.max_severity) { sevs.append(' → '); sevs.append(sev(a.max_severity)); sevs.append(el('span', ' worst', 'muted')); }
    raised.append(sevs, el('div', a.raised_description || (a.state === 'open' ? a.description : a.description), 'desc'));
    const now = el('td', null, 'now');
    if (a.state === 'open') { now.append(el('span', 'raised ', 'muted')); now.append(sev(a.severity)); }
    else {
      now.append(el('span', 'cleared', 'cleared'));
      if (a.raised_description) now.append(el('div', a.description, 'muted desc'));
    }
    now.append(el('div', 'since ' + fmtTime(a.first_time) + ', last ' + fmtTime(a.last_time), 'muted small-inline'));
    const w = first.get(a.id);
    tr.append(pick, el('td', a.id, 'nowrap'), name, raised, now, el('td', a.count), wordsEl('td', w ? whyWords(w, byId, again.get(a.id) || 0) : '', 'why'));
    tbody.append(tr);
  }
  const tl = $('#timeline'); tl.replaceChildren();
  for (const t of inc.timeline || []) {
    const li = el('li');
    li.append(el('span', fmtDateTime(t.time), 'when'), ' ');
    const a = t.alert_id ? byId.get(t.alert_id) : null;
    if (a) li.append(el('span', alertName(a), 'host'), ' ');
    li.append(wordsEl('span', a && t.what === 'alert added' ? 'joined, ' + a.max_severity + ': "' + (a.raised_description || a.description) + '"' : t.what));
    if (t.by) li.append(el('span', ' — by ' + t.by, 'muted'));
    if (t.alert_id && !a) li.append(el('span', ' [' + t.alert_id + ']', 'muted'));
    tl.append(li);
  }
  drawMembers($('#chart-members'), inc);
  loadSimilar(inc.id).catch((e) => { $('#similar').textContent = e.message; });
}

async function loadSimilar(id) {
  const { items } = await api('/api/v1/incidents/' + encodeURIComponent(id) + '/similar?limit=5');
  const box = $('#similar'); box.replaceChildren();
  if (!items.length) { box.append(el('p', 'No similar earlier incident (same root cause, checks or sources) is known.', 'muted')); return; }
  const table = el('table'); const head = el('tr');
  for (const h of ['incident', 'when', 'root cause', 'why similar', 'how it was handled']) head.append(el('th', h));
  table.append(el('thead')); table.firstChild.append(head);
  const body = el('tbody'); table.append(body);
  for (const s of items) {
    const tr = el('tr');
    const idTd = el('td', null, 'nowrap');
    if (s.purged) idTd.append(el('span', s.id), el('div', 'archived', 'muted'));
    else { const a = el('a', s.id); a.href = '#/incident/' + encodeURIComponent(s.id); idTd.append(a); }
    idTd.append(el('div', Math.round(s.score * 100) + '% alike', 'muted'));
    const when = el('td', fmtDateTime(s.first_time), 'nowrap'); when.append(el('div', s.state + ' · ' + s.alert_count + ' alerts', 'muted'));
    const handled = el('td');
    if (!s.handling.length) handled.append(el('span', 'no operator action recorded', 'muted'));
    for (const h of s.handling) handled.append(el('div', h.what + (h.by ? ' — ' + h.by : '') + ', ' + fmtDateTime(h.time)));
    tr.append(idTd, when, el('td', s.root_cause), el('td', s.reasons.join('; ')), handled);
    body.append(tr);
  }
  box.append(table);
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

// What learned recipes have learned: the learned topology and the attribute keys.
async function showLearned() {
  const l = await api('/api/v1/learned?limit=500');
  const edges = $('#learned-edges tbody');
  edges.replaceChildren();
  for (const e of l.edges) {
    const tr = el('tr');
    tr.append(el('td', e.from), el('td', e.to), el('td', e.via), el('td', e.weight.toFixed(1)), el('td', fmtDateTime(e.last_time)));
    edges.append(tr);
  }
  if (!l.edges.length) {
    const tr = el('tr');
    tr.append(el('td', 'No alert has named another alert\'s source yet.', 'muted'));
    edges.append(tr);
  }
  const keys = $('#learned-keys tbody');
  keys.replaceChildren();
  for (const k of l.attributes) {
    const tr = el('tr');
    tr.append(el('td', k.key), el('td', k.evidence ? 'yes' : 'no', k.evidence ? '' : 'muted'), el('td', k.lift.toFixed(2)), el('td', String(Math.round(k.close_pairs))), el('td', String(k.values)));
    keys.append(tr);
  }
}

function route() {
  const m = location.hash.match(/^#\/incident\/(.+)$/);
  const learned = location.hash === '#/learned';
  $('#overview-view').hidden = !!m || learned;
  $('#incident-view').hidden = !m;
  $('#learned-view').hidden = !learned;
  if (m) showIncident(decodeURIComponent(m[1])).catch((e) => { $('#inc-title').textContent = e.message; });
  else if (learned) { state.current = null; showLearned().catch((e) => { $('#learned-edges tbody').replaceChildren(el('tr', e.message)); }); }
  else { state.current = null; renderList(); }
}

$('#token').value = token();
$('#token').addEventListener('change', (e) => { localStorage.setItem('sitrep-token', e.target.value); connect(); loadList(); loadStats(); });
$('#state-filter').addEventListener('change', () => renderList());
$('#severity-filter').addEventListener('change', () => renderList());
$('#sort').addEventListener('change', () => renderList());
$('#service-filter').addEventListener('change', () => loadServiceFilter().catch((e) => { $('#count').textContent = e.message; }));
$('#member-state').addEventListener('change', () => state.current && showIncident(state.current.id));
$('#member-sort').addEventListener('change', () => state.current && showIncident(state.current.id));
$('#search').addEventListener('input', () => renderList());
document.querySelectorAll('.actions button').forEach((b) => b.addEventListener('click', () => act(b.dataset.action)));
window.addEventListener('hashchange', route);
let resizing = null;
window.addEventListener('resize', () => { clearTimeout(resizing); resizing = setTimeout(() => { if (state.current && !$('#incident-view').hidden) drawMembers($('#chart-members'), state.current); }, 100); });

connect();
Promise.all([loadList(), loadStats()]).then(route).catch((e) => { $('#count').textContent = e.message; });
