// The street's notification channels, on the overview for supervisors and
// admins: each channel's type, its address with every secret masked (the
// hub never sends one back), whether it signs, which parties it tells; an
// admin sends a test message on one (to a phone number, for an SMS
// gateway) and is told whether it arrived.

import * as api from './api.js';
import { t, onLangChange } from './i18n.js';
import { h, label, errorText } from './format.js';
import { toast } from './toast.js';
import { data } from './timeline.js';
import './strings-loop.js';

const $ = (id) => document.getElementById(id);

let channels = null;
let canTest = false;

/** init wires the card. */
export function init() {
  onLangChange(render);
}

/** show loads the channels for role: supervisors see them, admins also test them. */
export async function show(role) {
  const card = $('channels-card');
  card.hidden = role !== 'supervisor' && role !== 'admin';
  if (card.hidden) return;
  canTest = role === 'admin';
  try {
    channels = (await api.get('/api/v1/notify/channels')).channels || [];
  } catch (err) {
    channels = null;
    $('channel-list').replaceChildren(h('li', {}, errorText(err)));
    return;
  }
  render();
}

function render() {
  if (!channels) return;
  const list = $('channel-list');
  if (!channels.length) {
    list.replaceChildren(h('li', { class: 'muted' }, t('ch.none')));
    return;
  }
  list.replaceChildren(...channels.map((c) => {
    const phone = c.type === 'sms' && canTest && h('input', { type: 'tel', class: 'channel-phone', placeholder: t('ch.phone'), maxlength: '32' });
    const parties = c.parties.length ? t('ch.parties', { parties: c.parties.map((p) => label('party', p)).join(t('list.sep')) }) : t('ch.noParties');
    return h('li', { dataset: { channel: c.name } },
      h('div', {}, h('strong', {}, data(c.name)), ' · ', label('chType', c.type), c.signed && h('span', { class: 'tag' }, t('ch.signed'))),
      h('div', { class: 'muted mono channel-url', translate: 'no' }, c.url),
      h('div', { class: 'muted' }, parties),
      canTest && h('div', { class: 'channel-test' }, phone,
        h('button', { type: 'button', class: 'btn small', onclick: (ev) => test(c, phone, ev.currentTarget) }, t('ch.test'))));
  }));
}

async function test(c, phone, btn) {
  btn.disabled = true;
  toast(t('ch.sending'), 'ok');
  try {
    const res = await api.post(`/api/v1/notify/channels/${encodeURIComponent(c.name)}/test`, { to: phone ? phone.value.trim() : '' });
    if (res.delivered) {
      toast(t('ch.ok', { name: c.name }), 'ok');
    } else {
      const why = [label('notifyError', res.error), res.status && res.error === 'http_status' ? `HTTP ${res.status}` : '',
        res.provider ? t('tlp.provider', { provider: res.provider }) : ''].filter(Boolean).join(' · ');
      toast(t('ch.failed', { name: c.name, why }), 'error');
    }
  } catch (err) {
    toast(t('ch.failed', { name: c.name, why: errorText(err) }), 'error');
  } finally {
    btn.disabled = false;
  }
}
