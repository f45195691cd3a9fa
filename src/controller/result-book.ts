// What the controller knows it has recorded, per pod UID: enough to skip a write that would
// change nothing and to garbage-collect by age, without holding whole result objects.
// Fed by the DatapathResult watch (so it is right after a restart and on every replica)
// and by the controller's own successful writes.
import type { DatapathResultSpec } from '../contract.ts';
import { outcomeFingerprint } from './result-spec.ts';

export interface BookEntry { fingerprint: string; namespace: string; podName: string; recordedAtMs: number }

export class ResultBook {
  private readonly entries = new Map<string, BookEntry>();

  get size(): number { return this.entries.size; }
  get(uid: string): BookEntry | undefined { return this.entries.get(uid); }
  set(uid: string, entry: BookEntry): void { this.entries.set(uid, entry); }
  delete(uid: string): void { this.entries.delete(uid); }
  entriesOlderThan(cutoffMs: number): Array<[string, BookEntry]> {
    return [...this.entries].filter(([, e]) => e.recordedAtMs < cutoffMs);
  }

  /**
   * From a DatapathResult object as listed or watched; ignores objects that are not ours. The
   * entry's namespace is the pod's (results live apart from their pods, in the results namespace).
   */
  observe(spec: DatapathResultSpec | undefined, namespace: string): void {
    if (!spec?.podRef?.uid || !spec.timestamps) return;
    const recordedAtMs = Date.parse(spec.timestamps.recordedAt ?? '');
    this.entries.set(spec.podRef.uid, {
      fingerprint: outcomeFingerprint(spec), namespace: spec.podRef.namespace || namespace, podName: spec.podRef.name ?? '',
      recordedAtMs: Number.isFinite(recordedAtMs) ? recordedAtMs : 0,
    });
  }

  replace(objs: Array<{ spec?: DatapathResultSpec; metadata?: { namespace?: string } }>): void {
    this.entries.clear();
    for (const o of objs) this.observe(o.spec, o.metadata?.namespace ?? '');
  }
}
