// A lean Kubernetes client for the benchmark: raw HTTPS to the local kube-apiserver with the
// admin client certificate (undici), so the benchmark's own requests add as little CPU and as
// few layers as possible to what it measures. Watches are newline-delimited JSON streams.
import { readFileSync } from 'node:fs';
import { Client, Pool } from 'undici';
import type { ControlPlane } from '../src/devcluster/control-plane.ts';

export type Obj = {
  metadata: { name: string; namespace?: string; uid: string; resourceVersion: string; creationTimestamp?: string;
    deletionTimestamp?: string; annotations?: Record<string, string>; labels?: Record<string, string> };
  spec?: { nodeName?: string; [k: string]: unknown };
  status?: { phase?: string; conditions?: Array<{ type: string; status: string; reason?: string; message?: string }>; [k: string]: unknown };
  [k: string]: unknown;
};

export interface WatchEvent { type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR'; object: Obj; at: number }

export class ApiError extends Error {
  constructor(readonly status: number, readonly body: string, what: string) {
    super(`${what}: HTTP ${status} ${body.slice(0, 300)}`);
  }
}

export class Kube {
  readonly pool: Pool;
  private readonly tls: { ca: Buffer; cert: Buffer; key: Buffer };
  private readonly watches = new Set<Client>();

  constructor(readonly server: string, cp: ControlPlane, connections = 64) {
    this.tls = { ca: readFileSync(cp.pki.caCert), cert: readFileSync(cp.pki.adminCert), key: readFileSync(cp.pki.adminKey) };
    this.pool = new Pool(server, { connections, connect: this.tls, pipelining: 1 });
  }

  async request<T = Obj>(method: string, path: string, body?: unknown, contentType = 'application/json', timeoutMs = 30_000): Promise<T> {
    const res = await this.pool.request({
      method: method as 'GET', path,
      headers: { accept: 'application/json', ...(body !== undefined ? { 'content-type': contentType } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
      headersTimeout: timeoutMs, bodyTimeout: timeoutMs,
    });
    const text = await res.body.text();
    if (res.statusCode >= 300) throw new ApiError(res.statusCode, text, `${method} ${path}`);
    return (text ? JSON.parse(text) : undefined) as T;
  }

  async text(path: string): Promise<string> {
    const res = await this.pool.request({ method: 'GET', path });
    const text = await res.body.text();
    if (res.statusCode !== 200) throw new ApiError(res.statusCode, text, `GET ${path}`);
    return text;
  }

  createPod(ns: string, pod: object): Promise<Obj> {
    return this.request('POST', `/api/v1/namespaces/${ns}/pods`, pod);
  }

  /** Merge patch on pod metadata, as the reporter writes its annotations. */
  annotatePod(ns: string, name: string, annotations: Record<string, string>): Promise<Obj> {
    return this.request('PATCH', `/api/v1/namespaces/${ns}/pods/${name}`, { metadata: { annotations } }, 'application/merge-patch+json');
  }

  /** Strategic-merge patch on pods/status holding one condition: conditions merge by type. */
  patchCondition(ns: string, name: string, uid: string, condition: object): Promise<Obj> {
    return this.request('PATCH', `/api/v1/namespaces/${ns}/pods/${name}/status`,
      { metadata: { uid }, status: { conditions: [condition] } }, 'application/strategic-merge-patch+json');
  }

  async deleteCollection(ns: string, path = 'pods'): Promise<void> {
    await this.request('DELETE', `/api/v1/namespaces/${ns}/${path}`);
  }

  async list(path: string): Promise<{ items: Obj[]; resourceVersion: string }> {
    const l = await this.request<{ items: Obj[]; metadata: { resourceVersion: string } }>('GET', path, undefined, undefined, 120_000);
    return { items: l.items, resourceVersion: l.metadata.resourceVersion };
  }

  /**
   * Lists then watches `path` (a collection), calling `onEvent` for every item of the list
   * (as ADDED) and every later event, stamped with its arrival time. kube-apiserver closes
   * watchers it finds slow ("unresponsive") under bursts, so an ended watch resumes from the
   * last resourceVersion, or lists again (every item as ADDED) when that is too old.
   * Stops on `stop()`.
   */
  async watch(path: string, onEvent: (e: WatchEvent) => void): Promise<{ stop(): Promise<void>; restarts(): number }> {
    const ac = new AbortController();
    const sep = path.includes('?') ? '&' : '?';
    let restarts = 0;
    const relist = async () => {
      const { items, resourceVersion } = await this.list(path);
      const now = Date.now();
      for (const o of items) onEvent({ type: 'ADDED', object: o, at: now });
      return resourceVersion;
    };
    let rv = await relist();
    const client = new Client(this.server, { connect: this.tls, bodyTimeout: 0, headersTimeout: 30_000 });
    this.watches.add(client);
    const once = async (): Promise<'ended' | 'gone'> => {
      const res = await client.request({
        method: 'GET', path: `${path}${sep}watch=1&resourceVersion=${rv}&allowWatchBookmarks=true&timeoutSeconds=3600`,
        signal: ac.signal,
      });
      if (res.statusCode === 410) { await res.body.text(); return 'gone'; }
      if (res.statusCode !== 200) throw new ApiError(res.statusCode, await res.body.text(), `watch ${path}`);
      let buf = '';
      for await (const chunk of res.body) {
        const at = Date.now();
        buf += (chunk as Buffer).toString('utf8');
        let nl: number;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          if (!line) continue;
          const e = JSON.parse(line) as { type: WatchEvent['type']; object: Obj & { code?: number } };
          if (e.type === 'ERROR') return e.object.code === 410 ? 'gone' : 'ended';
          rv = e.object.metadata.resourceVersion;
          onEvent({ type: e.type, object: e.object, at });
        }
      }
      return 'ended';
    };
    const done = (async () => {
      while (!ac.signal.aborted) {
        try {
          if ((await once()) === 'gone' && !ac.signal.aborted) rv = await relist();
        } catch (err) {
          if (ac.signal.aborted) return;
          process.stderr.write(`watch ${path}: ${String(err)}; retrying\n`);
          await sleep(200);
        }
        if (!ac.signal.aborted) restarts++;
      }
    })();
    return {
      restarts: () => restarts,
      stop: async () => {
        ac.abort();
        await done.catch(() => {});
        this.watches.delete(client);
        await client.destroy().catch(() => {});
      },
    };
  }

  async close(): Promise<void> {
    for (const c of this.watches) await c.destroy().catch(() => {});
    await this.pool.close();
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls `check` every `everyMs` until it holds, or throws after `timeoutMs`. */
export async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs: number, everyMs = 50): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

/** Runs `fn` over `items` with at most `concurrency` in flight. */
export async function mapLimit<T, R>(items: T[], concurrency: number, fn: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!, i);
    }
  }));
  return out;
}
