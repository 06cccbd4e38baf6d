// The devices view: the filtered list with health, devices seen but not
// registered, the register and edit form that shows a new password once,
// and CSV import that lists every bad row by line.

import * as api from './api.js';
import { t, tCount, onLangChange, currentLang } from './i18n.js';
import { h, ago, dateTime, label, address, errorText } from './format.js';
import { toast } from './toast.js';
import { initVendor, loadDiscovered, showDevicePanel, rawLog } from './vendor.js';
import { showWarnings } from './placement.js';

const pageSize = 200;
const kinds = ['sos_button', 'smoke', 'gas', 'co', 'air', 'gateway'];

let offset = 0;
let total = 0;
let editing = null; // id of the device being edited, or null
let writer = false;
let lastList = [];
let lastUnregistered = [];
let downloadURL = '';
let formWarnings = []; // the last registration's placement warnings
let lastImport = null; // the last successful import's answer

const $ = (id) => document.getElementById(id);

/** initDevices wires the view. */
export function initDevices() {
  fillKinds();
  $('device-filter').addEventListener('submit', (ev) => { ev.preventDefault(); offset = 0; loadDevices(); });
  for (const sel of $('device-filter').querySelectorAll('select')) {
    sel.addEventListener('change', () => { offset = 0; loadDevices(); });
  }
  $('dev-prev').addEventListener('click', () => { offset = Math.max(0, offset - pageSize); loadDevices(); });
  $('dev-next').addEventListener('click', () => { if (offset + pageSize < total) { offset += pageSize; loadDevices(); } });
  $('device-form').addEventListener('submit', (ev) => { ev.preventDefault(); submitDevice(); });
  $('btn-cancel-edit').addEventListener('click', () => resetForm());
  $('cred-dismiss').addEventListener('click', () => { $('new-credentials').hidden = true; $('cred-password').textContent = ''; });
  $('btn-import').addEventListener('click', importCSV);
  $('import-dismiss').addEventListener('click', clearImportCredentials);
  $('device-table').addEventListener('click', onDeviceTableClick);
  $('unregistered-table').addEventListener('click', (ev) => {
    const btn = ev.target.closest('button[data-register]');
    if (!btn) return;
    resetForm();
    $('device-form').elements.id.value = btn.dataset.register;
    $('device-form').elements.kind.focus();
  });
  onLangChange(() => {
    fillKinds(); renderDevices(); renderUnregistered(); renderFormTitle();
    showWarnings($('device-warnings'), formWarnings, false);
    if (lastImport) renderImport(lastImport);
  });
  initVendor(bindDiscovered);
}

// bindDiscovered fills the form with a device a bridge reported, so the
// installer only names it and says where it is.
function bindDiscovered(x) {
  resetForm();
  const f = $('device-form').elements;
  f.kind.value = x.kind;
  f.source.value = 'zigbee2mqtt';
  f.gateway.value = x.gateway;
  f.address.value = x.ieee;
  f.model.value = x.model || '';
  f.vendor.value = x.vendor || '';
  f.id.focus();
}

/** setWriter shows what installers and admins may do. */
export function setWriter(v) { writer = v; }

/** showDevices refreshes the view's lists. */
export function showDevices() {
  loadDevices();
  if (writer) { loadUnregistered(); loadDiscovered(); }
}

function fillKinds() {
  const f = $('device-filter').elements.kind;
  const keep = f.value;
  f.replaceChildren(h('option', { value: '' }, t('dev.kind.all')), ...kinds.map((k) => h('option', { value: k }, label('dkind', k))));
  f.value = keep;
  const g = $('device-form').elements.kind;
  const keepG = g.value;
  g.replaceChildren(...kinds.map((k) => h('option', { value: k }, label('dkind', k))));
  if (keepG) g.value = keepG;
}

async function loadDevices() {
  const f = $('device-filter').elements;
  const q = new URLSearchParams({ limit: pageSize, offset });
  for (const name of ['community', 'grid', 'building', 'kind', 'q']) {
    const v = f[name].value.trim();
    if (v) q.set(name, v);
  }
  if (f.status.value) q.set('online', String(f.status.value === 'online'));
  try {
    const resp = await api.get(`/api/v1/devices?${q}`);
    lastList = resp.devices || [];
    total = resp.total ?? lastList.length;
    renderDevices();
  } catch (err) {
    toast(t('dev.failed.list', { msg: errorText(err) }), 'error', { network: err.status === 0 });
  }
}

