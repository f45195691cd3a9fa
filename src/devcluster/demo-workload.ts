// The gated workload of the demo and the end-to-end test: a Deployment whose pods list our
// condition in readinessGates and run the reporter as a native sidecar, rolled out with
// maxUnavailable 0 so an old pod goes only when a new one is Ready (datapath included).
import type { V1Deployment, V1PodSpec } from '@kubernetes/client-node';
import { CONDITION_TYPE } from '../contract.ts';
import { reporterSecurityContext } from '../webhook/inject.ts';

const REPORTER_SERVICE_ACCOUNT = 'dpready-reporter';

/** Images for a real node (KWOK runs nothing, so the defaults are never pulled there). */
export interface WorkloadImages {
  reporter: string;
  app: string;
  appArgs?: string[];
}
const DEFAULT_IMAGES: WorkloadImages = { reporter: 'ghcr.io/dpready/dpready:0.1.0', app: 'registry.k8s.io/pause:3.10' };

/** A pod spec gated on our condition, with the reporter as a native sidecar probing `target`. */
export function gatedPodSpec(target: string, env: Record<string, string> = {}, images: WorkloadImages = DEFAULT_IMAGES): V1PodSpec {
  return {
    serviceAccountName: REPORTER_SERVICE_ACCOUNT,
    readinessGates: [{ conditionType: CONDITION_TYPE }],
    initContainers: [{
      name: 'dpready-reporter', image: images.reporter, args: ['reporter'], restartPolicy: 'Always',
      env: [
        { name: 'MY_POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
        { name: 'MY_POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
        { name: 'PROBE_TARGET', value: target },
        ...Object.entries(env).map(([name, value]) => ({ name, value })),
      ],
      // What the webhook injects and the examples give: the restricted Pod Security level.
      securityContext: reporterSecurityContext(),
    }],
    containers: [{ name: 'app', image: images.app, ...(images.appArgs ? { args: images.appArgs } : {}) }],
  };
}

export function gatedDeployment(opts: {
  name: string; namespace: string; replicas: number; target: string; probeTimeout?: string;
  images?: WorkloadImages; env?: Record<string, string>;
}): V1Deployment {
  const labels = { app: opts.name };
  return {
    apiVersion: 'apps/v1', kind: 'Deployment',
    metadata: { name: opts.name, namespace: opts.namespace, labels },
    spec: {
      replicas: opts.replicas,
      selector: { matchLabels: labels },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
      template: {
        metadata: { labels },
        spec: gatedPodSpec(opts.target, { PROBE_TIMEOUT: opts.probeTimeout ?? '10m', ...opts.env }, opts.images),
      },
    },
  };
}
