// One HTTPS request with a JSON body, on node:https alone, for the reporter: its two API
// clients (the API server in classic mode, the controller in report mode) each make a handful
// of calls per pod lifetime, and neither client-node nor undici is worth its start-up and
// memory for that. node:https (TLS, crypto) is imported on first use, so a reporter whose
// first probe goes out before its first API call does not wait for it.
import type { Agent } from 'node:https';

export interface HttpsCall {
  host: string;
  port: number;
  path: string;
  method: 'GET' | 'PATCH';
  headers: Record<string, string>;
  body?: string;
  signal: AbortSignal;
  agent: Agent;
}

/** retryAfter: the Retry-After header, when the server sent one (a 429 from the controller). */
export interface HttpsAnswer { status: number; text: string; retryAfter?: string }

// process.getBuiltinModule, not import(): an ES import of node:https builds a namespace of all
// its exports, and reading them loads Node's bundled undici (measured: 34 ms against 9 ms).
const loadHttps = async () => process.getBuiltinModule('node:https');

/** A keep-alive agent trusting `ca` (PEM): the few calls of one reporter share a connection. */
export async function httpsAgent(ca: string | Buffer): Promise<Agent> {
  const { Agent } = await loadHttps();
  return new Agent({ ca, keepAlive: true, maxSockets: 2 });
}

/** Resolves with any HTTP answer (the caller classifies statuses); rejects on no answer or abort. */
export async function httpsCall(c: HttpsCall): Promise<HttpsAnswer> {
  const { request } = await loadHttps();
  return new Promise<HttpsAnswer>((resolve, reject) => {
    if (c.signal.aborted) { reject(reasonOf(c.signal)); return; }
    const req = request({
      host: c.host, port: c.port, path: c.path, method: c.method, agent: c.agent,
      headers: { ...c.headers, ...(c.body !== undefined ? { 'content-length': String(Buffer.byteLength(c.body)) } : {}) },
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (d: Buffer) => chunks.push(d));
      res.on('end', () => {
        c.signal.removeEventListener('abort', onAbort);
        const retryAfter = res.headers['retry-after'];
        resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8'), ...(retryAfter !== undefined ? { retryAfter } : {}) });
      });
      res.on('error', fail);
    });
    const onAbort = () => { req.destroy(); reject(reasonOf(c.signal)); };
    function fail(err: Error) { c.signal.removeEventListener('abort', onAbort); reject(err); }
    c.signal.addEventListener('abort', onAbort, { once: true });
    req.on('error', fail);
    req.end(c.body);
  });
}

function reasonOf(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new Error('aborted');
}

/** The `message` of a Kubernetes-style Status body (or the body itself when it is not JSON). */
export function statusMessage(text: string): string {
  try {
    const m = (JSON.parse(text) as { message?: unknown }).message;
    return typeof m === 'string' ? m : text;
  } catch {
    return text;
  }
}
