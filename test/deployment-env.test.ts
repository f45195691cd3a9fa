// The benchmark runs the controller as a plain process with the manifest's NODE_OPTIONS: a heap
// given as a share of the memory limit becomes the same heap in MiB (a plain process has no limit).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { deploymentNodeOptions, describeRuntimeEnv, heapForLimit } from '../bench/deployment-env.ts';

test('a heap share of the memory limit becomes MiB for a process run outside the container', () => {
  assert.equal(heapForLimit('--max-old-space-size-percentage=75 --max-semi-space-size=8', '512Mi'), '--max-old-space-size=384 --max-semi-space-size=8');
  assert.equal(heapForLimit('--max-old-space-size-percentage=50', '1Gi'), '--max-old-space-size=512');
  assert.equal(heapForLimit('--max-semi-space-size=8', '512Mi'), '--max-semi-space-size=8');
  assert.equal(heapForLimit('--max-old-space-size-percentage=75', undefined), '--max-old-space-size-percentage=75');
});

test('the manifest\'s controller gets 384 MiB of old space from its 512Mi limit, as before, and its malloc arena cap', () => {
  assert.deepEqual(deploymentNodeOptions(), { NODE_OPTIONS: '--max-old-space-size=384 --max-semi-space-size=8', MALLOC_ARENA_MAX: '2' });
  assert.equal(describeRuntimeEnv(deploymentNodeOptions()), 'MALLOC_ARENA_MAX=2 --max-old-space-size=384 --max-semi-space-size=8');
  assert.equal(describeRuntimeEnv({ NODE_OPTIONS: '--max-old-space-size=384' }), '--max-old-space-size=384');
});
