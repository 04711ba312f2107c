// Nestor console: a page over the public JSON API only. No dependencies, no build step, and
// nothing the server's Content-Security-Policy refuses (no inline script or style, no eval).
'use strict';

const KEY_STORE = 'nestor.apiKey';
const INGEST_BATCH = 32;
const POLL_MS = 5000;
// Search modes. A mode becomes usable when the server's OpenAPI document lists it
// (SearchRequest.mode.enum) or by flipping `ready` here; the request always names the mode
// chosen, since the server's default (hybrid for a text query) need not be the one shown.
const MODES = [
  { value: 'hybrid', label: 'hybrid (embeddings + BM25)', ready: false },
  { value: 'dense', label: 'dense (embeddings)', ready: true },
  { value: 'lexical', label: 'lexical (BM25)', ready: false },
];

const $ = (sel, root = document) => root.querySelector(sel);
const nf = new Intl.NumberFormat('en');

/** A DOM element: h('td', {class: 'num', text: '3'}, child, …). Text always goes in as text. */
function h(tag, attrs = {}, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v == null || v === false) continue;
    if (k === 'class') e.className = v;
    else if (k === 'text') e.textContent = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? '' : v);
  }
  e.append(...kids.flat().filter((c) => c != null && c !== false));
  return e;
}

const ms = (v) => (v == null || !isFinite(v) ? '–' : v < 1 ? v.toFixed(2) : v < 100 ? v.toFixed(1) : nf.format(Math.round(v)));

// ---------------------------------------------------------------------------------------------
// API: JSON in and out, OpenAI-shaped errors, Bearer key on demand.

class APIError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

async function errorMessage(res) {
  const text = await res.text();
  try {
    const body = JSON.parse(text);
    if (body && body.error && typeof body.error.message === 'string') return body.error.message;
  } catch { /* not JSON */ }
  return text.trim() || `HTTP ${res.status} ${res.statusText}`;
}

let keyDeclined = false;

/** `api('POST', '/search', body)`; a 401 asks for the key (once for all requests waiting) and retries. */
async function api(method, path, body, { text = false, interactive = true, withStatus = false } = {}) {
  for (;;) {
    const key = sessionStorage.getItem(KEY_STORE);
    const headers = { Accept: text ? 'text/plain' : 'application/json' };
    if (key) headers.Authorization = `Bearer ${key}`;
    const init = { method, headers, cache: 'no-store' };
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    let res;
    try {
      res = await fetch(path, init);
    } catch (e) {
      throw new APIError(0, `could not reach the server (${e.message})`);
    }
    if (res.status === 401) {
      const message = await errorMessage(res);
      if ((interactive || !keyDeclined) && (await askForKey(message, key))) continue;
      throw new APIError(401, message);
    }
    if (!res.ok) throw new APIError(res.status, await errorMessage(res));
    const result = await (text ? res.text() : res.json());
    return withStatus ? { status: res.status, body: result } : result;
  }
}

let keyRequest = null;
function askForKey(message, usedKey) {
  // Another request already got a new key while this one was in flight: just retry.
  const current = sessionStorage.getItem(KEY_STORE);
  if (current && current !== usedKey) return Promise.resolve(true);
  if (keyRequest) return keyRequest;
  const dialog = $('#key-dialog');
  const input = $('#key-input');
  $('#key-reason').textContent = usedKey ? `The server refused this key: ${message}` : message;
  input.value = '';
  dialog.returnValue = '';
  keyRequest = new Promise((resolve) => {
    dialog.addEventListener('close', () => {
      keyRequest = null;
      const given = input.value.trim();
      const ok = dialog.returnValue === 'ok' && given !== '';
      if (ok) {
        sessionStorage.setItem(KEY_STORE, given);
        keyDeclined = false;
      } else keyDeclined = true;
      input.value = '';
      updateKeyButton();
      resolve(ok);
    }, { once: true });
  });
  dialog.showModal();
  input.focus();
  return keyRequest;
}

function updateKeyButton() {
  $('#forget-key').hidden = !sessionStorage.getItem(KEY_STORE);
}

