// The live page in headless Chromium against the real controller and its stats API (with a
// bearer token), during a rollout on the local control plane: a gated Deployment whose pods
// report one after another (annotations written as their reporters would), one reporter that
// gives up, and one pod that never reports. The test reads what a person sees: the counters
// moving without a reload, the CDF and histogram of the measured pods, per-phase series, the
// slowest pod, the failure with its reason, and the pod still waiting.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as k8s from '@kubernetes/client-node';
import {
  ANNOTATION_DP_READY, ANNOTATION_FAILURE, ANNOTATION_PROBE, ANNOTATION_START, CONDITION_TYPE, GROUP, PLURAL, VERSION,
  type DatapathResultSpec,
} from '../../src/contract.ts';
import { ResultIndex } from '../../src/api/result-index.ts';
import { callOptions } from '../../src/kube/request-options.ts';
import { startApiServer, type ApiServer } from '../../src/api/server.ts';
import { indexListener } from '../../src/controller/main.ts';
import { podSource } from '../../src/controller/pod-views.ts';
import { Controller } from '../../src/controller/controller.ts';
import { CHROMIUM, launchChromium, type Browser, type Page } from '../support/chromium.ts';
import { core, custom, eventually, installCrd, uniqueName, useControlPlane } from '../support/cluster.ts';
import { settings, testLog } from '../support/controller.ts';
import { tempDir } from '../support/temp-dir.ts';

const cluster = useControlPlane({ nodes: 1 });
const TOKEN = 'page-test-token-1234';
const REPLICAS = 10;
const SCREENSHOT = process.env.DPREADY_PAGE_SCREENSHOT;

