// A loopback stand-in for the two pod endpoints the reporter calls, for tests and the
// benchmark that run the real reporter process without a control plane. It applies JSON
// merge patches to metadata.annotations like the API server does and records every request.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface RecordedRequest { method: string; path: string; contentType?: string; body?: unknown; at: number }

export interface FakeApiServer {
  url: string;
  kubeconfigPath: string;
  requests: RecordedRequest[];
  /** Annotations per "namespace/name". */
  pods: Map<string, Record<string, string>>;
  /** Answer the next n requests with this status (then behave normally). */
  failNext(n: number, status: number): void;
  /** Never answer requests while true. */
  hang: boolean;
  close(): Promise<void>;
}

export async function startFakeApiServer(pods: Record<string, Record<string, string>> = {}): Promise<FakeApiServer> {
  const state = new Map(Object.entries(pods));
  const requests: RecordedRequest[] = [];
  let failures: { n: number; status: number } = { n: 0, status: 500 };
  const api: Partial<FakeApiServer> = { hang: false };
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString();
      const body: unknown = text ? JSON.parse(text) : undefined;
      requests.push({ method: req.method!, path: req.url!, contentType: req.headers['content-type'], body, at: performance.timeOrigin + performance.now() });
      if (api.hang) return; // the client's timeout must end this
      const send = (status: number, obj: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(obj));
      };
      if (failures.n > 0) {
        failures.n--;
        return send(failures.status, { kind: 'Status', apiVersion: 'v1', status: 'Failure', message: `injected ${failures.status}`, code: failures.status });
      }
      const m = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/?]+)/.exec(req.url!);
      const key = m ? `${m[1]}/${m[2]}` : '';
      const annotations = state.get(key);
      if (!m || !annotations) return send(404, { kind: 'Status', apiVersion: 'v1', status: 'Failure', message: `pods "${m?.[2]}" not found`, code: 404 });
      if (req.method === 'PATCH') {
        if (req.headers['content-type'] !== 'application/merge-patch+json') {
          return send(415, { kind: 'Status', status: 'Failure', message: `unsupported ${req.headers['content-type']}`, code: 415 });
        }
        const patch = (body as { metadata?: { annotations?: Record<string, string | null> } }).metadata?.annotations ?? {};
        for (const [k, v] of Object.entries(patch)) {
          if (v === null) delete annotations[k];
          else annotations[k] = v;
        }
      }
      send(200, { apiVersion: 'v1', kind: 'Pod', metadata: { name: m[2], namespace: m[1], annotations: { ...annotations } } });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const dir = mkdtempSync(join(tmpdir(), 'dpready-fakeapi-'));
  const kubeconfigPath = join(dir, 'kubeconfig');
  writeFileSync(kubeconfigPath, [
    'apiVersion: v1', 'kind: Config', 'current-context: fake',
    'clusters:', '- name: fake', '  cluster:', `    server: ${url}`,
    // client-node refuses plain http unless verification is (vacuously) off.
    '    insecure-skip-tls-verify: true',
    'users:', '- name: fake', '  user:', '    token: fake',
    'contexts:', '- name: fake', '  context:', '    cluster: fake', '    user: fake',
  ].join('\n'));
  return Object.assign(api, {
    url, kubeconfigPath, requests, pods: state,
    failNext(n: number, status: number) { failures = { n, status }; },
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  }) as FakeApiServer;
}