/** Shows an API error as the server words it (status first, then its message verbatim). */
function showError(box, err) {
  if (!err) {
    box.hidden = true;
    box.replaceChildren();
    return;
  }
  const status = err.status ? `${err.status}: ` : '';
  box.replaceChildren(h('span', { class: 'status-code', text: status }), h('span', { class: 'message', text: err.message }));
  box.hidden = false;
}

// ---------------------------------------------------------------------------------------------
// Tabs (WAI-ARIA tablist, automatic activation, roving tabindex, #hash for deep links).

const tabs = [...document.querySelectorAll('[role="tab"]')];

function selectTab(tab, focus = false) {
  for (const t of tabs) {
    const on = t === tab;
    t.setAttribute('aria-selected', String(on));
    t.tabIndex = on ? 0 : -1;
    document.getElementById(t.getAttribute('aria-controls')).hidden = !on;
  }
  if (focus) tab.focus();
  const name = tab.id.replace('tab-', '');
  if (location.hash !== `#${name}`) history.replaceState(null, '', `#${name}`);
  if (name === 'collections') refreshCollections();
  if (name === 'server') refreshServer({ withModels: true });
}

for (const t of tabs) {
  t.addEventListener('click', () => selectTab(t));
  t.addEventListener('keydown', (e) => {
    const i = tabs.indexOf(t);
    const next = { ArrowRight: i + 1, ArrowLeft: i - 1, Home: 0, End: tabs.length - 1 }[e.key];
    if (next === undefined) return;
    e.preventDefault();
    selectTab(tabs[(next + tabs.length) % tabs.length], true);
  });
}

// ---------------------------------------------------------------------------------------------
// Collections.

let collections = [];

let collectionsLoading = 0;
async function refreshCollections() {
  const table = $('#collections-table');
  collectionsLoading++;
  table.setAttribute('aria-busy', 'true');
  try {
    const r = await api('GET', '/collections');
    collections = r.collections || [];
    showError($('#collections-error'), null);
    renderCollections();
  } catch (e) {
    showError($('#collections-error'), e);
  } finally {
    if (--collectionsLoading === 0) table.removeAttribute('aria-busy');
  }
}

function renderCollections() {
  const body = $('#collections-table tbody');
  body.replaceChildren(...collections.flatMap((c) => {
    // An unavailable collection is not loaded: the server lists it with zero sizes, shown as dashes.
    const bad = c.unavailable != null;
    const row = h('tr', { class: bad ? 'unavailable' : null, 'data-name': c.name },
      h('th', { scope: 'row', text: c.name }),
      h('td', { class: 'num', text: bad ? '–' : nf.format(c.documents) }),
      h('td', { class: 'num', text: bad ? '–' : nf.format(c.chunks) }),
      h('td', { class: 'nowrap', text: c.model }),
      h('td', { class: 'num', text: String(c.dimensions) }),
      h('td', { class: 'num', text: String(c.coarse_dimensions) }),
      h('td', { text: c.coarse_basis }),
      h('td', { class: 'num', text: bad ? '–' : nf.format(c.graph_nodes) }),
      h('td', { class: 'num', text: bad ? '–' : nf.format(c.deleted_nodes) }),
      h('td', {}, h('span', bad ? { class: 'badge bad', text: 'unavailable', 'aria-describedby': `why-${c.name}` } : { class: 'badge', text: 'ready' })),
      h('td', {}, h('button', { type: 'button', class: 'quiet small', 'aria-label': `Delete collection ${c.name}`, onclick: () => confirmDelete(c), text: 'Delete' })));
    // Why it cannot be served, in the server's words, on a row of its own.
    return bad ? [row, h('tr', { class: 'reason' }, h('td', { colspan: '11', id: `why-${c.name}`, text: c.unavailable }))] : [row];
  }));
  $('#collections-empty').hidden = collections.length > 0;
  for (const picker of document.querySelectorAll('.collection-picker')) {
    const keep = picker.value;
    picker.replaceChildren(...collections.map((c) => h('option', { value: c.name, disabled: c.unavailable != null, text: c.unavailable != null ? `${c.name} (unavailable)` : c.name })));
    const usable = collections.filter((c) => c.unavailable == null).map((c) => c.name);
    picker.value = usable.includes(keep) ? keep : (usable[0] ?? '');
  }
  if (!collections.length && !$('#search-results').children.length) {
    $('#search-meta').textContent = 'No collections yet: create one under Collections, then add documents under Ingest.';
  } else if ($('#search-meta').textContent.startsWith('No collections yet')) {
    $('#search-meta').textContent = '';
  }
}

