import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RESULT_LABEL_POD_NAMESPACE } from '../../src/contract.ts';
import { readyWithoutDatapathMs, resultLabels } from '../../src/controller/result-spec.ts';

test('a result carries its pod\'s labels and namespace as metadata.labels, for kubectl get dpr -l', () => {
  const labels = resultLabels({ labels: { app: 'web', 'pod-template-hash': '5d4f' }, podRef: { namespace: 'load-1', name: 'web-1', uid: 'u' } });
  assert.deepEqual(labels, { app: 'web', 'pod-template-hash': '5d4f', [RESULT_LABEL_POD_NAMESPACE]: 'load-1' });
  assert.equal(RESULT_LABEL_POD_NAMESPACE, 'perf.github.com/pod-namespace');
});

test('ready-without-datapath: ContainersReady seen → datapath seen, only with both instants', () => {
  const spec = (w: Record<string, string> | undefined) => ({ watchTimestamps: w }) as unknown as Parameters<typeof readyWithoutDatapathMs>[0];
  assert.equal(readyWithoutDatapathMs(spec({ containersReady: '2026-12-01T10:00:01.000Z', datapathReady: '2026-12-01T10:00:03.250Z' })), 2250);
  assert.equal(readyWithoutDatapathMs(spec({ containersReady: '2026-12-01T10:00:03.000Z', datapathReady: '2026-12-01T10:00:02.500Z' })), -500);
  assert.equal(readyWithoutDatapathMs(spec({ datapathReady: '2026-12-01T10:00:02.500Z' })), undefined);
  assert.equal(readyWithoutDatapathMs(spec(undefined)), undefined);
});
