// `dpready controller` as a process on the local control plane, webhook on: its readiness
// includes the webhook listener (a replica whose listener could not start says why, in /readyz
// and in its log), and on SIGTERM it fails readiness first and keeps answering, webhook
// included, for --shutdown-delay before it closes.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { Agent, fetch } from 'undici';
import { eventually, installCrd, useControlPlane } from '../support/cluster.ts';

const CLI = fileURLToPath(new URL('../../src/cli.ts', import.meta.url));
const cluster = useControlPlane({ nodes: 0 });
const NS = 'dpready-system';

async function freePort(): Promise<number> {
  return new Promise((resolve) => { const s = createServer().listen(0, '127.0.0.1', () => { const p = (s.address() as { port: number }).port; s.close(() => resolve(p)); }); });
}

function controller(apiPort: number, webhookPort: number): { child: ChildProcess; log: () => string; exited: Promise<number | null> } {
  const cp = cluster();
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, 'controller', `--kubeconfig=${cp.kubeconfigPath}`, `--listen=127.0.0.1:${apiPort}`,
    `--webhook-listen=127.0.0.1:${webhookPort}`, '--webhook-cert-names=127.0.0.1', '--reporter-image=dpready:test', '--webhook-config-name=dpready-shutdown-none',
    '--webhook-secret=dpready-shutdown-tls', '--shutdown-delay=3s', `--leader-elect-namespace=${NS}`, `--results-namespace=${NS}`],
  { env: { PATH: process.env.PATH ?? '', POD_NAMESPACE: NS }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
  child.stderr!.on('data', (d: Buffer) => { out += d.toString(); });
  return { child, log: () => out, exited: new Promise((r) => child.on('exit', (code) => r(code))) };
}

const readyz = async (port: number) => {
  try { const r = await fetch(`http://127.0.0.1:${port}/readyz`); return `${r.status} ${(await r.json() as { status: string }).status}`; } catch { return 'down'; }
};

describe('dpready controller: readiness and shutdown with the webhook', { concurrency: false }, () => {
  const children: ChildProcess[] = [];
  let blocker: Server | undefined;
  const insecure = new Agent({ connect: { rejectUnauthorized: false } });
  before(async () => { await installCrd(cluster()); await cluster().ensureNamespace(NS); }, { timeout: 120_000 });
  after(async () => { for (const c of children) c.kill('SIGKILL'); blocker?.close(); await insecure.close(); });

  test('a replica whose webhook cannot listen is not ready, and its log says why', { timeout: 120_000 }, async () => {
    const webhookPort = await freePort();
    blocker = createServer().listen(webhookPort, '127.0.0.1');
    const apiPort = await freePort();
    const c = controller(apiPort, webhookPort);
    children.push(c.child);
    // pino writes the message after the fields: {"err":"…EADDRINUSE…","msg":"webhook and report endpoint could not start"}
    await eventually('log names the listen failure', async () => /"err":"[^"]*EADDRINUSE[^"]*".*"msg":"webhook and report endpoint could not start"/.test(c.log()), 60_000, 250);
    await eventually('caches synced', async () => (await readyz(apiPort)).includes('webhook not listening'), 60_000, 250);
    assert.equal(await readyz(apiPort), '503 webhook not listening');
    c.child.kill('SIGKILL');
    blocker.close();
  });

  test('on SIGTERM: readiness fails at once, the webhook keeps answering for the shutdown delay, then the process exits', { timeout: 120_000 }, async () => {
    const apiPort = await freePort(), webhookPort = await freePort();
    const c = controller(apiPort, webhookPort);
    children.push(c.child);
    await eventually('ready, webhook listening', async () => (await readyz(apiPort)) === '200 ok', 90_000, 250);
    const webhookUp = async () => { try { return (await fetch(`https://127.0.0.1:${webhookPort}/healthz`, { dispatcher: insecure })).status === 200; } catch { return false; } };
    assert.equal(await webhookUp(), true);
    const termAt = Date.now();
    c.child.kill('SIGTERM');
    await eventually('readiness failed', async () => (await readyz(apiPort)) === '503 shutting down', 5_000, 50);
    assert.equal(await webhookUp(), true, 'still answering while the endpoints move');
    await new Promise((r) => setTimeout(r, 1_000));
    assert.equal(await webhookUp(), true, 'still answering a second later');
    assert.equal(await c.exited, 0, c.log());
    assert.ok(Date.now() - termAt >= 3_000, 'closed only after the shutdown delay');
  });
});