function selectCollection(name) {
  for (const picker of document.querySelectorAll('.collection-picker')) picker.value = name;
}

$('#create-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const name = $('#create-name').value.trim();
  const coarse = $('#create-coarse').value.trim();
  const body = { name };
  if (coarse !== '') body.coarse_dimensions = Number(coarse);
  $('#collections-msg').textContent = '';
  try {
    const { status, body: c } = await api('POST', '/collections', body, { withStatus: true });
    showError($('#collections-error'), null);
    // 201: created; 200: it already existed with these settings (creation is idempotent).
    $('#collections-msg').textContent = status === 201
      ? `Created ${c.name}: ${c.dimensions} dimensions, coarse ${c.coarse_dimensions} (${c.coarse_basis}).`
      : `${c.name} already exists with these settings (${nf.format(c.documents)} documents); nothing changed.`;
    $('#create-name').value = '';
    $('#create-coarse').value = '';
    await refreshCollections();
    selectCollection(c.name);
  } catch (err) {
    showError($('#collections-error'), err);
  }
});

$('#collections-refresh').addEventListener('click', refreshCollections);

function confirmDelete(c) {
  const dialog = $('#confirm-dialog');
  // An unavailable collection is not loaded, so its listed sizes say nothing about what is stored.
  $('#confirm-text').textContent = c.unavailable != null
    ? `Delete collection “${c.name}” and everything stored in it? This server cannot serve it (${c.unavailable}). This cannot be undone.`
    : `Delete collection “${c.name}” with ${nf.format(c.documents)} documents (${nf.format(c.chunks)} chunks)? This cannot be undone.`;
  dialog.returnValue = '';
  dialog.addEventListener('close', async () => {
    if (dialog.returnValue !== 'delete') return;
    try {
      await api('DELETE', `/collections/${encodeURIComponent(c.name)}`);
      showError($('#collections-error'), null);
      $('#collections-msg').textContent = `Deleted ${c.name}.`;
    } catch (err) {
      showError($('#collections-error'), err);
    }
    refreshCollections();
  }, { once: true });
  dialog.showModal();
  $('#confirm-cancel').focus();
}

// ---------------------------------------------------------------------------------------------
// Search.

const modeSelect = $('#search-mode');
// Until the user picks a mode, the first served one in MODES' order is shown (hybrid, the
// server's default for text queries, once the server says it serves it).
let modePicked = false;
modeSelect.addEventListener('change', () => { modePicked = true; });
function renderModes() {
  const keep = modePicked ? modeSelect.value : (MODES.find((m) => m.ready)?.value ?? 'dense');
  modeSelect.replaceChildren(...MODES.map((m) => h('option', { value: m.value, disabled: !m.ready, text: m.ready ? m.label : `${m.label} (not served yet)` })));
  modeSelect.value = MODES.some((m) => m.ready && m.value === keep) ? keep : 'dense';
  const unready = MODES.filter((m) => !m.ready).map((m) => m.value);
  $('#search-mode-note').textContent = unready.length ? `${unready.join(' and ')} search ${unready.length > 1 ? 'are' : 'is'} not served yet.` : '';
}
renderModes();

