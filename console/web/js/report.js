// The monthly report: a month's closed-loop figures per community and grid
// (GET /api/v1/reports/monthly), on a page that prints cleanly (the rest of
// the console is left off the paper) and as a CSV download headed in the
// page's language. Months are the browser's own time zone's.

import * as api from './api.js';
import { t, currentLang, onLangChange } from './i18n.js';
import { h, dateTime, errorText } from './format.js';
import { figuresTable } from './overview.js';
import './strings-loop.js';

const $ = (id) => document.getElementById(id);
const zone = () => Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';

let report = null;
let failed = null;
let communities = [];

/** initReport wires the page; back() returns to the overview. */
export function initReport({ back }) {
  fillMonths();
  $('report-month').addEventListener('change', load);
  $('report-community').addEventListener('change', load);
  $('report-print').addEventListener('click', () => window.print());
  $('report-back').addEventListener('click', back);
  onLangChange(() => { fillMonths(); fillCommunities(); render(); });
}

// fillMonths offers this month and the 23 before it, named in the page's
// language (a browser's own month picker speaks the browser's).
function fillMonths() {
  const sel = $('report-month');
  const keep = sel.value;
  const now = new Date();
  const name = new Intl.DateTimeFormat(currentLang(), { year: 'numeric', month: 'long' });
  const opts = [];
  for (let i = 0; i < 24; i++) {
    const d = new Date(now.getFullYear(), now.getMonth() - i, 1);
    opts.push(h('option', { value: `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}` }, name.format(d)));
  }
  sel.replaceChildren(...opts);
  if (keep) sel.value = keep;
}

/** showReport loads the chosen month. */
export function showReport() { load(); }

function query(extra) {
  const q = new URLSearchParams({ month: $('report-month').value, tz: zone(), ...extra });
  if ($('report-community').value) q.set('community', $('report-community').value);
  return q;
}

async function load() {
  if (!$('report-month').value) return;
  try {
    report = await api.get(`/api/v1/reports/monthly?${query()}`);
    failed = null;
    for (const r of report.rows || []) if (!r.grid && !communities.includes(r.community)) communities.push(r.community);
    fillCommunities();
  } catch (err) {
    report = null;
    failed = err;
  }
  render();
}

function fillCommunities() {
  const sel = $('report-community');
  const keep = sel.value;
  sel.replaceChildren(h('option', { value: '' }, t('report.all')),
    ...communities.sort().map((c) => h('option', { value: c, translate: 'no' }, c)));
  sel.value = keep;
}

function render() {
  $('report-csv').href = `/api/v1/reports/monthly?${query({ format: 'csv', lang: currentLang() === 'en' ? 'en' : 'zh' })}`;
  if (failed) {
    $('report-table').replaceChildren(h('caption', {}, t('report.failed', { msg: errorText(failed) })));
    $('report-period').textContent = '';
    return;
  }
  if (!report) return;
  const day = new Intl.DateTimeFormat(currentLang(), { year: 'numeric', month: 'long', day: 'numeric' });
  $('report-period').textContent = t('report.period', { from: day.format(Date.parse(report.from)), to: day.format(Date.parse(report.to) - 1) });
  $('report-table').replaceChildren(...figuresTable(report.rows || []));
  $('report-generated').textContent = t('report.generated', { t: dateTime(new Date().toISOString()) });
}
