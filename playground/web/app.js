// The playground page: plain JavaScript over the engine's wasm-bindgen build
// (pkg/playground.js). Every answer from the engine is JSON; the decision
// panel shows whatever fields a decision carries, so it follows the engine.
import init, * as engine from './pkg/playground.js';

const $ = (id) => document.getElementById(id);

// === the engine ===

async function start() {
  await init();
  window.playgroundEngine = engine;
  const version = engine.engineVersion();
  $('engine-version').textContent = 'engine ' + version;
  let restored = false;
  if (location.hash.startsWith('#s=')) {
    try {
      const state = await decodeState(location.hash.slice(3));
      applyState(state);
      restored = true;
      if (state.v !== version) {
        showNotice(`This link was made with engine ${state.v || '(unknown)'}; this page runs engine ${version}. ` +
          'Decisions may differ from the ones the link\'s author saw.');
      }
    } catch (e) {
      showNotice('This share link could not be read: ' + e.message);
    }
  }
  if (!restored) {
    $('policy').value = await fetch('example.policy.yaml').then((r) => (r.ok ? r.text() : ''));
  }
  wire();
  update();
  runSimulator();
  window.playgroundReady = { firstDecisionMs: performance.now() };
  document.body.dataset.ready = 'true';
}

// === request form <-> JSON ===

function lines(text) {
  return text.split('\n').map((l) => l.trim()).filter((l) => l !== '');
}

function readRequest() {
  const headers = lines($('headers').value).map((l) => {
    const i = l.indexOf(':', l.startsWith(':') ? 1 : 0);
    return i < 0 ? [l, ''] : [l.slice(0, i).trim(), l.slice(i + 1).trim()];
  });
  const sourceLabels = {};
  for (const l of lines($('source-labels').value)) {
    const i = l.indexOf('=');
    sourceLabels[i < 0 ? l : l.slice(0, i).trim()] = i < 0 ? '' : l.slice(i + 1).trim();
  }
  const request = {
    method: $('method').value,
    authority: $('authority').value.trim(),
    path: $('path').value.trim(),
    headers,
    sourceLabels,
    random: Number($('random').value || 0),
  };
  const ns = $('source-namespace').value.trim();
  if (ns) request.sourceNamespace = ns;
  if ($('port').value !== '') request.port = Number($('port').value);
  return request;
}

function writeRequest(r) {
  $('method').value = r.method || 'GET';
  $('authority').value = r.authority || '';
  $('path').value = r.path || '/';
  $('headers').value = (r.headers || []).map(([k, v]) => `${k}: ${v}`).join('\n');
  $('source-labels').value = Object.entries(r.sourceLabels || {}).map(([k, v]) => `${k}=${v}`).join('\n');
  $('source-namespace').value = r.sourceNamespace || '';
  $('port').value = r.port ?? '';
  $('random').value = r.random ?? 0;
}

// === validate and decide ===

// The pending re-check after an edit; `update` cancels it, so a send that
// follows typing leaves no later re-render behind.
let timer;

function update() {
  clearTimeout(timer);
  const policy = $('policy').value;
  const answer = JSON.parse(engine.explain(policy, JSON.stringify(readRequest())));
  const policyProblems = (answer.diagnostics || []).filter((d) => !(d.path || '').startsWith('request'));
  showDiagnostics(policy, policyProblems);
  $('imported').hidden = typeof answer.imported !== 'string';
  $('imported-policy').textContent = answer.imported || '';
  if (answer.ok) {
    showDecision(answer);
  } else {
    const requestProblems = (answer.diagnostics || []).filter((d) => (d.path || '').startsWith('request'));
    $('decision').innerHTML = '';
    const p = el('p', 'muted', requestProblems.length
      ? 'bad request: ' + requestProblems.map((d) => `${d.path}: ${d.message}`).join('; ')
      : 'fix the policy to see a decision');
    p.id = 'decision-missing';
    $('decision').append(p);
    $('trace').innerHTML = '';
    $('actions').innerHTML = '';
    $('metrics').innerHTML = '';
  }
}

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