/** Enables the modes the server documents for /search, if its OpenAPI document lists them. */
async function detectModes() {
  try {
    const doc = await api('GET', '/openapi.json', undefined, { interactive: false });
    const mode = doc?.components?.schemas?.SearchRequest?.properties?.mode;
    // `enum` on the property itself, or on one member of anyOf / oneOf (a nullable string).
    const served = [mode, ...(mode?.anyOf ?? []), ...(mode?.oneOf ?? [])].find((m) => Array.isArray(m?.enum))?.enum;
    if (!served) return;
    for (const m of MODES) m.ready = served.includes(m.value);
    renderModes();
  } catch { /* keep the built-in list */ }
}

/** The filter textarea: empty = no filter; otherwise JSON (its shape is the server's to judge). */
function readFilter() {
  const area = $('#search-filter');
  const msg = $('#search-filter-msg');
  const text = area.value.trim();
  area.removeAttribute('aria-invalid');
  msg.textContent = '';
  msg.classList.remove('error');
  if (!text) return { ok: true, value: undefined };
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (e) {
    area.setAttribute('aria-invalid', 'true');
    msg.textContent = `Not valid JSON: ${e.message}`;
    msg.classList.add('error');
    return { ok: false };
  }
}
$('#search-filter').addEventListener('input', readFilter);

const WORD = /([\p{L}\p{N}]+)/u;
/** The text with every word of the query marked (case-insensitive, whole words). */
function highlighted(text, query) {
  const words = new Set((query.toLocaleLowerCase().match(/[\p{L}\p{N}]+/gu) || []).filter((w) => w.length > 1));
  return text.split(WORD).map((part, i) => (i % 2 === 1 && words.has(part.toLocaleLowerCase()) ? h('mark', { text: part }) : part));
}

$('#search-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const filter = readFilter();
  if (!filter.ok) {
    $('#search-filter').focus();
    return;
  }
  const query = $('#search-query').value;
  const body = { collection: $('#search-collection').value, query, top_k: Number($('#search-topk').value) };
  body.mode = modeSelect.value;
  if (filter.value !== undefined) body.filter = filter.value;
  const button = $('#search-submit');
  button.disabled = true;
  const started = performance.now();
  try {
    const r = await api('POST', '/search', body);
    showError($('#search-error'), null);
    renderHits(r, query, performance.now() - started);
  } catch (err) {
    showError($('#search-error'), err);
    $('#search-meta').replaceChildren();
    $('#search-results').replaceChildren();
  } finally {
    button.disabled = false;
  }
});

function renderHits(r, query, roundTrip) {
  const t = r.timings || {};
  const fact = (label, value, key) => h('span', { class: 'fact', 'data-key': key }, `${label} `, h('b', { text: value }));
  // Every stage the server times (embed, coarse, rerank, fetch today), in its order.
  const facts = [
    fact('hits', String(r.hits.length), 'hits'), fact('path', r.path, 'path'), fact('candidates', String(r.candidates ?? '–'), 'candidates'),
    r.mode ? fact('mode', r.mode, 'mode') : null,
    ...Object.entries(t).filter(([k]) => k.endsWith('_ms')).map(([k, v]) => fact(k.slice(0, -3).replace(/_/g, ' '), `${ms(v)} ms`, k)),
    fact('round trip', `${ms(roundTrip)} ms`, 'round_trip'),
  ].filter(Boolean);
  $('#search-meta').replaceChildren(...facts.flatMap((f, i) => (i ? [' · ', f] : [f])));
  $('#search-results').replaceChildren(...(r.hits.length ? r.hits.map((hit, i) => {
    const md = hit.metadata && Object.keys(hit.metadata).length ? JSON.stringify(hit.metadata) : null;
    return h('li', { class: 'hit' },
      h('header', {},
        h('span', { class: 'rank', text: `${i + 1}.` }),
        h('span', { class: 'doc', text: hit.document_id }),
        h('span', { class: 'chunk note', text: `chunk ${hit.chunk_index}` }),
        // Hybrid search: the hit's places in the two rankings it fused.
        hit.dense_rank != null || hit.lexical_rank != null
          ? h('span', { class: 'ranks note', text: `dense #${hit.dense_rank ?? '–'} · lexical #${hit.lexical_rank ?? '–'}` }) : null,
        h('span', { class: 'score', title: r.score_type ?? 'cosine similarity' }, `${r.score_type && r.score_type !== 'cosine' ? r.score_type : 'score'} `, h('b', { text: hit.score.toFixed(4) }))),
      hit.text != null ? h('p', { class: 'text' }, highlighted(hit.text, query)) : null,
      md ? h('p', { class: 'md' }, 'metadata ', h('code', { text: md })) : null);
  }) : [h('li', { class: 'note', text: 'No hits.' })]));
}

