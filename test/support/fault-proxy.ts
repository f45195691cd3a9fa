// A fault-injecting proxy between a dpready controller and kube-apiserver, for the fault tests.
// It terminates TLS with the control plane's own serving certificate (so clients keep verifying
// against the cluster CA) and forwards each request as the admin user, which lets it see every
// request (method, path) and fault each one: reset the connection (now, or part-way through a
// watch; TLS sockets cannot be reset, so the connection is dropped), stall it for seconds, or
// answer 429/500 itself. Counters tell the test how many
// requests the controller made and of what kind.
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { Agent, createServer, request, type Server } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import type { ControlPlane } from '../../src/devcluster/control-plane.ts';

export interface Faults {
  /** Share of requests whose connection is reset (before or, for watches, part-way through). */
  resetRate: number;
  /** Share of requests held this long before they are forwarded. */
  stallRate: number;
  stallMs: number;
  /** Share of requests answered with `status` by the proxy itself. */
  statusRate: number;
  status: 429 | 500;
}

export const NO_FAULTS: Faults = { resetRate: 0, stallRate: 0, stallMs: 0, statusRate: 0, status: 429 };

export interface ProxiedRequest {
  at: number; method: string; path: string; watch: boolean; fault?: 'reset' | 'stall' | '429' | '500';
  /** The body of a write (not GET), as sent, up to 64 KiB: which object a create was for is only in its body. */
  body?: string;
}

export interface FaultProxy {
  url: string;
  faults: Faults;
  requests: ProxiedRequest[];
  /** A kubeconfig for the proxy, admin credentials (the proxy ignores them and forwards as admin). */
  kubeconfigPath: string;
  kubeConfig: k8s.KubeConfig;
  /** Drops every open client connection at once (watches included), as a restarted load balancer would. */
  dropConnections(): void;
  /** Requests per second, highest over any one-second window in [from, to). */
  peakRate(from?: number, to?: number, filter?: (r: ProxiedRequest) => boolean): number;
  close(): Promise<void>;
}

export async function startFaultProxy(cp: ControlPlane, faults: Partial<Faults> = {}, random: () => number = Math.random): Promise<FaultProxy> {
  const upstream = new URL(cp.server);
  const agent = new Agent({
    keepAlive: true, maxSockets: 256,
    ca: readFileSync(cp.pki.caCert), cert: readFileSync(cp.pki.adminCert), key: readFileSync(cp.pki.adminKey),
  });
  const sockets = new Set<Socket>();
  const proxy = { faults: { ...NO_FAULTS, ...faults }, requests: [] as ProxiedRequest[] } as FaultProxy;

  const server: Server = createServer({ cert: readFileSync(cp.pki.serverCert), key: readFileSync(cp.pki.serverKey) }, (req, res) => {
    const url = new URL(req.url ?? '/', 'https://x');
    const rec: ProxiedRequest = { at: Date.now(), method: req.method ?? 'GET', path: url.pathname, watch: url.searchParams.get('watch') === 'true' };
    proxy.requests.push(rec);
    const f = proxy.faults;
    if (random() < f.statusRate) {
      rec.fault = String(f.status) as '429' | '500';
      const body = JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', code: f.status,
        reason: f.status === 429 ? 'TooManyRequests' : 'InternalError', message: `injected by the test proxy (${f.status})`, details: { retryAfterSeconds: 1 } });
      req.resume();
      res.writeHead(f.status, { 'content-type': 'application/json', ...(f.status === 429 ? { 'retry-after': '1' } : {}) }).end(body);
      return;
    }
    const resetNow = random() < f.resetRate;
    if (resetNow && !rec.watch) { rec.fault = 'reset'; req.socket.destroy(); return; }
    const forward = () => {
      const up = request({
        host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, agent,
        headers: { ...req.headers, host: upstream.host },
      }, (upRes) => {
        res.writeHead(upRes.statusCode ?? 502, upRes.headers);
        upRes.pipe(res);
        // A watch picked for a reset is cut part-way through, as a dropped connection would be.
        if (resetNow && rec.watch) {
          rec.fault = 'reset';
          setTimeout(() => { upRes.destroy(); req.socket.destroy(); }, 200 + random() * 3_000).unref();
        }
      });
      up.on('error', () => { if (!res.headersSent) res.writeHead(502).end(); else res.destroy(); });
      res.on('close', () => up.destroy());
      // Read the body beside the pipe, only now: a 'data' listener would start the flow (and lose a stalled request's body).
      if (rec.method !== 'GET') {
        const chunks: Buffer[] = [];
        let size = 0;
        req.on('data', (c: Buffer) => { if (size < 65_536) { chunks.push(c); size += c.length; } });
        req.on('end', () => { rec.body = Buffer.concat(chunks).toString('utf8'); });
      }
      req.pipe(up);
    };
    if (random() < f.stallRate) {
      rec.fault = 'stall';
      req.pause();
      setTimeout(() => { if (!req.destroyed) forward(); }, f.stallMs).unref();
    } else {
      forward();
    }
  });
  server.on('connection', (s: Socket) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  proxy.url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;

  proxy.kubeconfigPath = join(cp.dir, `proxy-${(server.address() as AddressInfo).port}.kubeconfig`);
  await writeFile(proxy.kubeconfigPath, k8s.dumpYaml({
    apiVersion: 'v1', kind: 'Config',
    clusters: [{ name: 'proxy', cluster: { server: proxy.url, 'certificate-authority': cp.pki.caCert } }],
    users: [{ name: 'admin', user: { 'client-certificate': cp.pki.adminCert, 'client-key': cp.pki.adminKey } }],
    contexts: [{ name: 'proxy', context: { cluster: 'proxy', user: 'admin' } }],
    'current-context': 'proxy',
  }), { mode: 0o600 });
  proxy.kubeConfig = new k8s.KubeConfig();
  proxy.kubeConfig.loadFromFile(proxy.kubeconfigPath);

  proxy.dropConnections = () => { for (const s of sockets) s.destroy(); };
  proxy.peakRate = (from = 0, to = Infinity, filter = () => true) => {
    const times = proxy.requests.filter((r) => r.at >= from && r.at < to && filter(r)).map((r) => r.at).sort((a, b) => a - b);
    let peak = 0;
    for (let i = 0, j = 0; j < times.length; j++) {
      while (times[j]! - times[i]! >= 1_000) i++;
      peak = Math.max(peak, j - i + 1);
    }
    return peak;
  };
  proxy.close = async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    agent.destroy();
  };
  return proxy;
}
