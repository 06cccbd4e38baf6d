// The building view: a community's buildings at a glance (on the overview
// and in its own view), and one building as units × floors with each
// household coloured by the state of its devices — alarm, fault, offline,
// ok — all drawn from the registry and the open alerts the hub sends as
// codes; no map tiles, nothing outside the hub. It redraws when alerts
// change (the live feed) and every 30 s while shown.

import './strings-incidents.js';
import * as api from './api.js';
import * as store from './store.js';
import { t, tCount, onLangChange, currentLang } from './i18n.js';
import { h, label, errorText } from './format.js';

const $ = (id) => document.getElementById(id);
const states = ['alarm', 'fault', 'offline', 'ok'];

let places = []; // every building the hub knows
let community = ''; // the community shown
let summaries = null; // its buildings, or {error}
let building = ''; // the building opened, '' for none
let view = null; // its units × floors, or {error}
let visible = false;
let overviewVisible = false;
let timer = 0;
let changeTimer = 0;
let openAlert = () => {};
let tilesKey = '';

/** initBuildings wires the view and the overview's tiles; open(id) shows an alert. */
export function initBuildings({ open }) {
  openAlert = open;
  $('bld-community').addEventListener('change', (ev) => { community = ev.target.value; building = ''; view = null; load(); });
  for (const box of [$('bld-tiles'), $('ov-buildings')]) {
    box.addEventListener('click', (ev) => {
      const tile = ev.target.closest('[data-building]');
      if (!tile) return;
      if (box.id === 'ov-buildings') document.querySelector('[data-view="buildings"]')?.click();
      openBuilding(tile.dataset.building);
    });
  }
  $('bld-back').addEventListener('click', () => { building = ''; view = null; draw(); });
  $('bld-grid').addEventListener('click', (ev) => {
    const a = ev.target.closest('[data-alert-id]');
    if (a) openAlert(Number(a.dataset.alertId));
  });
  // An alert changed: the states may have; redraw soon, once.
  store.onChange(() => {
    if (!visible && !overviewVisible) return;
    clearTimeout(changeTimer);
    changeTimer = setTimeout(load, 500);
  });
  onLangChange(draw);
}

/** showBuildings shows the view, refreshing it every 30 s while it is shown. */
export function showBuildings() {
  visible = true;
  start();
}

/** showOnOverview shows a community's tiles on the overview. */
export function showOnOverview() {
  overviewVisible = true;
  start();
}

/** hideBuildings stops the view's refreshing (hideOverviewTiles the overview's). */
export function hideBuildings() {
  visible = false;
  stopIfHidden();
}

export function hideOverviewTiles() {
  overviewVisible = false;
  stopIfHidden();
}

function start() {
  load();
  clearInterval(timer);
  timer = setInterval(load, 30_000);
}

function stopIfHidden() {
  if (!visible && !overviewVisible) clearInterval(timer);
}

/** openBuilding opens one building of the community shown. */
export function openBuilding(name) {
  building = name;
  view = null;
  draw();
  loadView();
}

async function load() {
  try {
    places = (await api.get('/api/v1/buildings')).places || [];
  } catch (err) {
    summaries = { error: errorText(err) };
    draw();
    return;
  }
  const communities = [...new Set(places.map((p) => p.community))];
  if (!communities.includes(community)) community = communities[0] || '';
  if (!community) {
    summaries = { buildings: [] };
    draw();
    return;
  }
  try {
    summaries = await api.get(`/api/v1/buildings?community=${encodeURIComponent(community)}`);
  } catch (err) {
    summaries = { error: errorText(err) };
  }
  draw();
  if (building) loadView();
}

async function loadView() {
  const want = building;
  try {
    const v = await api.get(`/api/v1/buildings/view?community=${encodeURIComponent(community)}&building=${encodeURIComponent(want)}`);
    if (building === want) view = v;
  } catch (err) {
    if (building === want) view = { error: errorText(err) };
  }
  draw();
}

function draw() {
  const communities = [...new Set(places.map((p) => p.community))];
  $('bld-community').replaceChildren(...communities.map((c) => h('option', { value: c, selected: c === community, translate: 'no' }, c)));
  // Redrawn only when something changed, so a tile being clicked stays.
  const key = JSON.stringify([summaries, building, currentLang()]);
  if (key !== tilesKey) {
    tilesKey = key;
    for (const box of [$('bld-tiles'), $('ov-buildings')]) box.replaceChildren(...tiles());
  }
  $('bld-note').textContent = summaries?.error ? t('bld.failed', { msg: summaries.error }) : building ? '' : t('bld.pick');
  drawBuilding();
}

