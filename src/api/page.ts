// The live page at `/`: one self-contained HTML document (inline CSS, inline script, SVG charts;
// no CDN, no fonts, no images), reading the same stats API as everyone else. URLs are relative,
// so it works behind `kubectl port-forward` and the API server's service proxy alike; with
// --api-token-file it asks for the token once (or takes #token=… from the URL) and sends it as a
// bearer token. It polls every 2 s, so a rollout can be watched as it happens.
import { createHash } from 'node:crypto';

const STYLE = `
:root { --fg:#1d2330; --muted:#5b6475; --line:#d9dee7; --bg:#f7f8fa; --ok:#1a7f37; --bad:#c62828; --warn:#b26a00; --a:#2f6fdd; --b:#8a3ffc; }
* { box-sizing: border-box; }
body { margin:0; font:14px/1.4 system-ui, -apple-system, "Segoe UI", "DejaVu Sans", sans-serif; color:var(--fg); background:var(--bg); }
header { display:flex; gap:16px; align-items:center; flex-wrap:wrap; padding:10px 20px; background:#fff; border-bottom:1px solid var(--line); }
header h1 { font-size:18px; margin:0 12px 0 0; }
header label { color:var(--muted); font-size:12px; }
input, select, button { font:inherit; padding:3px 6px; border:1px solid var(--line); border-radius:4px; background:#fff; }
main { padding:16px 20px; display:grid; gap:16px; grid-template-columns: repeat(auto-fit, minmax(460px, 1fr)); }
section { background:#fff; border:1px solid var(--line); border-radius:6px; padding:12px 14px; min-width:0; }
section h2 { font-size:14px; margin:0 0 8px; }
.cards { grid-column:1/-1; display:flex; gap:12px; flex-wrap:wrap; }
.card { background:#fff; border:1px solid var(--line); border-radius:6px; padding:8px 14px; min-width:130px; }
.card b { display:block; font-size:22px; }
.card span { color:var(--muted); font-size:12px; }
.ok { color:var(--ok); } .bad { color:var(--bad); } .warn { color:var(--warn); }
table { border-collapse:collapse; width:100%; font-size:12px; }
th, td { text-align:left; padding:3px 6px; border-bottom:1px solid var(--line); vertical-align:top; }
th { color:var(--muted); font-weight:600; }
td.num { text-align:right; font-variant-numeric:tabular-nums; }
svg { width:100%; height:auto; display:block; }
svg text { font-size:11px; fill:var(--muted); }
.legend { font-size:12px; color:var(--muted); }
#status { font-size:12px; color:var(--muted); margin-left:auto; }
#auth { grid-column:1/-1; display:none; }
.empty { color:var(--muted); font-style:italic; }
`;

