// The leader Lease as the elector needs it: read it, create it, or replace it as a
// compare-and-swap on resourceVersion. One small interface, so the elector is tested against an
// in-memory lease with a fake clock, and against kube-apiserver through kubeLeaseStore().
import type { V1Lease } from '@kubernetes/client-node';
import type { LeaseCalls } from '../kube/raw-apis.ts';
import { callOptions, httpStatus } from '../kube/request-options.ts';

export interface LeaseRecord {
  holder: string;
  leaseDurationSeconds: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions: number;
  resourceVersion: string;
}

export interface LeaseStore {
  /** For logs: namespace/name. */
  readonly description: string;
  get(): Promise<LeaseRecord | undefined>;
  /** Rejects with an HTTP 409 error when the lease already exists. */
  create(record: Omit<LeaseRecord, 'resourceVersion'>): Promise<void>;
  /** Rejects with an HTTP 409 error when the lease changed since record.resourceVersion was read. */
  update(record: LeaseRecord): Promise<void>;
}

export function isConflict(err: unknown): boolean {
  return httpStatus(err) === 409;
}

/**
 * metav1.MicroTime wants exactly six fractional digits; client-node serialises Date with
 * three, which the API server rejects. Strings pass through its serializer untouched.
 */
function microTime(iso: string | undefined): Date | undefined {
  if (iso === undefined) return undefined;
  return new Date(iso).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z') as unknown as Date;
}

export function kubeLeaseStore(api: LeaseCalls, namespace: string, name: string, timeoutMs: number): LeaseStore {
  const opts = () => callOptions({ timeoutMs });
  const body = (r: Omit<LeaseRecord, 'resourceVersion'>, resourceVersion?: string): V1Lease => ({
    metadata: { name, namespace, ...(resourceVersion ? { resourceVersion } : {}) },
    spec: {
      holderIdentity: r.holder, leaseDurationSeconds: r.leaseDurationSeconds,
      acquireTime: microTime(r.acquireTime), renewTime: microTime(r.renewTime), leaseTransitions: r.leaseTransitions,
    },
  });
  return {
    description: `${namespace}/${name}`,
    async get() {
      let lease: V1Lease;
      try {
        lease = await api.readNamespacedLease({ name, namespace }, opts());
      } catch (err) {
        if (httpStatus(err) === 404) return undefined;
        throw err;
      }
      const s = lease.spec ?? {};
      const iso = (d: Date | undefined) => (d ? new Date(d).toISOString() : undefined);
      return {
        holder: s.holderIdentity ?? '', leaseDurationSeconds: s.leaseDurationSeconds ?? 0,
        acquireTime: iso(s.acquireTime), renewTime: iso(s.renewTime), leaseTransitions: s.leaseTransitions ?? 0,
        resourceVersion: lease.metadata?.resourceVersion ?? '',
      };
    },
    async create(r) {
      await api.createNamespacedLease({ namespace, body: body(r) }, opts());
    },
    async update(r) {
      // resourceVersion in the body makes this a compare-and-swap: two replicas cannot both win.
      await api.replaceNamespacedLease({ name, namespace, body: body(r, r.resourceVersion) }, opts());
    },
  };
}
