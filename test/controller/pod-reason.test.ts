import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { V1ContainerStatus, V1Pod, V1PodCondition } from '@kubernetes/client-node';
import { podReason } from '../../src/controller/pod-reason.ts';
import { summarizePod } from '../../src/controller/pod-summary.ts';

function pod(status: { phase?: string; reason?: string; message?: string; conditions?: V1PodCondition[]; init?: V1ContainerStatus[]; containers?: V1ContainerStatus[] }): V1Pod {
  return {
    metadata: { name: 'p', namespace: 'ns', uid: 'u' },
    status: {
      phase: status.phase ?? 'Pending', reason: status.reason, message: status.message, conditions: status.conditions,
      initContainerStatuses: status.init, containerStatuses: status.containers,
    },
  };
}

const waiting = (name: string, reason: string, message?: string): V1ContainerStatus =>
  ({ name, image: 'x', imageID: '', ready: false, restartCount: 0, state: { waiting: { reason, message } } });

describe('podReason', () => {
  it('an unschedulable pod: the scheduler\'s reason and message', () => {
    const p = pod({ conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: '0/3 nodes are available: 3 node(s) didn\'t match Pod\'s node affinity/selector.' }] });
    assert.deepEqual(podReason(p), { reason: 'Unschedulable', message: '0/3 nodes are available: 3 node(s) didn\'t match Pod\'s node affinity/selector.' });
  });

  it('ImagePullBackOff and CrashLoopBackOff from container waiting states, naming the container', () => {
    assert.deepEqual(podReason(pod({ containers: [waiting('app', 'ImagePullBackOff', 'Back-off pulling image "nope:1"')] })),
      { reason: 'ImagePullBackOff', message: 'app: Back-off pulling image "nope:1"' });
    const crash = pod({ phase: 'Running', containers: [
      waiting('sidecar', 'ContainerCreating'),
      { ...waiting('app', 'CrashLoopBackOff', 'back-off 5m0s restarting failed container=app'), lastState: { terminated: { exitCode: 1, reason: 'Error' } } },
    ] });
    assert.deepEqual(podReason(crash), { reason: 'CrashLoopBackOff', message: 'app: back-off 5m0s restarting failed container=app' });
  });

  it('init containers come first, as the kubelet runs them', () => {
    const p = pod({ init: [waiting('init', 'ErrImagePull', 'not found')], containers: [waiting('app', 'PodInitializing')] });
    assert.deepEqual(podReason(p), { reason: 'ErrImagePull', message: 'init: not found' });
  });

  it('the pod\'s own reason, then a non-zero exit, then a routine wait', () => {
    assert.deepEqual(podReason(pod({ phase: 'Failed', reason: 'Evicted', message: 'The node was low on resource: memory.' })),
      { reason: 'Evicted', message: 'The node was low on resource: memory.' });
    const exited = pod({ phase: 'Failed', containers: [{ name: 'app', image: 'x', imageID: '', ready: false, restartCount: 0, state: { terminated: { exitCode: 137, reason: 'OOMKilled' } } }] });
    assert.deepEqual(podReason(exited), { reason: 'OOMKilled', message: 'container app exited with code 137' });
    assert.deepEqual(podReason(pod({ containers: [waiting('app', 'ContainerCreating')] })), { reason: 'ContainerCreating', message: 'container app' });
  });

  it('nothing to say for a healthy or a status-less pod', () => {
    assert.deepEqual(podReason(pod({ phase: 'Running', conditions: [{ type: 'PodScheduled', status: 'True' }], containers: [{ name: 'app', image: 'x', imageID: '', ready: true, restartCount: 0, state: { running: {} } }] })),
      { reason: '', message: '' });
    assert.deepEqual(podReason({ metadata: { name: 'p' } }), { reason: '', message: '' });
  });

  it('reaches the pod summary the controller keeps', () => {
    const s = summarizePod(pod({ containers: [waiting('app', 'ImagePullBackOff', 'x')] }));
    assert.deepEqual(s?.status, { reason: 'ImagePullBackOff', message: 'app: x' });
  });
});
