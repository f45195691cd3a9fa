import assert from 'node:assert/strict';
import { test } from 'node:test';
import { gatedPodSpec } from '../../src/devcluster/demo-workload.ts';
import { reporterSecurityContext } from '../../src/webhook/inject.ts';

test('the demo workload\'s reporter runs as the webhook injects it: the restricted Pod Security level', () => {
  const reporter = gatedPodSpec('http://10.96.0.10/healthz').initContainers![0]!;
  assert.deepEqual(reporter.securityContext, {
    allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, runAsNonRoot: true, runAsUser: 65532, runAsGroup: 65532,
    capabilities: { drop: ['ALL'] }, seccompProfile: { type: 'RuntimeDefault' },
  });
  // One pod spec changed later (a test giving its reporter another user) changes no other.
  reporter.securityContext!.runAsUser = 0;
  reporter.securityContext!.capabilities!.drop!.pop();
  assert.equal(gatedPodSpec('http://10.96.0.10/healthz').initContainers![0]!.securityContext!.runAsUser, 65532);
  assert.deepEqual(reporterSecurityContext().capabilities, { drop: ['ALL'] });
});
