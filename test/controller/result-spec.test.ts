import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RESULT_LABEL_POD_NAMESPACE } from '../../src/contract.ts';
import { resultLabels } from '../../src/controller/result-spec.ts';

test('a result carries its pod\'s labels and namespace as metadata.labels, for kubectl get dpr -l', () => {
  const labels = resultLabels({ labels: { app: 'web', 'pod-template-hash': '5d4f' }, podRef: { namespace: 'load-1', name: 'web-1', uid: 'u' } });
  assert.deepEqual(labels, { app: 'web', 'pod-template-hash': '5d4f', [RESULT_LABEL_POD_NAMESPACE]: 'load-1' });
  assert.equal(RESULT_LABEL_POD_NAMESPACE, 'perf.github.com/pod-namespace');
});
