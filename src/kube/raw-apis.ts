// The few typed calls the controller makes (DatapathResults, Events, the leader Lease, one pod
// read), with client-node's method names and parameter objects, as plain JSON requests
// (raw-request.ts). The callers keep the typed APIs' shape, so their tests' fakes still fit,
// and the controller never loads client-node's generated APIs (about 80 MiB of a process).
import type { CoordinationV1Api, CoreV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import { callTimeout } from './request-options.ts';
import type { RawRequest } from './raw-request.ts';

const seg = encodeURIComponent;
const DEFAULT_TIMEOUT_MS = 10_000;

type CustomRef = { group: string; version: string; namespace: string; plural: string };
const customPath = (r: CustomRef) => `/apis/${seg(r.group)}/${seg(r.version)}/namespaces/${seg(r.namespace)}/${seg(r.plural)}`;

export type CustomObjects = Pick<CustomObjectsApi, 'createNamespacedCustomObject' | 'getNamespacedCustomObject' | 'replaceNamespacedCustomObject' | 'deleteNamespacedCustomObject' | 'listNamespacedCustomObject'>;

export function rawCustomObjects(raw: RawRequest): CustomObjects {
  const api = {
    createNamespacedCustomObject: (r: CustomRef & { body: object }, opts?: unknown) =>
      raw('POST', customPath(r), { body: r.body, timeoutMs: callTimeout(opts, DEFAULT_TIMEOUT_MS) }),
    getNamespacedCustomObject: (r: CustomRef & { name: string }, opts?: unknown) =>
      raw('GET', `${customPath(r)}/${seg(r.name)}`, { timeoutMs: callTimeout(opts, DEFAULT_TIMEOUT_MS) }),
    replaceNamespacedCustomObject: (r: CustomRef & { name: string; body: object }, opts?: unknown) =>
      raw('PUT', `${customPath(r)}/${seg(r.name)}`, { body: r.body, timeoutMs: callTimeout(opts, DEFAULT_TIMEOUT_MS) }),
    deleteNamespacedCustomObject: (r: CustomRef & { name: string }, opts?: unknown) =>
      raw('DELETE', `${customPath(r)}/${seg(r.name)}`, { timeoutMs: callTimeout(opts, DEFAULT_TIMEOUT_MS) }),
    listNamespacedCustomObject: (r: CustomRef & { limit?: number; _continue?: string; labelSelector?: string }, opts?: unknown) =>
      raw('GET', customPath(r), { query: { limit: r.limit, continue: r._continue, labelSelector: r.labelSelector }, timeoutMs: callTimeout(opts, 60_000) }),
  };
  return api as unknown as CustomObjects;
}

export type CoreCalls = Pick<CoreV1Api, 'createNamespacedEvent' | 'readNamespacedPod'>;

export function rawCore(raw: RawRequest): CoreCalls {
  const api = {
    createNamespacedEvent: (r: { namespace: string; body: object }, opts?: unknown) =>
      raw('POST', `/api/v1/namespaces/${seg(r.namespace)}/events`, { body: r.body, timeoutMs: callTimeout(opts, DEFAULT_TIMEOUT_MS), discardBody: true }),
    readNamespacedPod: (r: { namespace: string; name: string }, opts?: unknown) =>
      raw('GET', `/api/v1/namespaces/${seg(r.namespace)}/pods/${seg(r.name)}`, { timeoutMs: callTimeout(opts, DEFAULT_TIMEOUT_MS) }),
  };
  return api as unknown as CoreCalls;
}

export type LeaseCalls = Pick<CoordinationV1Api, 'readNamespacedLease' | 'createNamespacedLease' | 'replaceNamespacedLease'>;

export function rawCoordination(raw: RawRequest): LeaseCalls {
  const path = (ns: string) => `/apis/coordination.k8s.io/v1/namespaces/${seg(ns)}/leases`;
  const api = {
    readNamespacedLease: (r: { namespace: string; name: string }, opts?: unknown) =>
      raw('GET', `${path(r.namespace)}/${seg(r.name)}`, { timeoutMs: callTimeout(opts, DEFAULT_TIMEOUT_MS) }),
    createNamespacedLease: (r: { namespace: string; body: object }, opts?: unknown) =>
      raw('POST', path(r.namespace), { body: r.body, timeoutMs: callTimeout(opts, DEFAULT_TIMEOUT_MS) }),
    replaceNamespacedLease: (r: { namespace: string; name: string; body: object }, opts?: unknown) =>
      raw('PUT', `${path(r.namespace)}/${seg(r.name)}`, { body: r.body, timeoutMs: callTimeout(opts, DEFAULT_TIMEOUT_MS) }),
  };
  return api as unknown as LeaseCalls;
}