// Under CI chromium is installed by node-packages.sh: there a missing browser fails the suite (launchChromium says why) instead of skipping it.
describe('live page in headless Chromium during a rollout', { concurrency: false, skip: CHROMIUM || process.env.CI === 'true' ? false : 'chromium not installed (run test/controlplane/node-packages.sh as root)' }, () => {
  let controller: Controller;
  let api: ApiServer;
  let browser: Browser;
  let page: Page;
  const ns = uniqueName('page');
  const dir = tempDir('page');

  before(async () => {
    const cp = cluster();
    await installCrd(cp);
    await cp.ensureNamespace(ns);
    controller = new Controller(cp.kubeConfig, settings({ pendingGraceMs: 100 }), testLog);
    const index = new ResultIndex();
    controller.addResultListener(indexListener(index, testLog));
    writeFileSync(join(dir, 'token'), `${TOKEN}\n`);
    api = await startApiServer({ listen: '127.0.0.1:0', tokenFile: join(dir, 'token'), results: index, pods: podSource(controller.store),
      registry: controller.metrics.registry, isReady: () => controller.synced });
    await controller.start();
    browser = await launchChromium();
  }, { timeout: 120_000 });

  after(async () => {
    await browser?.close();
    await api?.close();
    await controller?.stop();
  });

  const text = () => page.evaluate<string>('document.body.innerText');
  const card = (id: string) => page.evaluate<string>(`document.querySelector('#${id} b')?.textContent ?? ''`);

  test('without the token it asks for one; the page itself is open and loads nothing from elsewhere', async () => {
    page = await browser.open(`${api.url}/`);
    await eventually('token prompt', async () => (await page.evaluate<string>("getComputedStyle(document.getElementById('auth')).display")) === 'block', 10_000);
    assert.match(await text(), /requires a token/);
    const external = await page.evaluate<number>("[...document.querySelectorAll('script[src],link[href],img[src],iframe')].length");
    assert.equal(external, 0);
  });

  test('during the rollout the numbers move without a reload, and the page shows what happened', async () => {
    const cp = cluster();
    page = await browser.open(`${api.url}/#token=${TOKEN}`);
    const apps = cp.kubeConfig.makeApiClient(k8s.AppsV1Api);
    await apps.createNamespacedDeployment({ namespace: ns, body: {
      metadata: { name: 'web' },
      spec: { replicas: REPLICAS, selector: { matchLabels: { app: 'web' } }, template: {
        metadata: { labels: { app: 'web' } },
        spec: { readinessGates: [{ conditionType: CONDITION_TYPE }], containers: [{ name: 'app', image: 'registry.invalid/web:1' }] },
      } },
    } });
    const pods = await eventually('pods created', async () => {
      const l = await core(cp).listNamespacedPod({ namespace: ns, labelSelector: 'app=web' });
      return l.items.length === REPLICAS && l.items.sort((a, b) => a.metadata!.name!.localeCompare(b.metadata!.name!));
    }, 60_000);
    await eventually('pods listed as waiting', async () => Number(await card('c-pending')) === REPLICAS, 20_000);
    assert.match(await text(), /AwaitingReporter|Probing/);

    // Reporters: eight succeed one after another, one gives up, one never reports.
    const [failing, silent, ...ok] = pods;
    const seen: number[] = [];
    const report = async (p: k8s.V1Pod, body: Record<string, string>) =>
      core(cp).patchNamespacedPod({ namespace: ns, name: p.metadata!.name!, body: { metadata: { annotations: body } } },
        callOptions({ timeoutMs: 10_000, patch: k8s.PatchStrategy.MergePatch }));
    for (const p of ok) {
      const created = new Date(p.metadata!.creationTimestamp!).getTime();
      // As a reporter would: its container starts a second or so after the pod is created.
      const start = new Date(created + 1_000 + Math.round(Math.random() * 500)).toISOString();
      await report(p, { [ANNOTATION_START]: start, [ANNOTATION_DP_READY]: new Date().toISOString(),
        [ANNOTATION_PROBE]: JSON.stringify({ targets: ['tcp://backend:80'], attempts: 3 }) });
      seen.push(Number(await card('c-ready')));
      await new Promise((r) => setTimeout(r, 700));
    }
    await report(failing!, { [ANNOTATION_START]: new Date().toISOString(), [ANNOTATION_FAILURE]: JSON.stringify({
      reason: 'ProbeDeadline', message: 'no success within 5s from tcp://backend:80 after 40 attempts', ts: new Date().toISOString() }) });

    await eventually('every report shown', async () => Number(await card('c-ready')) === ok.length && Number(await card('c-failed')) === 1, 20_000);
    // Live: the counter was read mid-rollout and grew while the page stayed loaded.
    assert.ok(new Set(seen).size >= 3, `the count changed during the rollout without a reload: ${seen.join(', ')}`);
    assert.ok(seen[0]! < ok.length && seen.at(-1)! > seen[0]!, seen.join(', '));

    const view = await eventually('charts drawn', async () => {
      const v = await page.evaluate<{ points: number; bars: number; barTotal: number; series: string[] }>(`(() => {
        const path = document.getElementById('cdf-path');
        const bars = [...document.querySelectorAll('#hist rect.bar')];
        return { points: Number(path?.dataset.points ?? 0), bars: bars.length,
          barTotal: bars.reduce((s, b) => s + Number(b.querySelector('title').textContent.split(': ').pop()), 0),
          series: [...document.querySelectorAll('#series option')].map((o) => o.value) };
      })()`);
      return v.points === ok.length && v;
    }, 20_000);
    assert.equal(view.barTotal, ok.length, 'the histogram holds every measured pod');
    assert.ok(view.bars >= 1);
    assert.ok(view.series.includes('time-to-start'));
    assert.ok(view.series.some((s) => s.startsWith('phase:')), `per-phase series: ${view.series.join(', ')}`);

    const body = await text();
    // The slowest pod is the one whose recorded result has the largest time-to-datapath-ready.
    // Not simply the last to report: the ReplicaSet creates its pods in batches, and on a busy
    // machine a pod reported later can have been created later by more than the gap between
    // reports (CI failed on that once).
    const measured = await eventually('a result for every pod that reported success', async () => {
      // This controller keeps its results in `default` (it watches every namespace).
      const { items } = await custom(cp).listNamespacedCustomObject({ namespace: 'default', group: GROUP, version: VERSION, plural: PLURAL }) as { items: Array<{ spec: DatapathResultSpec }> };
      const withLatency = items.filter((r) => r.spec.podRef.namespace === ns && r.spec.metrics.latDpReadyMs !== undefined);
      return withLatency.length === ok.length && withLatency;
    }, 20_000);
    const slowest = measured.reduce((a, b) => (b.spec.metrics.latDpReadyMs! > a.spec.metrics.latDpReadyMs! ? b : a)).spec.podRef.name;
    // The failure carries its reason; the silent pod waits.
    const worst = await page.evaluate<string>("document.getElementById('worst').innerText");
    assert.match(worst.split('\n')[1] ?? '', new RegExp(slowest), worst);
    const failed = await page.evaluate<string>("document.getElementById('failed').innerText");
    assert.match(failed, new RegExp(`${failing!.metadata!.name}[\\s\\S]*ProbeDeadline[\\s\\S]*no success within 5s`));
    const stuck = await page.evaluate<string>("document.getElementById('stuck').innerText");
    assert.match(stuck, new RegExp(silent!.metadata!.name!));
    assert.doesNotMatch(stuck, new RegExp(slowest));
    assert.match(body, /datapath ready/);

    // A phase series redraws the charts from the same results.
    await page.evaluate(`(() => { const s = document.getElementById('series'); s.value = ${JSON.stringify(view.series.find((x) => x.startsWith('phase:')))}; s.dispatchEvent(new Event('change')); })()`);
    assert.ok(await page.evaluate<boolean>("!!document.getElementById('cdf-path') || !!document.querySelector('#cdf .empty')"));
    await page.evaluate("(() => { const s = document.getElementById('series'); s.value = 'time-to-datapath-ready'; s.dispatchEvent(new Event('change')); })()");
    const png = await page.screenshot();
    assert.ok(png.length > 10_000);
    writeFileSync(SCREENSHOT ?? join(dir, 'live-page.png'), png);
  });
});