function renderDevices() {
  const body = $('device-table').querySelector('tbody');
  body.replaceChildren(...lastList.map((d) => {
    const hl = d.health || {};
    return h('tr', { dataset: { deviceId: d.id, online: String(!!hl.online), kind: d.kind } },
      h('td', { class: 'mono', translate: 'no' }, d.id),
      h('td', {}, label('dkind', d.kind)),
      h('td', { translate: 'no' }, address(d.location)),
      h('td', {}, h('span', { translate: 'no' }, d.resident?.name || ''), d.resident?.lives_alone ? h('span', { class: 'tag tag-alone' }, t('queue.alone')) : ''),
      h('td', { class: 'status' }, h('span', { class: `online-${!!hl.online}` }, hl.online ? t('dev.online') : t('dev.offline'))),
      h('td', { class: `battery${hl.battery != null && hl.battery < 20 ? ' low' : ''}` }, hl.battery != null ? `${Math.round(hl.battery)}%` : '—'),
      h('td', { class: 'last-seen', title: hl.last_seen ? dateTime(hl.last_seen) : '' }, ago(hl.last_seen)),
      h('td', { class: 'writer-only row-actions' },
        h('button', { type: 'button', class: 'btn small', dataset: { details: d.id } }, t('vd.details')),
        h('button', { type: 'button', class: 'btn small', dataset: { edit: d.id } }, t('dev.edit')),
        // A device behind a bridge has no MQTT account of its own.
        d.source === 'zigbee2mqtt' && d.kind !== 'gateway' ? ''
          : h('button', { type: 'button', class: 'btn small ghost', dataset: { rotate: d.id } }, t('dev.rotate'))));
  }));
  if (!lastList.length) body.append(h('tr', { class: 'empty-row' }, h('td', { colspan: '8', class: 'muted' }, t('dev.none'))));
  $('device-total').textContent = total ? t('dev.total', { total, from: offset + 1, to: offset + lastList.length }) : '';
  $('dev-prev').disabled = offset === 0;
  $('dev-next').disabled = offset + pageSize >= total;
}

async function loadUnregistered() {
  try {
    const resp = await api.get('/api/v1/devices/unregistered');
    lastUnregistered = resp.devices || [];
  } catch (err) {
    lastUnregistered = [];
    if (err.status !== 403) toast(t('dev.failed.list', { msg: errorText(err) }));
  }
  renderUnregistered();
}

function renderUnregistered() {
  const body = $('unregistered-table').querySelector('tbody');
  body.replaceChildren(...lastUnregistered.map((u) => h('tr', { dataset: { deviceId: u.id } },
    h('td', { class: 'mono', translate: 'no' }, u.id),
    h('td', {}, dateTime(u.first_seen)),
    h('td', {}, ago(u.last_seen)),
    h('td', {}, String(u.count)),
    h('td', { class: 'muted' }, u.detail ? rawLog(u.detail) : ''),
    h('td', {}, h('button', { type: 'button', class: 'btn small', dataset: { register: u.id } }, t('dev.registerThis'))))));
  if (!lastUnregistered.length) body.append(h('tr', { class: 'empty-row' }, h('td', { colspan: '6', class: 'muted' }, t('dev.noUnregistered'))));
}

async function onDeviceTableClick(ev) {
  const edit = ev.target.closest('button[data-edit]');
  const rotate = ev.target.closest('button[data-rotate]');
  const details = ev.target.closest('button[data-details]');
  if (details) {
    showDevicePanel(details.dataset.details);
  } else if (edit) {
    const d = lastList.find((x) => x.id === edit.dataset.edit);
    if (d) fillForm(d);
  } else if (rotate) {
    const id = rotate.dataset.rotate;
    if (!window.confirm(t('dev.rotateConfirm', { id }))) return;
    try {
      const resp = await api.post(`/api/v1/devices/${encodeURIComponent(id)}/password`);
      showCredentials(resp.mqtt_username || id, resp.password);
    } catch (err) {
      toast(t('dev.failed.rotate', { msg: errorText(err) }));
    }
  }
}

// The form's inputs are named as the flat columns of the import format;
// these turn them into the API's nested device and back.
const text = ['vendor', 'model', 'source', 'gateway', 'address'];
const loc = ['community', 'grid', 'building', 'unit', 'floor', 'household'];

function formDevice() {
  const f = $('device-form').elements;
  const v = (n) => f[n].value.trim();
  const d = {
    id: v('id'), kind: v('kind'),
    location: Object.fromEntries(loc.map((n) => [n, v(n)])),
    resident: {
      name: v('resident_name'), lives_alone: f.resident_lives_alone.checked,
      care_notes: v('resident_care_notes'), language: v('resident_language'), phone: v('resident_phone'),
    },
    grid_worker: { name: v('grid_worker_name'), phone: v('grid_worker_phone') },
  };
  for (const n of text) if (v(n)) d[n] = v(n);
  if (f.capabilities.checked) d.capabilities = ['voice'];
  if (v('resident_birth_year')) d.resident.birth_year = Number(v('resident_birth_year'));
  const contacts = v('contacts');
  if (contacts) {
    d.contacts = contacts.split(/[;；\n]/).map((s) => s.trim()).filter(Boolean).map((s, i) => {
      const parts = s.split('|').map((p) => p.trim());
      if (parts.length !== 3 || !parts[0] || !parts[2]) throw new Error(t('dev.badContacts', { n: i + 1 }));
      return { name: parts[0], relation: parts[1], phone: parts[2], notify_sos: f.contacts_notify_sos.checked };
    });
  }
  return d;
}

