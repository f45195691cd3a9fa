// The dashboard and the alerts against what the controller really exports: every metric a
// query names must exist in the controller's registry (core, webhook and stats API metrics,
// plus the standard process_* and nodejs_* ones), so a renamed metric breaks this test, not a
// dashboard in production. And the metric conventions of docs/observability.md hold.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { parse } from 'yaml';
import { buildApp } from '../src/api/app.ts';
import { ResultIndex } from '../src/api/result-index.ts';
import { LATENCY_BUCKETS, createMetrics } from '../src/controller/metrics.ts';
import { webhookMetrics } from '../src/webhook/server.ts';

const DASHBOARD = new URL('../charts/dpready/files/dashboard.json', import.meta.url);
const ALERTS = new URL('../charts/dpready/files/alerts.yaml', import.meta.url);

async function exported(): Promise<Map<string, string>> {
  const m = createMetrics({ pendingPods: () => 0, queueDepth: () => 0 });
  webhookMetrics(m.registry);
  const app = await buildApp({ results: new ResultIndex(), pods: { snapshot: () => [] }, registry: m.registry, isReady: () => true });
  await app.close();
  return new Map((await m.registry.getMetricsAsJSON()).map((x) => [x.name, String(x.type)]));
}

const KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'or', 'and', 'unless', 'offset', 'bool', 'le', 'inf']);

/** Metric names in a PromQL expression: identifiers that are not functions, keywords, labels or strings. */
export function metricsIn(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\b(by|without|on|ignoring)\s*\([^)]*\)/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\$\{?\w+\}?/g, ' ')
    .replace(/(?<![\w:])\d+(\.\d+)?(e[-+]?\d+)?/gi, ' ');
  const names = [...stripped.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*\b(?!\s*\()/g)].map((m) => m[0]);
  return [...new Set(names.filter((n) => !KEYWORDS.has(n.toLowerCase()) && !/^\d/.test(n) && !/^e\d+$/.test(n)))];
}

function known(name: string, metrics: Map<string, string>): boolean {
  if (metrics.has(name)) return true;
  const base = name.replace(/_(bucket|sum|count)$/, '');
  return base !== name && metrics.get(base) === 'histogram';
}

describe('dashboards and alerts name only exported metrics', () => {
  test('every query of the Grafana dashboard', async () => {
    const metrics = await exported();
    const dash = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as { panels: Array<{ title: string; targets?: Array<{ expr: string }> }> };
    const exprs = dash.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, expr: t.expr })));
    assert.ok(exprs.length >= 20, `${exprs.length} queries`);
    for (const { panel, expr } of exprs) {
      const names = metricsIn(expr);
      assert.ok(names.length > 0, `${panel}: no metric found in ${expr}`);
      for (const n of names) assert.ok(known(n, metrics), `${panel}: ${n} is not exported (query: ${expr})`);
    }
  });

  test('every dpready histogram is charted: a figure the controller measures has a panel', async () => {
    const metrics = await exported();
    const dash = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as { panels: Array<{ targets?: Array<{ expr: string }> }> };
    const charted = new Set(dash.panels.flatMap((p) => (p.targets ?? []).flatMap((t) => metricsIn(t.expr).map((n) => n.replace(/_(bucket|sum|count)$/, '')))));
    const histograms = [...metrics].filter(([name, type]) => type === 'histogram' && name.startsWith('dpready_')).map(([name]) => name);
    assert.ok(histograms.includes('dpready_ready_without_datapath_seconds'), histograms.join(', '));
    assert.deepEqual(histograms.filter((h) => !charted.has(h)), []);
  });

  test('every PrometheusRule expression, and the five alerts the issue asks for', async () => {
    const metrics = await exported();
    const rules = (parse(readFileSync(ALERTS, 'utf8')) as { groups: Array<{ rules: Array<{ alert: string; expr: string }> }> }).groups.flatMap((g) => g.rules);
    assert.deepEqual(rules.map((r) => r.alert).sort(), ['DpreadyGateStuck', 'DpreadyInjectionFailures', 'DpreadyNoLeader', 'DpreadyPatchErrors', 'DpreadyTimeoutRateHigh']);
    for (const r of rules) {
      const names = metricsIn(r.expr);
      assert.ok(names.length > 0, `${r.alert}: no metric`);
      for (const n of names) assert.ok(known(n, metrics), `${r.alert}: ${n} is not exported`);
    }
  });

  test('the check itself catches a metric that does not exist', async () => {
    const metrics = await exported();
    assert.deepEqual(metricsIn('sum by (le) (rate(dpready_time_to_start_seconds_bucket{job=~"$job",le="1"}[5m])) > 0.5 or absent(dpready_is_leader)'),
      ['dpready_time_to_start_seconds_bucket', 'dpready_is_leader']);
    assert.equal(known('dpready_time_to_start_seconds_bucket', metrics), true);
    assert.equal(known('dpready_api_writes_total', metrics), false);
    assert.equal(known('dpready_is_leader_bucket', metrics), false);
  });
});

