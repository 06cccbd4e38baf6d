// Incidents in an alert's detail: for an incident (a building's alarms, an
// outage), where it is — its units and floors — its devices with their
// alerts or whether they are back, and the evacuation list of its building
// (the households in the order to reach them: living alone, oldest,
// mobility needs, with their contacts and grid worker); for an alert that
// belongs to an incident, the way to it. The queue shows an incident as one
// row and its alerts inside it (queueSummary, linkedHidden).

import './strings-incidents.js';
import * as api from './api.js';
import * as store from './store.js';
import { t, tCount, onLangChange } from './i18n.js';
import { h, label, dateTime, errorText } from './format.js';
import { data } from './timeline.js';

const $ = (id) => document.getElementById(id);

let shown = null; // the alert the card is about
let evacuation = null; // its building's list, or {error}
let openAlert = () => {};

/** initIncident wires the card; open(id) shows another alert (the incident of a linked alert). */
export function initIncident({ open }) {
  openAlert = open;
  onLangChange(() => { if (shown) draw(); });
}

/**
 * showIncident shows the card for alert a (with its members, as GET
 * /api/v1/alerts/{id} returns them) and reports whether a is an incident,
 * so the detail can leave out the cards of a single device.
 */
export function showIncident(a) {
  const card = $('incident-card');
  if (!a || (!a.incident && !a.incident_id)) {
    shown = null;
    card.hidden = true;
    return false;
  }
  const again = shown && shown.id === a.id;
  shown = a;
  card.hidden = false;
  if (a.incident && !again) {
    evacuation = null;
    loadEvacuation(a.id);
  }
  draw();
  return !!a.incident;
}

async function loadEvacuation(id) {
  try {
    const ev = await api.get(`/api/v1/alerts/${id}/evacuation`);
    if (shown?.id === id) evacuation = ev;
  } catch (err) {
    if (shown?.id === id) evacuation = { error: errorText(err) };
  }
  if (shown?.id === id) draw();
}

function draw() {
  const a = shown;
  const card = $('incident-card');
  card.dataset.kind = a.kind;
  if (!a.incident) {
    card.replaceChildren(h('p', { class: 'inc-linked' }, t('inc.linked', { id: a.incident_id }), ' ',
      h('button', { type: 'button', class: 'btn small', onclick: () => openAlert(a.incident_id) }, t('inc.open'))));
    return;
  }
  const inc = a.incident;
  const outage = a.kind === 'outage';
  card.replaceChildren(
    h('h3', {}, t('inc.title')),
    h('div', { class: 'inc-summary' },
      h('span', { class: 'inc-place', translate: 'no' }, [inc.community, inc.building].filter(Boolean).join(' ')),
      inc.gateway && h('span', { class: 'tag' }, t('inc.gateway', { id: inc.gateway })),
      inc.alerts > 0 && h('span', { class: 'tag' }, tCount('inc.alerts', inc.alerts)),
      h('span', { class: 'tag' }, tCount('inc.devices', inc.devices)),
      outage && h('span', { class: 'tag' }, t('inc.returned', { n: inc.returned, total: inc.devices })),
      inc.first_at && h('span', { class: 'muted' }, t('inc.first', { t: dateTime(inc.first_at) }))),
    places(t('inc.units'), inc.units), places(t('inc.floors'), inc.floors),
    members(a),
    evacuationList());
}

function places(name, list) {
  if (!list?.length) return null;
  return h('div', { class: 'inc-places' }, h('span', { class: 'muted' }, name), ' ',
    ...list.map((p) => h('span', { class: 'inc-chip', translate: 'no' }, p)));
}