function showDiagnostics(policy, diags) {
  // Errors first, then warnings and the import's notes; a valid policy
  // may come with warnings and notes.
  const rank = { error: 0, warning: 1, note: 2 };
  diags = [...diags].sort((a, b) => (rank[a.severity] ?? 0) - (rank[b.severity] ?? 0));
  const count = (sev, word) => {
    const n = diags.filter((d) => d.severity === sev).length;
    return n ? `${n} ${word}${n > 1 ? 's' : ''}` : '';
  };
  const errors = count('error', 'problem');
  const others = [count('warning', 'warning'), count('note', 'note')].filter((t) => t).join(', ');
  const status = $('status');
  status.className = 'status ' + (errors ? 'bad' : 'ok');
  status.textContent = (errors || 'valid policy') + (others ? ` · ${others}` : '');
  const list = $('diagnostics');
  list.innerHTML = '';
  // line -> [severity of its worst finding, messages]
  const marks = new Map();
  for (const d of diags) {
    const li = el('li', d.severity);
    li.dataset.code = d.code;
    li.dataset.severity = d.severity;
    if (d.line) {
      li.dataset.line = d.line;
      li.dataset.column = d.column;
      li.append(el('span', 'where', `${d.line}:${d.column}`));
      const [sev, messages] = marks.get(d.line) || [d.severity, []];
      marks.set(d.line, [sev, messages.concat(`${d.severity}: ${d.message}`)]);
      li.addEventListener('click', () => select(d.line, d.column));
    }
    if (d.severity !== 'error') li.append(el('span', 'sev', d.severity));
    li.append(el('span', 'message', d.message));
    if (d.path) li.append(el('span', 'path', ` (${d.path})`));
    if (d.help) li.append(el('span', 'help', d.help));
    list.append(li);
  }
  const n = policy.split('\n').length;
  const gutter = $('gutter');
  gutter.innerHTML = '';
  for (let i = 1; i <= n; i++) {
    const mark = marks.get(i);
    const span = el('span', mark ? (mark[0] === 'error' ? 'err' : 'warn') : '', String(i));
    if (mark) span.title = mark[1].join('\n');
    gutter.append(span, '\n');
  }
  gutter.scrollTop = $('policy').scrollTop;
}

// Select line:column (columns count characters) in the editor.
function select(line, column) {
  const text = $('policy').value;
  const starts = [0];
  for (let i = 0; i < text.length; i++) if (text[i] === '\n') starts.push(i + 1);
  const start = (starts[line - 1] ?? 0) + Array.from(text.slice(starts[line - 1] ?? 0)).slice(0, column - 1).join('').length;
  const end = text.indexOf('\n', start);
  const area = $('policy');
  area.focus();
  area.setSelectionRange(start, end < 0 ? text.length : end);
}

// A readable name for a field: `request_headers` -> `request headers`.
function label(key) {
  return key.replace(/_/g, ' ').replace(/([a-z])([A-Z])/g, '$1 $2').toLowerCase();
}

// Any JSON value as HTML: objects as definition lists (each entry marked
// with data-field), lists as lists, header edits as `set name: value`.
function render(value) {
  if (value === null || value === undefined) return el('span', 'none', '—');
  if (Array.isArray(value)) {
    if (value.length === 0) return el('span', 'none', '(none)');
    const ul = el('ul');
    for (const item of value) {
      const li = el('li');
      li.append(render(item));
      ul.append(li);
    }
    return ul;
  }
  if (typeof value === 'object') {
    if (typeof value.op === 'string' && typeof value.name === 'string') {
      return el('span', 'op', value.value === undefined ? `${value.op} ${value.name}` : `${value.op} ${value.name}: ${value.value}`);
    }
    const dl = el('dl');
    for (const [k, v] of Object.entries(value)) {
      const dt = el('dt', '', label(k));
      const dd = el('dd');
      dd.dataset.field = k;
      dd.append(render(v));
      dl.append(dt, dd);
    }
    return dl;
  }
  return el('span', 'value', String(value));
}

function showDecision(answer) {
  const box = $('decision');
  box.innerHTML = '';
  box.append(render(answer.decision));
  const trace = $('trace');
  trace.innerHTML = '';
  for (const r of answer.trace.rules || []) {
    const li = el('li', r.matched ? 'hit' : 'miss');
    li.dataset.rule = r.name;
    li.append(el('span', 'mark', r.matched ? '✓' : '✗'), el('span', 'name', r.name));
    const reasons = el('ul', 'reasons');
    for (const reason of r.reasons) reasons.append(el('li', '', reason));
    li.append(reasons);
    trace.append(li);
  }
  if (!(answer.trace.rules || []).length) trace.append(el('li', 'muted', 'no rule was tried'));
  const actions = $('actions');
  actions.innerHTML = '';
  for (const a of answer.trace.actions || []) actions.append(el('li', '', a));
  const metrics = $('metrics');
  metrics.innerHTML = '';
  // Metrics with the same labels share one line.
  const groups = new Map();
  for (const m of answer.metrics || []) {
    const key = m.enabled ? m.labels.join(', ') : null;
    groups.set(key, (groups.get(key) || []).concat(m.name));
  }
  for (const [labels, names] of groups) {
    const li = el('li', '', labels === null ? `${names.join(', ')}: disabled` : `${names.join(', ')} {${labels}}`);
    li.dataset.metrics = names.join(' ');
    metrics.append(li);
  }
}

// === share links: state -> deflate-raw -> base64url in the fragment ===

function currentState() {
  return { v: engine.engineVersion(), policy: $('policy').value, request: readRequest() };
}

function applyState(state) {
  if (typeof state.policy !== 'string') throw new Error('the link carries no policy');
  $('policy').value = state.policy;
  if (state.request) writeRequest(state.request);
}