// ---------------------------------------------------------------------------------------------
// Ingest.

let chosenFiles = [];

function addFiles(list) {
  for (const f of list) if (!chosenFiles.some((g) => g.name === f.name && g.size === f.size)) chosenFiles.push(f);
  $('#ingest-files-list').replaceChildren(...chosenFiles.map((f) => h('li', { text: `${f.name} (${nf.format(f.size)} bytes)` })));
}

$('#ingest-files').addEventListener('change', (e) => {
  addFiles(e.target.files);
  e.target.value = '';
});
const drop = $('#drop-zone');
drop.addEventListener('dragover', (e) => {
  e.preventDefault();
  drop.classList.add('over');
});
drop.addEventListener('dragleave', () => drop.classList.remove('over'));
drop.addEventListener('drop', (e) => {
  e.preventDefault();
  drop.classList.remove('over');
  addFiles(e.dataTransfer.files);
});

$('#ingest-clear').addEventListener('click', () => {
  chosenFiles = [];
  addFiles([]);
  $('#ingest-text').value = '';
  $('#ingest-id').value = '';
  $('#ingest-log').replaceChildren();
  showError($('#ingest-error'), null);
  setProgress(0, 0);
});

/** Documents from the chosen files and the pasted text, and what could not be read. */
async function gatherDocuments() {
  const docs = [];
  const problems = [];
  for (const f of chosenFiles) {
    const ext = f.name.toLowerCase().split('.').pop();
    const text = await f.text();
    if (ext === 'txt' || ext === 'md') {
      docs.push({ id: f.name, text });
    } else if (ext === 'jsonl') {
      text.split(/\r?\n/).forEach((line, i) => {
        if (!line.trim()) return;
        let v;
        try {
          v = JSON.parse(line);
        } catch (e) {
          problems.push(`${f.name} line ${i + 1}: not JSON (${e.message})`);
          return;
        }
        if (!v || typeof v !== 'object' || Array.isArray(v) || typeof v.text !== 'string') {
          problems.push(`${f.name} line ${i + 1}: expected {"id"?, "text", "metadata"?}`);
          return;
        }
        docs.push(v); // as written: the server judges ids, metadata and unknown fields
      });
    } else {
      problems.push(`${f.name}: only .txt, .md and .jsonl files can be ingested`);
    }
  }
  const pasted = $('#ingest-text').value;
  if (pasted.trim()) {
    const id = $('#ingest-id').value.trim();
    docs.push(id ? { id, text: pasted } : { text: pasted });
  }
  return { docs, problems };
}

function setProgress(done, total) {
  const bar = $('#ingest-progress');
  bar.max = Math.max(total, 1);
  bar.value = done;
  $('#ingest-count').textContent = `${nf.format(done)} / ${nf.format(total)} documents`;
}

