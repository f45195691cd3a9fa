// List+watch that never gives up. client-node's informer stops for good on any watch error
// other than 410 and keeps whole objects; this one re-watches from the last resourceVersion
// after any error (with capped backoff), relists only when the server says the version is
// gone, and hands objects to callbacks that keep just what they need.
import { Watch, type KubeConfig } from '@kubernetes/client-node';
import { describeKubeError } from '../kube/request-options.ts';
import { backoffDelay } from '../backoff.ts';
import type { Clock } from './clock.ts';

export interface ListPage {
  items: unknown[];
  resourceVersion: string;
  continue?: string;
}

export interface ReflectorOptions {
  /** For logs and metrics: "pods", "datapathresults". */
  name: string;
  kubeConfig: KubeConfig;
  list(page: { limit: number; continue?: string }): Promise<ListPage>;
  /** API path to watch, e.g. /api/v1/pods or /api/v1/namespaces/x/pods. */
  watchPath: string;
  /** Extra query parameters (labelSelector …) shared by list and watch. */
  watchParams?: Record<string, string | undefined>;
  /** A full list replaced what we knew: objects missing from it are gone. */
  onReplace(items: unknown[]): void;
  onEvent(type: 'ADDED' | 'MODIFIED' | 'DELETED', obj: unknown): void;
  clock: Clock;
  log: { info(o: object, msg: string): void; warn(o: object, msg: string): void };
  onRestart?: (reason: string) => void;
  /** Added to the log when the resource is not served (404), e.g. "is the CRD installed?". */
  notFoundHint?: string;
  pageSize?: number;
  maxBackoffMs?: number;
}

class Gone extends Error {}

function statusCode(err: unknown): number | undefined {
  const e = err as { statusCode?: number; code?: number } | undefined;
  return e?.statusCode ?? e?.code;
}

export class Reflector {
  private synced = false;
  private syncWaiters: Array<() => void> = [];
  private stopped = false;
  private currentWatch?: AbortController;
  private sleepWake?: () => void;

  constructor(private readonly opts: ReflectorOptions) {}

  get hasSynced(): boolean { return this.synced; }

  /** Resolves after the first complete list has been handed over. */
  waitForSync(): Promise<void> {
    if (this.synced) return Promise.resolve();
    return new Promise((resolve) => this.syncWaiters.push(resolve));
  }

  stop(): void {
    this.stopped = true;
    this.currentWatch?.abort();
    this.sleepWake?.();
  }

  /** Runs until stop(). Never rejects: every failure is logged, backed off and retried. */
  async run(): Promise<void> {
    let failures = 0;
    let rv: string | undefined;
    while (!this.stopped) {
      try {
        if (rv === undefined) {
          rv = await this.listAll();
          if (!this.synced) {
            this.synced = true;
            for (const w of this.syncWaiters.splice(0)) w();
          }
        }
        rv = await this.watchOnce(rv);
        failures = 0;
      } catch (err) {
        if (this.stopped) break;
        if (err instanceof Gone) {
          this.opts.log.info({ resource: this.opts.name }, 'resourceVersion expired; relisting');
          this.opts.onRestart?.('expired');
          rv = undefined;
          continue;
        }
        const delay = backoffDelay(++failures, { baseMs: 250, capMs: this.opts.maxBackoffMs ?? 30_000 });
        const hint = statusCode(err) === 404 ? this.opts.notFoundHint : undefined;
        this.opts.log.warn({ resource: this.opts.name, err: describeKubeError(err), retryInMs: delay, ...(hint ? { hint } : {}) },
          'list/watch failed; retrying');
        this.opts.onRestart?.('error');
        await this.sleep(delay);
      }
    }
  }

  private async listAll(): Promise<string> {
    const items: unknown[] = [];
    let cont: string | undefined;
    let rv = '';
    do {
      let page: ListPage;
      try {
        page = await this.opts.list({ limit: this.opts.pageSize ?? 500, continue: cont });
      } catch (err) {
        // An expired continue token: start the list over rather than fail.
        if (statusCode(err) === 410 && cont) { items.length = 0; cont = undefined; continue; }
        throw err;
      }
      items.push(...page.items);
      rv = page.resourceVersion;
      cont = page.continue || undefined;
    } while (cont && !this.stopped);
    this.opts.onReplace(items);
    return rv;
  }

  /** Watches from rv until the server closes the stream; returns the last resourceVersion seen. */
  private watchOnce(rv: string): Promise<string> {
    return new Promise<string>((resolve, reject) => {
      let last = rv;
      let gone = false;
      const watch = new Watch(this.opts.kubeConfig);
      // Its timer is an inactivity timeout; the API server sends bookmarks about once a
      // minute, so a quiet but healthy watch must be allowed longer than that.
      (watch as unknown as { requestTimeoutMs: number }).requestTimeoutMs = 75_000; // private in the typings, public in JS
      const params = {
        ...this.opts.watchParams,
        resourceVersion: rv,
        allowWatchBookmarks: 'true',
        // Ends each watch after 5–10 min so connections rebalance across API servers.
        timeoutSeconds: String(300 + Math.floor(Math.random() * 300)),
      };
      watch.watch(this.opts.watchPath, params, (type: string, obj: { metadata?: { resourceVersion?: string }; code?: number }) => {
        if (type === 'ERROR') {
          if (obj?.code === 410) gone = true;
          else this.opts.log.warn({ resource: this.opts.name, status: obj }, 'watch error event');
          this.currentWatch?.abort();
          return;
        }
        const next = obj?.metadata?.resourceVersion;
        if (next) last = next;
        if (type === 'BOOKMARK') return;
        if (type === 'ADDED' || type === 'MODIFIED' || type === 'DELETED') this.opts.onEvent(type, obj);
      }, (err: unknown) => {
        this.currentWatch = undefined;
        if (gone || statusCode(err) === 410) reject(new Gone());
        // Our own abort (ERROR event, stop) and the inactivity timeout end a watch normally:
        // the loop re-watches from the last resourceVersion.
        else if (err && !this.stopped && !['AbortError', 'TimeoutError'].includes((err as { name?: string }).name ?? '')) reject(err);
        else resolve(last);
      }).then((ctl) => {
        this.currentWatch = ctl;
        if (this.stopped) ctl.abort();
      }, reject);
    });
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const handle = this.opts.clock.setTimeout(() => { this.sleepWake = undefined; resolve(); }, ms);
      this.sleepWake = () => { this.opts.clock.clearTimeout(handle); resolve(); };
    });
  }
}
