// The telemetry chart of an alert's device, drawn with the vendored uPlot:
// the gas level (lel) of a gas detector or PM2.5 of an air monitor, from
// half an hour before the alarm, with the alarm's moment marked.

import * as api from './api.js';
import { t } from './i18n.js';
import { ms, errorText, label } from './format.js';

const fields = { gas: { field: 'lel', title: 'chart.lel', color: '#e8590c' }, air: { field: 'pm25', title: 'chart.pm25', color: '#1c7ed6' } };
const before = 30 * 60 * 1000;
const after = 10 * 60 * 1000;
const chartHeight = 140;

let plot = null;
let resizeObs = null;
let token = 0;

const $ = (id) => document.getElementById(id);

// timeLabels labels the time axis in 24-hour local time, as duty rooms read
// it, with seconds when the ticks are less than a minute apart.
function timeLabels(u, splits) {
  const step = splits.length > 1 ? splits[1] - splits[0] : 60;
  const opts = step < 60 ? { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false } : { hour: '2-digit', minute: '2-digit', hour12: false };
  return splits.map((sec) => new Date(sec * 1000).toLocaleTimeString('zh-CN', opts));
}

/** clearChart removes the chart. */
export function clearChart() {
  token++;
  if (plot) { plot.destroy(); plot = null; }
  if (resizeObs) { resizeObs.disconnect(); resizeObs = null; }
  $('telemetry-chart').replaceChildren();
  $('chart-note').textContent = '';
  $('chart-card').hidden = true;
}

/** drawChart loads and draws the readings around alert a, for the kinds that have a chart. */
export async function drawChart(a) {
  clearChart();
  const spec = fields[a.device?.kind];
  if (!spec || !a.device_id) return;
  const mine = ++token;
  $('chart-card').hidden = false;
  $('chart-title').textContent = t(spec.title);
  const opened = ms(a.opened_at) || Date.now();
  const end = a.resolved_at ? Math.min(Date.now(), ms(a.resolved_at) + after) : Date.now();
  const from = new Date(opened - before);
  const q = new URLSearchParams({ field: spec.field, from: from.toISOString(), to: new Date(Math.max(end, opened + 1000)).toISOString() });
  if (end - from.getTime() > 6 * 3600 * 1000) q.set('every', '1m');
  let resp;
  try {
    resp = await api.get(`/api/v1/devices/${encodeURIComponent(a.device_id)}/telemetry?${q}`);
  } catch (err) {
    if (mine === token) $('chart-note').textContent = t('chart.failed', { msg: errorText(err) });
    return;
  }
  if (mine !== token) return;
  const pts = resp.points || [];
  if (!pts.length) {
    $('chart-note').textContent = t('chart.empty');
    return;
  }
  if (typeof window.uPlot !== 'function') {
    $('chart-note').textContent = t('chart.failed', { msg: 'uPlot' });
    return;
  }
  const xs = pts.map((p) => ms(p.t) / 1000);
  const ys = pts.map((p) => p.v);
  const box = $('telemetry-chart');
  const openedSec = opened / 1000;
  const marker = (u) => {
    const x = u.valToPos(openedSec, 'x', true);
    if (x < u.bbox.left || x > u.bbox.left + u.bbox.width) return;
    const c = u.ctx;
    c.save();
    c.strokeStyle = '#e03131';
    c.lineWidth = 2 * devicePixelRatio;
    c.setLineDash([6 * devicePixelRatio, 4 * devicePixelRatio]);
    c.beginPath();
    c.moveTo(x, u.bbox.top);
    c.lineTo(x, u.bbox.top + u.bbox.height);
    c.stroke();
    c.fillStyle = '#e03131';
    c.font = `${12 * devicePixelRatio}px sans-serif`;
    c.fillText(t('chart.opened'), x + 4 * devicePixelRatio, u.bbox.top + 14 * devicePixelRatio);
    c.restore();
  };
  // Fit the readings and the alarm's moment, with a little room either side.
  const lo = Math.min(xs[0], openedSec);
  const hi = Math.max(xs[xs.length - 1], openedSec);
  const pad = Math.max(5, (hi - lo) * 0.08);
  const width = Math.max(240, box.clientWidth || 400);
  plot = new window.uPlot({
    width,
    height: chartHeight,
    legend: { show: true },
    cursor: { drag: { x: false, y: false } },
    scales: { x: { time: true, min: lo - pad, max: hi + pad } },
    series: [
      { label: t('chart.time'), value: (u, sec) => (sec == null ? '—' : new Date(sec * 1000).toLocaleTimeString('zh-CN', { hour12: false })) },
      { label: `${label('field', spec.field)}${resp.unit ? ` (${resp.unit})` : ''}`, stroke: spec.color, width: 2, fill: `${spec.color}22`, points: { show: pts.length < 60 } },
    ],
    axes: [
      { stroke: '#adb5bd', grid: { stroke: '#2c3440' }, space: 80, values: timeLabels },
      { stroke: '#adb5bd', grid: { stroke: '#2c3440' } },
    ],
    hooks: { draw: [marker] },
  }, [xs, ys], box);
  resizeObs = new ResizeObserver(() => {
    if (plot && box.clientWidth) plot.setSize({ width: box.clientWidth, height: chartHeight });
  });
  resizeObs.observe(box);
}