// tiles are the community's buildings, each with its households by state.
// Households registered without a building come last, under a label that
// says so (the installer's to mend); their tile opens nothing, as there is
// no building to draw, but their states still show on the wall.
function tiles() {
  if (!summaries || summaries.error) return [];
  const list = summaries.buildings || [];
  if (!list.length) return [h('p', { class: 'muted' }, t('bld.none'))];
  return list.map((b) => {
    const worst = states.find((s) => (b.states?.[s] || 0) > 0 && s !== 'ok') || 'ok';
    const none = b.building === '';
    return h(none ? 'div' : 'button', {
      type: none ? undefined : 'button', class: none ? 'bld-tile bld-tile-none' : 'bld-tile',
      title: none ? t('bld.noBuildingHelp') : undefined,
      dataset: none ? { noBuilding: 'true', state: worst } : { building: b.building, state: worst, selected: String(b.building === building) },
    },
      none ? h('span', { class: 'bld-tile-name' }, t('bld.noBuilding')) : h('span', { class: 'bld-tile-name', translate: 'no' }, b.building),
      h('span', { class: 'bld-tile-count' }, tCount('bld.households', b.households)),
      h('span', { class: 'bld-bar', 'aria-hidden': 'true' }, ...states.map((s) => (b.states?.[s] || 0) > 0 && segment(s, b.states[s]))),
      h('span', { class: 'bld-tile-states' }, ...states.filter((s) => s !== 'ok' && b.states?.[s] > 0)
        .map((s) => h('span', { class: `bld-state st-${s}` }, `${label('bld.state', s)} ${b.states[s]}`))),
      b.incidents?.length > 0 && h('span', { class: 'tag tag-incident' }, label('kind', 'building_alarm')));
  });
}

// segment is a state's share of a tile's bar (set through the style object:
// the page's CSP refuses style attributes).
function segment(state, n) {
  const el = h('span', { class: `bld-seg st-${state}` });
  el.style.flexGrow = String(n);
  return el;
}

function drawBuilding() {
  const box = $('bld-detail');
  box.hidden = !building;
  if (!building) return;
  $('bld-name').textContent = `${community} ${building}`;
  $('bld-legend').replaceChildren(...states.map((s) => h('span', { class: `bld-key st-${s}` }, label('bld.state', s))));
  const grid = $('bld-grid');
  if (!view) {
    grid.replaceChildren(h('tbody', {}, h('tr', {}, h('td', { class: 'muted' }, t('detail.loading')))));
    return;
  }
  if (view.error) {
    grid.replaceChildren(h('tbody', {}, h('tr', {}, h('td', { class: 'error' }, t('bld.failed', { msg: view.error })))));
    return;
  }
  const at = new Map();
  for (const c of view.households) {
    const key = `${c.floor}\u001f${c.unit}`;
    if (!at.has(key)) at.set(key, []);
    at.get(key).push(c);
  }
  grid.replaceChildren(
    h('thead', {}, h('tr', {}, h('th', {}, ''), ...view.units.map((u) => h('th', { translate: 'no' }, u || '—')))),
    h('tbody', {}, ...view.floors.map((f) => h('tr', {},
      h('th', { class: 'bld-floor', translate: 'no' }, f || '—'),
      ...view.units.map((u) => h('td', { class: 'bld-cell' }, ...(at.get(`${f}\u001f${u}`) || []).map(household)))))));
  $('bld-incidents').replaceChildren(...(view.incidents || []).map((a) => h('button', {
    type: 'button', class: `btn small incident-link sev-border-${a.severity}`, onclick: () => openAlert(a.id),
  }, `#${a.id} ${label('kind', a.kind)} · ${label('state', a.state)}`)));
  $('bld-elsewhere').textContent = view.elsewhere?.length
    ? view.elsewhere.map((d) => `${d.id} ${label('dkind', d.kind)} ${label('bld.state', d.state)}`).join(' · ') : '';
}

// household is one household's cell: its number, resident, a mark for one
// living alone, and its open alerts.
function household(c) {
  return h('div', { class: `bld-hh st-${c.state}`, dataset: { household: c.household, state: c.state }, title: label('bld.state', c.state) },
    h('span', { class: 'bld-hh-no', translate: 'no' }, c.household),
    h('span', { class: 'bld-hh-state' }, label('bld.state', c.state)),
    c.resident && h('span', { class: 'bld-hh-name', translate: 'no' }, c.resident),
    c.lives_alone && h('span', { class: 'tag tag-alone' }, t('bld.aloneMark')),
    c.incomplete?.length > 0 && h('span', { class: 'tag tag-incomplete', title: t('bld.incompleteHelp') },
      t('bld.incomplete', { ids: c.incomplete.join(', ') })),
    ...(c.alerts || []).map((a) => h('button', { type: 'button', class: 'bld-alert', dataset: { alertId: a.incident_id || a.id } },
      label('kind', a.kind))));
}