const SCRIPT = `
'use strict';
const $ = (id) => document.getElementById(id);
const state = { token: sessionStorage.getItem('dpready-token') || '', series: 'time-to-datapath-ready', records: [], stamp: '' };
const hash = new URLSearchParams(location.hash.slice(1));
if (hash.get('token')) { state.token = hash.get('token'); sessionStorage.setItem('dpready-token', state.token); history.replaceState(null, '', location.pathname + location.search); }
for (const k of ['namespace', 'labelSelector']) if (hash.get(k)) $(k).value = hash.get(k);

function esc(s) { return String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c])); }
function fmtMs(ms) { if (ms == null || !isFinite(ms)) return '–'; return ms < 1000 ? Math.round(ms) + ' ms' : ms < 60000 ? (ms / 1000).toFixed(2) + ' s' : (ms / 60000).toFixed(1) + ' min'; }
function query(extra) {
  const p = new URLSearchParams(extra || {});
  for (const k of ['namespace', 'labelSelector']) { const v = $(k).value.trim(); if (v) p.set(k, v); }
  return p.toString();
}
async function get(path, extra) {
  const res = await fetch(path + '?' + query(extra), { headers: state.token ? { authorization: 'Bearer ' + state.token } : {}, cache: 'no-store' });
  if (res.status === 401) { const e = new Error('unauthorized'); e.auth = true; throw e; }
  if (!res.ok) { let m = res.status + ''; try { m = (await res.json()).message; } catch {} throw new Error(m); }
  return res;
}

const SERIES = {
  'time-to-datapath-ready': { label: 'Time to datapath ready', value: (r) => r.latDpReadyMs },
  'time-to-start': { label: 'Time to start (reporter)', value: (r) => r.latStartMs },
  // Listed only when some pod had deny targets and the policy was seen in force (docs/policy.md).
  'time-to-policy-enforced': { label: 'Time to policy enforced', value: (r) => r.latPolicyMs, optional: true },
};
function seriesList() {
  const out = Object.entries(SERIES).filter(([, s]) => !s.optional || state.records.some((r) => s.value(r) != null)).map(([k, s]) => [k, s.label]);
  const phases = new Set();
  for (const r of state.records) for (const [k, v] of Object.entries(r.phases || {})) if (v != null) phases.add(k);
  for (const p of [...phases].sort()) out.push(['phase:' + p, 'Phase: ' + p]);
  return out;
}
function valuesOf(key) {
  const f = key.startsWith('phase:') ? ((r) => (r.phases || {})[key.slice(6)]) : SERIES[key].value;
  return state.records.map(f).filter((v) => v != null && isFinite(v)).sort((a, b) => a - b);
}

function niceTicks(max, n, whole) {
  if (max <= 0) return [0];
  const raw = max / n, mag = Math.pow(10, Math.floor(Math.log10(raw)));
  let step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw);
  if (whole) step = Math.max(1, Math.round(step));
  const ticks = []; for (let t = 0; t <= max + 1e-9; t += step) ticks.push(t); return ticks;
}
const W = 460, H = 220, L = 46, R = 10, T = 10, B = 30;
function axes(xmax, ymax, yfmt, xlabel, wholeY) {
  let s = '';
  for (const t of niceTicks(xmax, 6)) { const x = L + (t / xmax) * (W - L - R); s += '<line x1="' + x + '" x2="' + x + '" y1="' + T + '" y2="' + (H - B) + '" stroke="#eef0f4"/><text x="' + x + '" y="' + (H - B + 14) + '" text-anchor="middle">' + esc(fmtMs(t)) + '</text>'; }
  for (const t of niceTicks(ymax, 4, wholeY)) { const y = H - B - (t / ymax) * (H - T - B); s += '<line x1="' + L + '" x2="' + (W - R) + '" y1="' + y + '" y2="' + y + '" stroke="#eef0f4"/><text x="' + (L - 4) + '" y="' + (y + 4) + '" text-anchor="end">' + esc(yfmt(t)) + '</text>'; }
  s += '<text x="' + ((L + W - R) / 2) + '" y="' + (H - 2) + '" text-anchor="middle">' + esc(xlabel) + '</text>';
  return s + '<line x1="' + L + '" x2="' + L + '" y1="' + T + '" y2="' + (H - B) + '" stroke="#9aa3b2"/><line x1="' + L + '" x2="' + (W - R) + '" y1="' + (H - B) + '" y2="' + (H - B) + '" stroke="#9aa3b2"/>';
}
function drawCdf(vals) {
  if (!vals.length) return '<p class="empty">no measured pods yet</p>';
  const xmax = vals[vals.length - 1] * 1.05 || 1, n = vals.length;
  const px = (v) => L + (v / xmax) * (W - L - R), py = (p) => H - B - p * (H - T - B);
  let d = 'M' + px(0) + ' ' + py(0);
  vals.forEach((v, i) => { d += ' L' + px(v).toFixed(1) + ' ' + py(i / n).toFixed(1) + ' L' + px(v).toFixed(1) + ' ' + py((i + 1) / n).toFixed(1); });
  // The API's method (linear interpolation between closest ranks), so the marks match its figures.
  const q = (p) => { const h = (n - 1) * p, lo = Math.floor(h); return vals[lo] + (h - lo) * ((vals[Math.min(n - 1, lo + 1)]) - vals[lo]); };
  let marks = '';
  for (const [p, c] of [[0.5, '#1a7f37'], [0.9, '#b26a00'], [0.99, '#c62828']]) { const x = px(q(p)); marks += '<line x1="' + x + '" x2="' + x + '" y1="' + T + '" y2="' + (H - B) + '" stroke="' + c + '" stroke-dasharray="3 3"/>'; }
  return '<svg viewBox="0 0 ' + W + ' ' + H + '" role="img" aria-label="CDF">' + axes(xmax, 1, (t) => Math.round(t * 100) + '%', 'latency') + marks +
    '<path id="cdf-path" data-points="' + n + '" d="' + d + '" fill="none" stroke="var(--a)" stroke-width="2"/></svg>' +
    '<div class="legend">n = ' + n + ' · p50 ' + fmtMs(q(0.5)) + ' · p90 ' + fmtMs(q(0.9)) + ' · p99 ' + fmtMs(q(0.99)) + ' (dashed; linear interpolation, as the API)</div>';
}
function drawHist(vals) {
  if (!vals.length) return '<p class="empty">no measured pods yet</p>';
  const max = vals[vals.length - 1] || 1, bins = Math.max(5, Math.min(40, Math.ceil(Math.sqrt(vals.length)) * 2));
  const width = max / bins, counts = new Array(bins).fill(0);
  for (const v of vals) counts[Math.min(bins - 1, Math.floor(v / width))]++;
  const ymax = Math.max(...counts), xmax = width * bins;
  let bars = '';
  counts.forEach((c, i) => { if (!c) return; const x = L + (i * width / xmax) * (W - L - R), w = Math.max(1, (width / xmax) * (W - L - R) - 1), h = (c / ymax) * (H - T - B);
    bars += '<rect class="bar" x="' + x.toFixed(1) + '" y="' + (H - B - h).toFixed(1) + '" width="' + w.toFixed(1) + '" height="' + h.toFixed(1) + '" fill="var(--b)"><title>' + esc(fmtMs(i * width) + '–' + fmtMs((i + 1) * width) + ': ' + c) + '</title></rect>'; });
  return '<svg viewBox="0 0 ' + W + ' ' + H + '" role="img" aria-label="histogram">' + axes(xmax, ymax, (t) => String(t), 'latency (bar height: pods)', true) + bars + '</svg>' +
    '<div class="legend">' + bins + ' bins of ' + fmtMs(width) + '</div>';
}
function table(rows, cols, empty) {
  if (!rows.length) return '<p class="empty">' + esc(empty) + '</p>';
  return '<table><thead><tr>' + cols.map((c) => '<th>' + esc(c[0]) + '</th>').join('') + '</tr></thead><tbody>' +
    rows.map((r) => '<tr>' + cols.map((c) => '<td' + (c[2] ? ' class="num"' : '') + '>' + esc(c[1](r)) + '</td>').join('') + '</tr>').join('') + '</tbody></table>';
}
function card(id, value, label, cls) { $(id).innerHTML = '<b class="' + (cls || '') + '">' + esc(value) + '</b><span>' + esc(label) + '</span>'; }

function renderCharts() {
  const sel = $('series'), list = seriesList();
  const want = list.some(([k]) => k === state.series) ? state.series : list[0][0];
  sel.innerHTML = list.map(([k, l]) => '<option value="' + esc(k) + '"' + (k === want ? ' selected' : '') + '>' + esc(l) + '</option>').join('');
  state.series = want;
  const vals = valuesOf(want);
  $('cdf').innerHTML = drawCdf(vals);
  $('hist').innerHTML = drawHist(vals);
}

async function refresh() {
  try {
    const [dp, st, health, pol] = await Promise.all([
      get('api/v1/time-to-datapath-ready', { topN: '10' }).then((r) => r.json()),
      get('api/v1/time-to-start', { topN: '10' }).then((r) => r.json()),
      get('api/v1/pod-health', { topN: '25' }).then((r) => r.json()),
      get('api/v1/time-to-policy-enforced', { topN: '0' }).then((r) => r.json()),
    ]);
    // Every fetch first, then one synchronous render: a panel drawn before the results' fetch
    // and one after it would disagree for a round trip (10 pods pending in a card, none in the
    // stuck list: the live page test once read the page in between).
    const stamp = [dp.count, dp.totalFailed, st.count, st.totalFailed, dp.pending, pol.count, pol.totalFailed].join('/');
    const records = stamp === state.stamp ? state.records
      : (await (await get('api/v1/results', { format: 'ndjson' })).text()).split('\\n').filter(Boolean).map((l) => JSON.parse(l));
    state.records = records;
    state.stamp = stamp;
    $('auth').style.display = 'none';
    card('c-ready', dp.count, 'datapath ready', 'ok');
    card('c-pending', dp.pending, 'pending now', dp.pending ? 'warn' : '');
    card('c-failed', dp.totalFailed, 'failed or timed out', dp.totalFailed ? 'bad' : '');
    card('c-p50', fmtMs(dp.count ? dp.p50 : null), 'datapath p50');
    card('c-p99', fmtMs(dp.count ? dp.p99 : null), 'datapath p99');
    card('c-start', fmtMs(st.count ? st.p50 : null), 'start p50');
    // Shown only where some pod had deny targets: the others were never asked.
    const policyOn = pol.count + pol.totalFailed > 0;
    $('c-policy').hidden = !policyOn;
    if (policyOn) card('c-policy', fmtMs(pol.count ? pol.p50 : null), 'policy enforced p50 (' + pol.totalFailed + ' not)', pol.totalFailed ? 'warn' : '');
    renderCharts();
    $('worst').innerHTML = table(dp.worstPods, [['pod', (p) => p.namespace + '/' + p.name], ['node', (p) => p.nodeName || ''], ['datapath ready', (p) => fmtMs(p.value), 1]], 'no measured pods yet');
    $('failed').innerHTML = table(dp.failedPods, [['pod', (p) => p.namespace + '/' + p.name], ['reason', (p) => p.reason || p.outcome || ''], ['message', (p) => p.message || '']], 'no failures');
    const now = Date.now();
    $('stuck').innerHTML = table(health.datapathPendingPodList || [], [['pod', (p) => p.namespace + '/' + p.name], ['waiting', (p) => p.createdAt ? fmtMs(now - Date.parse(p.createdAt)) : '', 1],
      ['phase', (p) => p.phase], ['node', (p) => p.nodeName || ''], ['reason', (p) => p.reason || ''], ['message', (p) => p.message || '']], 'no pod waiting for its datapath');
    $('stuck-count').textContent = '(' + (health.pending || 0) + ' without a datapath outcome, oldest first)';
    $('status').textContent = 'updated ' + new Date().toLocaleTimeString() + ' · ' + state.records.length + ' results';
  } catch (err) {
    if (err.auth) { $('auth').style.display = 'block'; $('status').textContent = 'a token is required'; }
    else $('status').textContent = 'error: ' + err.message + ' (retrying)';
  }
}
$('series').addEventListener('change', (e) => { state.series = e.target.value; renderCharts(); });
$('save-token').addEventListener('click', () => { state.token = $('token').value.trim(); sessionStorage.setItem('dpready-token', state.token); state.stamp = ''; refresh(); });
for (const k of ['namespace', 'labelSelector']) $(k).addEventListener('change', () => { state.stamp = ''; refresh(); });
refresh();
setInterval(refresh, 2000);
`;