function members(a) {
  const ms = a.members || [];
  if (!ms.length) return null;
  return h('details', { class: 'inc-members', open: ms.length <= 12 },
    h('summary', {}, t('inc.members'), ` (${ms.length})`),
    h('ul', { class: 'inc-member-list' }, ...ms.map((m) => {
      const back = !!m.returned_at;
      return h('li', { dataset: { deviceId: m.device_id, back: String(back) } },
        h('span', { class: 'mono', translate: 'no' }, m.device_id), ' ',
        m.kind && h('span', {}, label('dkind', m.kind)), ' ',
        h('span', { class: 'muted', translate: 'no' }, [m.unit, m.floor, m.household].filter(Boolean).join(' ')), ' ',
        m.alert_id ? h('button', { type: 'button', class: 'btn small link', onclick: () => openAlert(m.alert_id) }, t('inc.memberAlert', { id: m.alert_id }))
          : a.kind === 'outage' && h('span', { class: `tag ${back ? 'tag-cleared' : 'tag-offline'}` }, back ? t('inc.memberBack') : t('inc.memberOff')));
    })));
}

function evacuationList() {
  const box = h('section', { class: 'inc-evac', id: 'evacuation' }, h('h3', {}, t('inc.evac')), h('p', { class: 'muted' }, t('inc.evacHelp')));
  if (!evacuation) {
    box.append(h('p', { class: 'muted' }, t('detail.loading')));
    return box;
  }
  if (evacuation.error) {
    box.append(h('p', { class: 'error' }, t('inc.evacFailed', { msg: evacuation.error })));
    return box;
  }
  const list = evacuation.households || [];
  if (!list.length) {
    box.append(h('p', { class: 'muted' }, t('inc.evacNone')));
    return box;
  }
  const phone = (p) => h('a', { href: `tel:${p}`, class: 'phone', translate: 'no' }, p);
  box.append(h('ol', { class: 'evac-list' }, ...list.map((e) => h('li', { dataset: { household: e.household } },
    h('div', { class: 'evac-head' },
      h('span', { class: 'evac-where', translate: 'no' }, [e.unit, e.floor, e.household].filter(Boolean).join(' ')), ' ',
      h('span', { class: 'evac-name', translate: 'no' }, e.resident?.name || '—'),
      e.age > 0 && h('span', { class: 'muted' }, ` ${t('inc.age', { n: e.age })}`),
      ...(e.reasons || []).map((r) => h('span', { class: `tag tag-reason reason-${r}` }, label('reason', r)))),
    e.resident?.care_notes && h('div', { class: 'evac-notes' }, data(e.resident.care_notes)),
    h('div', { class: 'evac-contacts' },
      e.resident?.phone && phone(e.resident.phone),
      ...(e.contacts || []).map((c) => h('span', { class: 'evac-contact' }, data(c.name), c.relation && h('span', { class: 'muted', translate: 'no' }, ` (${c.relation})`), ' ', phone(c.phone))),
      e.grid_worker?.name && h('span', { class: 'evac-contact' }, h('span', { class: 'tag' }, t('detail.gridWorker')), ' ', data(e.grid_worker.name), ' ', e.grid_worker.phone && phone(e.grid_worker.phone)))))));
  return box;
}

/**
 * linkedHidden reports whether the queue leaves alert a out: it belongs to
 * an incident the page holds open, whose row stands for it.
 */
export function linkedHidden(a) {
  if (!a.incident_id) return false;
  const inc = store.get(a.incident_id);
  return !!inc && ['new', 'accepted', 'dispatched'].includes(inc.state);
}

/** incidentPlace is where an incident is, as a location (null for an alert). */
export function incidentPlace(a) {
  const inc = a.incident;
  if (!inc) return null;
  return { community: inc.community, building: inc.building || t('inc.gateway', { id: inc.gateway }) };
}

/** queueSummary is what an incident's queue row says instead of a resident. */
export function queueSummary(a) {
  const inc = a.incident;
  return h('span', { class: 'inc-queue' },
    inc.alerts > 0 ? tCount('inc.alerts', inc.alerts) : tCount('inc.devices', inc.devices),
    a.kind === 'outage' && inc.returned > 0 ? ` · ${t('inc.returned', { n: inc.returned, total: inc.devices })}` : '');
}
