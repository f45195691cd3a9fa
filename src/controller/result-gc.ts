// --result-ttl: deletes DatapathResults older than the TTL whose pod is gone. A live pod's
// result stays whatever its age: deleting it would only make the next resync record it again,
// and count it again in the metrics. Runs on the leader, from the manager's periodic tasks.
import { resultName } from '../contract.ts';
import { describeKubeError } from '../kube/request-options.ts';
import type { Clock } from './clock.ts';
import type { PodStore } from './pod-store.ts';
import type { ResultBook } from './result-book.ts';

export interface ResultCollectorOptions {
  store: PodStore;
  book: ResultBook;
  writer: { delete(namespace: string, name: string): Promise<void> };
  clock: Clock;
  ttlMs: number;
  mayWrite(): boolean;
  /**
   * Whether the pod still exists, asked of the API server. Needed with --label-selector: the
   * pod cache then holds only matching pods, and a pod whose labels changed is not in it.
   */
  podExists?: (namespace: string, name: string, uid: string) => Promise<boolean>;
  /** With shards, results of pods in other shards' namespaces are theirs to collect (shard.ts). */
  owns?: (namespace: string) => boolean;
  log: { info(o: object, msg: string): void; warn(o: object, msg: string): void };
}

export class ResultCollector {
  constructor(private readonly o: ResultCollectorOptions) {}

  /** Returns how many results were deleted. */
  async collect(): Promise<number> {
    const cutoff = this.o.clock.now() - this.o.ttlMs;
    let deleted = 0;
    for (const [uid, entry] of this.o.book.entriesOlderThan(cutoff)) {
      if (!this.o.mayWrite()) break;
      if (this.o.store.get(uid) || (this.o.owns && !this.o.owns(entry.namespace))) continue;
      const pod = `${entry.namespace}/${entry.podName}`;
      try {
        if (this.o.podExists && await this.o.podExists(entry.namespace, entry.podName, uid)) continue;
        await this.o.writer.delete(entry.namespace, resultName(uid));
        this.o.book.delete(uid);
        deleted++;
      } catch (err) {
        this.o.log.warn({ pod, uid, err: describeKubeError(err) }, 'could not delete an expired result; will try again');
      }
    }
    if (deleted) this.o.log.info({ deleted, ttlMs: this.o.ttlMs }, 'expired results of deleted pods deleted');
    return deleted;
  }
}