async function pipe(bytes, stream) {
  const out = new Blob([bytes]).stream().pipeThrough(stream);
  return new Uint8Array(await new Response(out).arrayBuffer());
}

function toBase64Url(bytes) {
  let bin = '';
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function fromBase64Url(text) {
  const bin = atob(text.replace(/-/g, '+').replace(/_/g, '/'));
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}

async function encodeState(state) {
  const json = new TextEncoder().encode(JSON.stringify(state));
  return toBase64Url(await pipe(json, new CompressionStream('deflate-raw')));
}

async function decodeState(text) {
  const json = await pipe(fromBase64Url(text), new DecompressionStream('deflate-raw'));
  return JSON.parse(new TextDecoder().decode(json));
}

async function share() {
  const url = location.href.split('#')[0] + '#s=' + (await encodeState(currentState()));
  history.replaceState(null, '', url);
  $('share-box').hidden = false;
  $('share-url').value = url;
  $('share-url').select();
  try { await navigator.clipboard.writeText(url); } catch (_) { /* the box shows it */ }
}

function showNotice(text) {
  $('notice').textContent = text;
  $('notice').hidden = false;
}

// === the sticky-split simulator ===

function runSimulator() {
  const rows = [...document.querySelectorAll('#sim-destinations tbody tr')];
  const destinations = rows.map((r) => ({
    host: r.querySelector('.sim-host').value.trim(),
    subset: r.querySelector('.sim-subset').value.trim() || null,
    weight: Number(r.querySelector('.sim-weight').value || 0),
  }));
  const newWeights = rows.map((r) => Number(r.querySelector('.sim-new').value || 0));
  const input = { destinations, newWeights, keys: Number($('sim-keys').value || 0) };
  const answer = JSON.parse(engine.simulateSplit(JSON.stringify(input)));
  const out = $('sim-result');
  out.innerHTML = '';
  if (!answer.ok) {
    out.append(el('p', 'check bad', answer.diagnostics.map((d) => (d.path ? d.path + ': ' : '') + d.message).join('; ')));
    return;
  }
  const r = answer.report;
  out.append(bars('before', r.before), bars('after', r.after));
  const moves = el('div', 'moves');
  moves.append(el('h3', '', `keys that moved: ${r.moved} of ${input.keys}`));
  const ul = el('ul', 'bars');
  for (const m of r.moves) {
    const li = el('li', 'move', `${m.keys} from ${m.from} to ${m.to} (e.g. ${m.examples.join(', ')})`);
    li.dataset.from = m.from;
    li.dataset.to = m.to;
    li.dataset.keys = m.keys;
    ul.append(li);
  }
  moves.append(ul);
  const raised = destinations.filter((d, i) => newWeights[i] > d.weight).length;
  const check = el('p', 'check ' + (r.leftRaised === 0 ? 'ok' : 'bad'));
  check.id = 'sim-check';
  check.dataset.leftRaised = r.leftRaised;
  check.textContent = raised === 0
    ? 'no weight was raised'
    : r.leftRaised === 0
      ? '✓ no key left a destination whose weight was raised: keys only move toward it'
      : `✗ ${r.leftRaised} keys left a destination whose weight was raised`;
  moves.append(check);
  out.append(moves);
}

function bars(title, shares) {
  const box = el('div', 'bars');
  box.dataset.side = title;
  box.append(el('h3', '', title));
  for (const s of shares || []) {
    const row = el('div', 'bar');
    row.dataset.destination = s.destination;
    row.dataset.keys = s.keys;
    const fill = el('span', 'fill');
    fill.style.width = `${Math.round(s.share * 160)}px`;
    row.append(el('span', 'name', s.destination), fill,
      el('span', '', `${s.keys} keys, ${(s.share * 100).toFixed(1)}% (weight ${(s.expected * 100).toFixed(1)}%)`));
    box.append(row);
  }
  return box;
}

function addDestination() {
  const body = document.querySelector('#sim-destinations tbody');
  const row = body.rows[body.rows.length - 1].cloneNode(true);
  row.querySelector('.sim-subset').value = 'v' + (body.rows.length + 1);
  row.querySelector('.sim-weight').value = 0;
  row.querySelector('.sim-new').value = 0;
  body.append(row);
}

// === wiring ===

function wire() {
  const soon = () => { clearTimeout(timer); timer = setTimeout(update, 120); };
  $('policy').addEventListener('input', soon);
  $('policy').addEventListener('scroll', () => { $('gutter').scrollTop = $('policy').scrollTop; });
  $('request-form').addEventListener('input', soon);
  $('request-form').addEventListener('submit', (e) => { e.preventDefault(); update(); });
  $('share').addEventListener('click', share);
  $('sim-run').addEventListener('click', runSimulator);
  $('sim-add').addEventListener('click', addDestination);
  window.addEventListener('hashchange', () => location.reload());
}

start().catch((e) => showNotice('The engine could not start: ' + e.message));