describe('metric conventions', () => {
  test('standard process and Node.js names; Kubernetes API and stats API metrics apart; the work histograms', async () => {
    const metrics = await exported();
    for (const n of ['process_cpu_seconds_total', 'process_resident_memory_bytes', 'nodejs_heap_size_used_bytes', 'nodejs_eventloop_lag_p99_seconds']) assert.ok(metrics.has(n), n);
    assert.equal([...metrics.keys()].filter((n) => /^dpready_(process|nodejs)_/.test(n)).length, 0);
    assert.equal([...metrics.keys()].filter((n) => n.startsWith('dpready_api_')).length, 0, 'no ambiguous dpready_api_* names');
    for (const n of ['dpready_kube_api_writes_total', 'dpready_kube_api_write_errors_total']) assert.equal(metrics.get(n), 'counter', n);
    assert.equal(metrics.get('dpready_stats_api_request_duration_seconds'), 'histogram');
    assert.equal(metrics.get('dpready_workqueue_wait_seconds'), 'histogram');
    assert.equal(metrics.get('dpready_reconcile_duration_seconds'), 'histogram');
  });

  test('the gate latency reaches 10 minutes (a burst\'s p99 is seconds), and ready-without-datapath has its histogram', async () => {
    const m = createMetrics({ pendingPods: () => 0, queueDepth: () => 0, defaultMetrics: false });
    const bounds = async (name: string) => {
      const h = (await m.registry.getMetricsAsJSON()).find((x) => x.name === name)!;
      return [...new Set((h.values as Array<{ labels: { le?: number | string } }>).map((v) => v.labels.le).filter((le) => typeof le === 'number'))] as number[];
    };
    assert.ok((await bounds('dpready_gate_latency_seconds')).at(-1)! >= 600);
    m.readyWithoutDatapath.observe(2.5);
    const rwd = await bounds('dpready_ready_without_datapath_seconds');
    assert.equal(rwd[0], 0, 'le=0 counts pods whose datapath worked before their containers were ready');
    assert.equal(rwd.at(-1), 600);
  });

  test('dpready_build_info{version,revision} is 1', async () => {
    const m = createMetrics({ pendingPods: () => 0, queueDepth: () => 0, defaultMetrics: false, build: { version: '9.9.9', revision: 'abc123' } });
    assert.match(await m.registry.metrics(), /^dpready_build_info\{version="9\.9\.9",revision="abc123"\} 1$/m);
    const defaults = createMetrics({ pendingPods: () => 0, queueDepth: () => 0, defaultMetrics: false });
    assert.match(await defaults.registry.metrics(), /^dpready_build_info\{version="\d+\.\d+\.\d+",revision="[^"]+"\} 1$/m);
  });

  test('latency buckets reach 10 minutes and are dense between 1 and 10 s', () => {
    assert.equal(LATENCY_BUCKETS.at(-1), 600);
    assert.ok(LATENCY_BUCKETS[0]! <= 0.05);
    assert.ok(LATENCY_BUCKETS.filter((b) => b >= 1 && b <= 10).length >= 12, 'at least 12 bounds in [1 s, 10 s]');
    assert.deepEqual([...LATENCY_BUCKETS].sort((a, b) => a - b), LATENCY_BUCKETS);
  });
});