function fillForm(d) {
  resetForm();
  editing = d.id;
  const f = $('device-form').elements;
  f.id.value = d.id;
  f.id.readOnly = true;
  f.kind.value = d.kind;
  for (const n of text) f[n].value = d[n] || '';
  for (const n of loc) f[n].value = d.location?.[n] || '';
  f.capabilities.checked = (d.capabilities || []).includes('voice');
  f.resident_name.value = d.resident?.name || '';
  f.resident_birth_year.value = d.resident?.birth_year || '';
  f.resident_lives_alone.checked = !!d.resident?.lives_alone;
  f.resident_care_notes.value = d.resident?.care_notes || '';
  f.resident_language.value = d.resident?.language || '';
  f.resident_phone.value = d.resident?.phone || '';
  f.contacts_notify_sos.checked = (d.contacts || []).some((c) => c.notify_sos);
  f.contacts.value = (d.contacts || []).map((c) => [c.name, c.relation || '', c.phone].join('|')).join('; ');
  f.grid_worker_name.value = d.grid_worker?.name || '';
  f.grid_worker_phone.value = d.grid_worker?.phone || '';
  renderFormTitle();
  $('btn-cancel-edit').hidden = false;
  f.kind.focus();
}

function resetForm() {
  editing = null;
  $('device-form').reset();
  $('device-form').elements.id.readOnly = false;
  $('btn-cancel-edit').hidden = true;
  renderFormTitle();
}

function renderFormTitle() {
  $('device-form-title').textContent = editing ? t('dev.editTitle', { id: editing }) : t('dev.register');
  $('btn-register').textContent = editing ? t('dev.saveBtn') : t('dev.registerBtn');
}

async function submitDevice() {
  let d;
  try {
    d = formDevice();
  } catch (err) {
    toast(err.message);
    return;
  }
  const btn = $('btn-register');
  btn.disabled = true;
  formWarnings = [];
  showWarnings($('device-warnings'), formWarnings, false);
  try {
    if (editing) {
      const resp = await api.put(`/api/v1/devices/${encodeURIComponent(editing)}`, d);
      formWarnings = resp.warnings || [];
      toast(t('dev.saved', { id: editing }), 'ok');
    } else {
      const resp = await api.post('/api/v1/devices', d);
      formWarnings = resp.warnings || [];
      if (resp.password) showCredentials(resp.mqtt_username || resp.device?.id || d.id, resp.password);
      toast(t('dev.registered', { id: d.id }), 'ok');
    }
    // Registered all the same: the warnings ask for a second look.
    showWarnings($('device-warnings'), formWarnings, false);
    resetForm();
    loadDevices();
    loadUnregistered();
    loadDiscovered();
  } catch (err) {
    toast(t(editing ? 'dev.failed.save' : 'dev.failed.register', { msg: errorText(err) }));
  } finally {
    btn.disabled = false;
  }
}

function showCredentials(username, password) {
  $('cred-username').textContent = username;
  $('cred-password').textContent = password;
  $('new-credentials').hidden = false;
  $('new-credentials').scrollIntoView({ block: 'nearest' });
}

function clearImportCredentials() {
  if (downloadURL) URL.revokeObjectURL(downloadURL);
  downloadURL = '';
  $('import-download').removeAttribute('href');
  $('import-credentials').hidden = true;
}

async function importCSV() {
  const file = $('csv-file').files[0];
  const list = $('import-errors');
  const summary = $('import-summary');
  list.replaceChildren();
  summary.hidden = true;
  lastImport = null;
  showWarnings($('import-warnings'), [], true);
  clearImportCredentials();
  if (!file) { toast(t('imp.noFile')); return; }
  const btn = $('btn-import');
  btn.disabled = true;
  try {
    const resp = await api.request('POST', '/api/v1/devices/import', file, { contentType: 'text/csv; charset=utf-8' });
    lastImport = resp;
    renderImport(resp);
    const csv = ['id,password', ...(resp.credentials || []).map((c) => `${c.id},${c.password}`)].join('\r\n');
    downloadURL = URL.createObjectURL(new Blob([csv], { type: 'text/csv' }));
    $('import-download').href = downloadURL;
    $('import-credentials').hidden = false;
    $('csv-file').value = '';
    loadDevices();
  } catch (err) {
    summary.textContent = t('imp.failed', { msg: errorText(err) });
    summary.dataset.kind = 'error';
    summary.hidden = false;
    const rows = err.body?.rows || [];
    const paren = (id) => (currentLang() === 'en' ? ` (${id})` : `（${id}）`);
    list.replaceChildren(...rows.map((r) => h('li', { dataset: { line: r.line } },
      t('imp.row', { line: r.line, id: r.id ? paren(r.id) : '', err: r.error }))));
    summary.scrollIntoView({ block: 'nearest' });
    toast(t('imp.failed', { msg: errorText(err) }));
  } finally {
    btn.disabled = false;
  }
}

// renderImport shows a successful import's summary, with the rows whose
// place needs checking counted and listed by line.
function renderImport(resp) {
  const summary = $('import-summary');
  summary.textContent = resp.warned ? tCount('imp.doneWarned', resp.imported, { m: resp.warned }) : tCount('imp.done', resp.imported);
  summary.dataset.kind = resp.warned ? 'warn' : 'ok';
  summary.hidden = false;
  showWarnings($('import-warnings'), resp.warnings, true);
}