$('#ingest-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const box = $('#ingest-error');
  const log = $('#ingest-log');
  showError(box, null);
  const collection = $('#ingest-collection').value;
  const { docs, problems } = await gatherDocuments();
  if (problems.length) {
    box.replaceChildren(`Nothing was sent; fix these first:\n${problems.join('\n')}`);
    box.hidden = false;
    return;
  }
  if (!docs.length) {
    box.replaceChildren('Choose or drop files, or paste a document, first.');
    box.hidden = false;
    return;
  }
  const button = $('#ingest-submit');
  button.disabled = true;
  log.replaceChildren();
  setProgress(0, docs.length);
  let done = 0;
  let chunks = 0;
  try {
    for (let start = 0; start < docs.length; start += INGEST_BATCH) {
      const batch = docs.slice(start, start + INGEST_BATCH);
      let r;
      try {
        r = await api('POST', '/ingest', { collection, documents: batch });
      } catch (err) {
        showError(box, err);
        log.append(h('li', { class: 'bad', text: `documents ${start + 1}–${start + batch.length}: refused; ${done} of ${docs.length} documents were ingested before it` }));
        return;
      }
      done += batch.length;
      chunks += r.chunks;
      setProgress(done, docs.length);
      log.append(h('li', { text: `documents ${start + 1}–${start + batch.length}: ${r.chunks} chunks, embed ${ms(r.timings?.embed_ms)} ms, write ${ms(r.timings?.write_ms)} ms (${r.documents.map((d) => d.id).join(', ')})` }));
    }
    log.append(h('li', { class: 'done', text: `Ingested ${nf.format(done)} documents (${nf.format(chunks)} chunks) into ${collection}.` }));
    chosenFiles = [];
    addFiles([]);
    $('#ingest-text').value = '';
    $('#ingest-id').value = '';
  } finally {
    button.disabled = false;
    refreshCollections();
  }
});

// ---------------------------------------------------------------------------------------------
// Embeddings playground: cosine heat map, tokeniser.

function cosine(a, b) {
  let d = 0, na = 0, nb = 0;
  for (let i = 0; i < a.length; i++) {
    d += a[i] * b[i];
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  return d / Math.sqrt(na * nb);
}

$('#embed-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const texts = $('#embed-texts').value.split('\n').map((s) => s.trim()).filter(Boolean);
  const box = $('#embed-error');
  if (texts.length < 2) {
    showError(box, new APIError(0, 'Enter at least two texts, one per line.'));
    return;
  }
  const started = performance.now();
  let r;
  try {
    r = await api('POST', '/v1/embeddings', { input: texts, encoding_format: 'float', input_type: $('#embed-type').value });
  } catch (err) {
    showError(box, err);
    return;
  }
  showError(box, null);
  const vectors = r.data.sort((a, b) => a.index - b.index).map((d) => d.embedding);
  const sims = vectors.map((a) => vectors.map((b) => cosine(a, b)));
  const off = sims.flatMap((row, i) => row.filter((_, j) => j !== i));
  const lo = Math.min(...off);
  const hi = 1;
  $('#embed-meta').textContent = `${texts.length} texts · ${vectors[0].length} dimensions · ${r.usage?.prompt_tokens ?? '?'} tokens · ${ms(performance.now() - started)} ms · colour scale ${lo.toFixed(2)} (light) to ${hi.toFixed(2)} (dark)`;
  const cell = (v) => {
    const t = hi > lo ? Math.max(0, Math.min(1, (v - lo) / (hi - lo))) : 1;
    const light = 96 - t * 68; // 96 % … 28 % lightness
    const td = h('td', { text: v.toFixed(3), title: `cosine ${v.toFixed(4)}` });
    td.style.backgroundColor = `hsl(215 70% ${light}%)`;
    td.style.color = light < 55 ? '#ffffff' : '#111111';
    return td;
  };
  $('#embed-heat').replaceChildren(
    h('caption', { class: 'vh', text: 'Cosine similarity between the texts' }),
    h('thead', {}, h('tr', {}, h('td'), texts.map((t, j) => h('th', { scope: 'col', title: t, text: String(j + 1) })))),
    h('tbody', {}, sims.map((row, i) => h('tr', {}, h('th', { scope: 'row', text: `${i + 1}. ${texts[i]}` }), row.map(cell)))));
});

