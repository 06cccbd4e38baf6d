// Off-the-shelf devices in the devices view: what the Zigbee2MQTT bridges
// report and nobody has bound yet (bind one without typing its address),
// and a device's panel — where its messages come from, its last refusals
// (why the hub turned a message or a connection away) and, for models that
// have one, a self-test command.

import * as api from './api.js';
import { t, onLangChange } from './i18n.js';
import { h, ago, dateTime, label, errorText } from './format.js';
import { toast } from './toast.js';

const $ = (id) => document.getElementById(id);

let discovered = [];
let panel = null; // { device, refusals } shown in the panel
let onBind = () => {};

/** initVendor wires the discovered list and the device panel; bind fills
 * the register form with a discovered device. */
export function initVendor(bind) {
  onBind = bind;
  $('discovered-table').addEventListener('click', (ev) => {
    const btn = ev.target.closest('button[data-bind]');
    if (!btn) return;
    const x = discovered[Number(btn.dataset.bind)];
    if (x) onBind(x);
  });
  $('device-panel-close').addEventListener('click', () => { panel = null; $('device-panel').hidden = true; });
  $('btn-selftest').addEventListener('click', selfTest);
  onLangChange(() => { renderDiscovered(); renderPanel(); });
}

/** loadDiscovered lists the devices bridges report that are not bound. */
export async function loadDiscovered() {
  try {
    const resp = await api.get('/api/v1/devices/discovered');
    discovered = resp.devices || [];
  } catch (err) {
    discovered = [];
    if (err.status !== 403 && err.status !== 400) toast(t('vd.failed.discovered', { msg: errorText(err) }));
  }
  renderDiscovered();
}

function renderDiscovered() {
  const body = $('discovered-table').querySelector('tbody');
  body.replaceChildren(...discovered.map((x, i) => h('tr', { dataset: { ieee: x.ieee } },
    h('td', { class: 'mono', translate: 'no' }, x.gateway),
    h('td', { translate: 'no' }, x.friendly_name),
    h('td', { translate: 'no' }, [x.vendor, x.model].filter(Boolean).join(' ')),
    h('td', {}, x.kind ? label('dkind', x.kind) : t('vd.unknownModel')),
    h('td', { class: 'mono', translate: 'no' }, x.ieee),
    h('td', {}, x.kind ? h('button', { type: 'button', class: 'btn small', dataset: { bind: String(i) } }, t('vd.bind')) : ''))));
  if (!discovered.length) body.append(h('tr', { class: 'empty-row' }, h('td', { colspan: '6', class: 'muted' }, t('vd.noDiscovered'))));
}

/** showDevicePanel opens a device's panel: source, address, refusals. */
export async function showDevicePanel(id) {
  try {
    const resp = await api.get(`/api/v1/devices/${encodeURIComponent(id)}`);
    panel = { device: resp.device, refusals: resp.refusals || [], selfTest: resp.self_test === true };
  } catch (err) {
    toast(t('dev.failed.list', { msg: errorText(err) }));
    return;
  }
  renderPanel();
  $('device-panel').hidden = false;
  $('device-panel').scrollIntoView({ block: 'nearest' });
}

function renderPanel() {
  if (!panel) return;
  const d = panel.device;
  $('device-panel-title').textContent = t('vd.panelTitle', { id: d.id });
  const row = (k, v, typed = true) => (v ? [h('dt', {}, t(k)), h('dd', { class: 'mono', translate: typed ? 'no' : null }, v)] : []);
  $('device-panel-info').replaceChildren(
    ...row('dev.kind', label('dkind', d.kind), false),
    ...row('dev.source', label('source', d.source || ''), false),
    ...row('dev.gateway', d.gateway),
    ...row('dev.address', d.address),
    ...row('dev.model', [d.vendor, d.model].filter(Boolean).join(' ')));
  // Only a model with a self-test command gets the button (the hub says).
  $('btn-selftest').hidden = !panel.selfTest;
  const list = $('refusal-list');
  list.replaceChildren(...panel.refusals.map((r) => h('li', { dataset: { reason: r.reason } },
    h('span', { class: 'refusal-reason' }, label('refusal', r.reason)),
    h('span', { class: 'muted', title: dateTime(r.at) }, ago(r.at)),
    r.detail && rawLog(r.detail))));
  if (!panel.refusals.length) list.append(h('li', { class: 'muted' }, t('vd.noRefusals')));
}

async function selfTest() {
  if (!panel) return;
  const id = panel.device.id;
  try {
    await api.post(`/api/v1/devices/${encodeURIComponent(id)}/selftest`);
    toast(t('vd.selftestSent', { id }), 'ok');
  } catch (err) {
    toast(t('vd.failed.selftest', { msg: errorText(err) }));
  }
}

/**
 * rawLog shows the hub's log line of a refusal: the device's topic and
 * message and the parser's words, as logged (in English, for whoever reads
 * the hub's log with it), folded under a summary in the page's language.
 */
export function rawLog(text) {
  return h('details', { class: 'raw-log' }, h('summary', {}, t('vd.rawLog')),
    h('code', { class: 'mono', translate: 'no', lang: 'en' }, text));
}
