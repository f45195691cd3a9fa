// List+watch that never gives up. client-node's informer stops for good on any watch error
// other than 410 and keeps whole objects; this one re-watches from the last resourceVersion
// after any error, relists only when the server says the version is gone, and hands objects
// to callbacks that keep just what they need. As client-go's reflector: every failure (an HTTP
// or network error, an ERROR event, a watch closed within a second with nothing in it) waits a
// backoff that grows until two minutes pass without one, so a sick API server never sees a hot
// loop; a list is published only when complete; a watch silent past the inactivity limit (no
// event and no bookmark, which the API server sends about every minute) is re-opened.
import { describeKubeError, httpStatus } from '../kube/request-options.ts';
import { backoffDelay } from '../backoff.ts';
import type { Clock } from './clock.ts';

export interface ListPage {
  items: unknown[];
  resourceVersion: string;
  continue?: string;
}

/**
 * Opens one watch: calls onEvent for each event, resolves when the server ends the stream,
 * rejects (with statusCode for an HTTP error) when it fails. Aborting the signal ends it.
 */
export type WatchFn = (path: string, params: Record<string, string | undefined>,
  onEvent: (type: string, obj: unknown) => void, signal: AbortSignal) => Promise<void>;

export interface ReflectorOptions {
  /** For logs and metrics: "pods", "datapathresults". */
  name: string;
  watch: WatchFn;
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
  /** A watch with no event for this long is re-opened (default 75 s). */
  inactivityMs?: number;
}

class Gone extends Error {}

/** A watch the server ended with an ERROR event other than 410 Gone. */
class WatchErrorEvent extends Error {
  constructor(readonly status: unknown) { super(`watch ERROR event: ${JSON.stringify(status)}`); }
}

/** The watch closed within a second with no event: a server or proxy in trouble, not a normal end. */
class ShortWatch extends Error {
  constructor() { super('watch closed within a second without any event'); }
}

const RESET_BACKOFF_AFTER_MS = 120_000;
const SHORT_WATCH_MS = 1_000;

interface WatchEnd { rv: string; events: number; inactive: boolean; errorEvent?: unknown }

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
    let rv: string | undefined;
    while (!this.stopped) {
      try {
        if (rv === undefined) {
          const listed = await this.listAll();
          if (listed === undefined) break; // stopped part-way: publish nothing
          rv = listed;
          if (!this.synced) {
            this.synced = true;
            for (const w of this.syncWaiters.splice(0)) w();
          }
        }
        const started = this.opts.clock.monotonic();
        const end = await this.watchOnce(rv);
        rv = end.rv;
        if (this.stopped) break;
        if (end.errorEvent !== undefined) throw new WatchErrorEvent(end.errorEvent);
        if (end.inactive) {
          this.opts.log.info({ resource: this.opts.name, inactiveMs: this.inactivityMs }, 'watch silent past the inactivity limit; re-opening');
          this.opts.onRestart?.('inactive');
        } else if (end.events === 0 && this.opts.clock.monotonic() - started < SHORT_WATCH_MS) {
          throw new ShortWatch();
        }
        // Otherwise the watch ran its course (timeoutSeconds): go on from where it ended.
      } catch (err) {
        if (this.stopped) break;
        if (err instanceof Gone) {
          this.opts.log.info({ resource: this.opts.name }, 'resourceVersion expired; relisting');
          this.opts.onRestart?.('expired');
          rv = undefined;
          continue;
        }
        const delay = this.nextBackoff();
        const hint = httpStatus(err) === 404 ? this.opts.notFoundHint : undefined;
        this.opts.log.warn({ resource: this.opts.name, err: describeKubeError(err), retryInMs: Math.round(delay), ...(hint ? { hint } : {}) },
          'list/watch failed; retrying');
        this.opts.onRestart?.('error');
        await this.sleep(delay);
      }
    }
  }

  private failures = 0;
  private lastFailureAt = -Infinity;

  private nextBackoff(): number {
    const now = this.opts.clock.monotonic();
    if (now - this.lastFailureAt > RESET_BACKOFF_AFTER_MS) this.failures = 0;
    this.lastFailureAt = now;
    return backoffDelay(++this.failures, { baseMs: 800, capMs: this.opts.maxBackoffMs ?? 30_000 });
  }

  private get inactivityMs(): number { return this.opts.inactivityMs ?? 75_000; }

  /** The complete list and its resourceVersion, or undefined if stopped before the last page. */
  private async listAll(): Promise<string | undefined> {
    const items: unknown[] = [];
    let cont: string | undefined;
    let rv = '';
    do {
      let page: ListPage;
      try {
        page = await this.opts.list({ limit: this.opts.pageSize ?? 500, continue: cont });
      } catch (err) {
        // An expired continue token: start the list over rather than fail.
        if (httpStatus(err) === 410 && cont) { items.length = 0; cont = undefined; continue; }
        throw err;
      }
      if (this.stopped) return undefined;
      items.push(...page.items);
      rv = page.resourceVersion;
      cont = page.continue || undefined;
    } while (cont);
    this.opts.onReplace(items);
    return rv;
  }

  /** Watches from rv until the stream ends; says how it ended and the last resourceVersion seen. */
  private async watchOnce(rv: string): Promise<WatchEnd> {
    const end: WatchEnd = { rv, events: 0, inactive: false };
    let gone = false;
    const ctl = new AbortController();
    this.currentWatch = ctl;
    let timer: unknown;
    const arm = () => {
      this.opts.clock.clearTimeout(timer);
      timer = this.opts.clock.setTimeout(() => { end.inactive = true; ctl.abort(); }, this.inactivityMs);
    };
    arm();
    const params = {
      ...this.opts.watchParams,
      resourceVersion: rv,
      allowWatchBookmarks: 'true',
      // Ends each watch after 5–10 min so connections rebalance across API servers.
      timeoutSeconds: String(300 + Math.floor(Math.random() * 300)),
    };
    try {
      await this.opts.watch(this.opts.watchPath, params, (type, o) => {
        if (ctl.signal.aborted) return;
        arm();
        end.events++;
        const obj = o as { metadata?: { resourceVersion?: string }; code?: number };
        if (type === 'ERROR') {
          if (obj?.code === 410) gone = true;
          else end.errorEvent = obj ?? null;
          ctl.abort();
          return;
        }
        const next = obj?.metadata?.resourceVersion;
        if (next) end.rv = next;
        if (type === 'ADDED' || type === 'MODIFIED' || type === 'DELETED') this.opts.onEvent(type, obj);
      }, ctl.signal);
    } catch (err) {
      if (httpStatus(err) === 410) throw new Gone();
      throw err;
    } finally {
      this.opts.clock.clearTimeout(timer);
      this.currentWatch = undefined;
    }
    if (gone) throw new Gone();
    return end;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const handle = this.opts.clock.setTimeout(() => { this.sleepWake = undefined; resolve(); }, ms);
      this.sleepWake = () => { this.opts.clock.clearTimeout(handle); resolve(); };
    });
  }
}