const sha256 = (s: string) => `'sha256-${createHash('sha256').update(s, 'utf8').digest('base64')}'`;

/** No CDN, nothing inline but these two blocks, data only from this origin. */
export const PAGE_CSP = [
  "default-src 'none'", `script-src ${sha256(SCRIPT)}`, `style-src ${sha256(STYLE)}`, "connect-src 'self'", "img-src 'self' data:",
  "base-uri 'none'", "form-action 'none'", "frame-ancestors 'none'",
].join('; ');

export const PAGE_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>dpready · live</title><style>${STYLE}</style></head>
<body>
<header><h1>dpready · live</h1>
<label>namespace <input id="namespace" size="14" placeholder="all"></label>
<label>label selector <input id="labelSelector" size="22" placeholder="app=web"></label>
<label>series <select id="series"></select></label>
<span id="status">loading…</span></header>
<main>
<section id="auth"><h2>This controller requires a token</h2>
<input id="token" type="password" size="40" placeholder="bearer token"> <button id="save-token">Use token</button>
<p class="legend">Kept in this tab only (sessionStorage). You can also open the page as …/#token=&lt;token&gt;.</p></section>
<div class="cards"><div class="card" id="c-ready"></div><div class="card" id="c-pending"></div><div class="card" id="c-failed"></div>
<div class="card" id="c-p50"></div><div class="card" id="c-p99"></div><div class="card" id="c-start"></div><div class="card" id="c-policy" hidden></div></div>
<section><h2>Cumulative distribution</h2><div id="cdf"></div></section>
<section><h2>Histogram</h2><div id="hist"></div></section>
<section><h2>Worst pods (time to datapath ready)</h2><div id="worst"></div></section>
<section><h2>Failures, with reasons</h2><div id="failed"></div></section>
<section style="grid-column:1/-1"><h2>Pods stuck now <span id="stuck-count" class="legend"></span></h2><div id="stuck"></div></section>
</main>
<script>${SCRIPT}</script>
</body></html>
`;