$('#tok-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const meta = $('#tok-meta');
  const list = $('#tok-pieces');
  let r;
  try {
    r = await api('POST', '/tokenize', { text: $('#tok-text').value, input_type: $('#tok-type').value });
  } catch (err) {
    list.replaceChildren();
    if (err.status === 404 || err.status === 405) {
      showError($('#tok-error'), null);
      meta.textContent = `This server does not offer POST /tokenize yet (${err.status}: ${err.message}).`;
    } else {
      meta.textContent = '';
      showError($('#tok-error'), err);
    }
    return;
  }
  showError($('#tok-error'), null);
  const pieces = r.pieces || [];
  meta.textContent = `${r.count ?? r.tokens.length} tokens${r.max_model_len ? ` of at most ${r.max_model_len}` : ''}`;
  list.replaceChildren(...r.tokens.map((id, i) => h('li', {}, h('span', { class: 'piece', text: pieces[i] ?? '' }), h('span', { class: 'id', text: String(id) }))));
});

// ---------------------------------------------------------------------------------------------
// Server panel: model, health, /metrics (Prometheus text), refreshed while the page is open.

/** Prometheus text exposition → [{name, labels, value}]. */
function parseMetrics(text) {
  const out = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([A-Za-z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const labels = {};
    for (const l of (m[2] || '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2].replace(/\\(.)/g, (_, c) => (c === 'n' ? '\n' : c));
    out.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return out;
}

/** histogram_quantile: linear interpolation inside the bucket that holds the rank. In the first
 *  bucket that would invent a value (its lower bound is 0), so there only the bound is given. */
function quantile(q, buckets) {
  const sorted = [...buckets].sort((a, b) => a.le - b.le);
  const total = sorted.length ? sorted[sorted.length - 1].count : 0;
  if (!total) return null;
  const rank = q * total;
  let prevLe = 0, prevCount = 0;
  for (const [i, b] of sorted.entries()) {
    if (b.count >= rank) {
      if (b.le === Infinity) return { value: prevLe, atMost: false, above: true };
      if (i === 0) return { value: b.le, atMost: true };
      return { value: prevLe + (b.le - prevLe) * (b.count > prevCount ? (rank - prevCount) / (b.count - prevCount) : 1) };
    }
    prevLe = b.le;
    prevCount = b.count;
  }
  return { value: prevLe, above: true };
}
const quantileText = (v) => (v == null ? '–' : v.atMost ? `≤ ${ms(v.value * 1000)}` : v.above ? `> ${ms(v.value * 1000)}` : ms(v.value * 1000));

function summarise(samples) {
  const routes = new Map();
  const route = (r) => routes.get(r) || routes.set(r, { requests: 0, classes: {}, buckets: [], sum: 0, count: 0 }).get(r);
  const totals = { requests: 0, classes: {}, errors: null, tokens: null, inputs: null };
  for (const s of samples) {
    if (s.name === 'nestor_requests_total') {
      const r = route(s.labels.route);
      const cls = `${String(s.labels.status)[0]}xx`;
      r.requests += s.value;
      r.classes[cls] = (r.classes[cls] || 0) + s.value;
      totals.requests += s.value;
      totals.classes[cls] = (totals.classes[cls] || 0) + s.value;
    } else if (s.name === 'nestor_request_duration_seconds_bucket') {
      route(s.labels.route).buckets.push({ le: s.labels.le === '+Inf' ? Infinity : Number(s.labels.le), count: s.value });
    } else if (s.name === 'nestor_request_duration_seconds_sum') route(s.labels.route).sum = s.value;
    else if (s.name === 'nestor_request_duration_seconds_count') route(s.labels.route).count = s.value;
    else if (s.name === 'nestor_errors_total') totals.errors = s.value;
    else if (s.name === 'nestor_prompt_tokens_total') totals.tokens = s.value;
    else if (s.name === 'nestor_inputs_total') totals.inputs = s.value;
  }
  return { totals, routes };
}

const fact = (label, value, key) => h('div', { 'data-key': key }, h('dt', { text: label }), h('dd', { text: value }));
const num = (v) => (v == null ? '–' : nf.format(v));

let serverBusy = false;
let models = null; // the last /v1/models answer, asked for at start and when the Server tab opens
async function refreshServer({ withModels = false } = {}) {
  if (serverBusy) return;
  serverBusy = true;
  try {
    const [modelsNow, health, metrics] = await Promise.allSettled([
      withModels || !models || models.status === 'rejected' ? api('GET', '/v1/models', undefined, { interactive: false }) : Promise.resolve(models.value),
      api('GET', '/health', undefined, { interactive: false }),
      api('GET', '/metrics', undefined, { text: true, interactive: false }),
    ]);
    models = modelsNow;
    const status = $('#status');
    const model = models.status === 'fulfilled' ? models.value.data?.[0] : null;
    if (health.status === 'fulfilled') {
      status.className = 'status up';
      status.textContent = `${health.value.model} · ${health.value.status}${model ? ` · ${model.dimensions} dimensions` : ''}`;
    } else {
      status.className = 'status down';
      status.textContent = `server unreachable (${health.reason.message})`;
    }
    const failed = [models, metrics].find((p) => p.status === 'rejected');
    showError($('#server-error'), failed ? failed.reason : null);
    if (model) {
      const aliases = models.value.data.filter((d) => d.task !== 'rerank').map((d) => d.id).filter((id) => id !== model.id);
      $('#server-model').replaceChildren(...[
        fact('Model', model.id, 'model'), model.root && model.root !== model.id ? fact('Root', model.root, 'root') : null,
        fact('Dimensions', String(model.dimensions ?? '–'), 'dimensions'),
        fact('Max input tokens', String(model.max_model_len ?? '–'), 'max_model_len'), fact('Aliases', aliases.join(', ') || '–', 'aliases'),
        fact('Health', health.status === 'fulfilled' ? health.value.status : 'down', 'health'),
      ].filter(Boolean));
    }
    if (metrics.status === 'fulfilled') renderMetrics(summarise(parseMetrics(metrics.value)));
  } finally {
    serverBusy = false;
  }
}

function renderMetrics({ totals, routes }) {
  const c = totals.classes;
  $('#server-totals').replaceChildren(
    fact('Requests', num(totals.requests), 'requests'), fact('2xx', num(c['2xx'] || 0), '2xx'), fact('4xx', num(c['4xx'] || 0), '4xx'),
    fact('5xx', num(c['5xx'] || 0), '5xx'), fact('Errors (≥ 400)', num(totals.errors), 'errors'),
    fact('Inputs embedded', num(totals.inputs), 'inputs'), fact('Tokens embedded', num(totals.tokens), 'tokens'));
  const rows = [...routes.entries()].sort((a, b) => b[1].requests - a[1].requests);
  $('#server-routes tbody').replaceChildren(...rows.map(([name, r]) => h('tr', {},
    h('th', { scope: 'row', text: name }),
    h('td', { class: 'num', text: num(r.requests) }),
    h('td', { class: 'num', text: num(r.classes['2xx'] || 0) }),
    h('td', { class: 'num', text: num(r.classes['4xx'] || 0) }),
    h('td', { class: 'num', text: num(r.classes['5xx'] || 0) }),
    h('td', { class: 'num', text: r.count ? ms((r.sum / r.count) * 1000) : '–' }),
    ...[0.5, 0.9, 0.99].map((q) => h('td', { class: 'num', text: quantileText(quantile(q, r.buckets)) })))));
  $('#metrics-updated').textContent = `updated ${new Date().toLocaleTimeString()}`;
}

// ---------------------------------------------------------------------------------------------
// Start.

$('#key-cancel').addEventListener('click', () => $('#key-dialog').close(''));
$('#forget-key').addEventListener('click', () => {
  sessionStorage.removeItem(KEY_STORE);
  updateKeyButton();
});
updateKeyButton();

const tabForHash = () => tabs.find((t) => `#${t.id.replace('tab-', '')}` === location.hash);
window.addEventListener('hashchange', () => {
  const t = tabForHash();
  if (t && t.getAttribute('aria-selected') !== 'true') selectTab(t);
});
selectTab(tabForHash() || tabs[0]);
refreshCollections();
refreshServer();
detectModes();
setInterval(() => {
  if (!document.hidden) refreshServer();
}, POLL_MS);
document.addEventListener('visibilitychange', () => {
  if (!document.hidden) refreshServer();
});
