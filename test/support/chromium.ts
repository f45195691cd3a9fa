// Headless Chromium (Debian's package, installed by test/controlplane/node-packages.sh) driven
// over the DevTools protocol with Node's own WebSocket: load a page, evaluate expressions in
// it, take a screenshot. Only loopback addresses are ever opened.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));

export interface Browser {
  open(url: string): Promise<Page>;
  close(): Promise<void>;
}
export interface Page {
  evaluate<T>(expression: string): Promise<T>;
  navigate(url: string): Promise<void>;
  screenshot(): Promise<Buffer>;
}

export async function launchChromium(): Promise<Browser> {
  if (!CHROMIUM) throw new Error('chromium is not installed (bash test/controlplane/node-packages.sh installs it as root)');
  const profile = mkdtempSync(join(tmpdir(), 'dpready-chromium-'));
  // Chromium makes its own org.chromium.Chromium.* directories under TMPDIR and leaves them
  // behind: pointed at the profile, they go when it is removed.
  const child: ChildProcess = spawn(CHROMIUM, [
    '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run', '--no-default-browser-check',
    '--disable-extensions', '--disable-sync', '--metrics-recording-only', '--mute-audio', `--user-data-dir=${profile}`,
    '--remote-debugging-address=127.0.0.1', '--remote-debugging-port=0', '--window-size=1400,1100', 'about:blank',
  ], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, TMPDIR: profile } });
  const wsUrl = await new Promise<string>((resolve, reject) => {
    let err = '';
    const timer = setTimeout(() => reject(new Error(`chromium did not start:\n${err}`)), 30_000);
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      const m = /DevTools listening on (ws:\/\/\S+)/.exec(err);
      if (m) { clearTimeout(timer); resolve(m[1]!); }
    });
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`chromium exited (${code}):\n${err}`)); });
  });
  const ws = new WebSocket(wsUrl);
  await new Promise((resolve, reject) => { ws.onopen = resolve; ws.onerror = reject; });
  let id = 0;
  const waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  const events: Array<{ method: string; sessionId?: string; params: unknown }> = [];
  ws.onmessage = (ev) => {
    const m = JSON.parse(String(ev.data)) as { id?: number; result?: unknown; error?: { message: string }; method?: string; sessionId?: string; params?: unknown };
    if (m.id !== undefined) {
      const w = waiting.get(m.id);
      waiting.delete(m.id);
      if (m.error) w?.reject(new Error(m.error.message)); else w?.resolve(m.result);
    } else if (m.method) events.push({ method: m.method, sessionId: m.sessionId, params: m.params });
  };
  const send = <T>(method: string, params: object = {}, sessionId?: string): Promise<T> => new Promise<T>((resolve, reject) => {
    const n = ++id;
    waiting.set(n, { resolve: resolve as (v: unknown) => void, reject });
    ws.send(JSON.stringify({ id: n, method, params, ...(sessionId ? { sessionId } : {}) }));
  });
  const loaded = async (sessionId: string) => {
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      if (events.some((e) => e.sessionId === sessionId && e.method === 'Page.loadEventFired')) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error('page did not load');
  };
  return {
    async open(url) {
      const { targetId } = await send<{ targetId: string }>('Target.createTarget', { url: 'about:blank' });
      const { sessionId } = await send<{ sessionId: string }>('Target.attachToTarget', { targetId, flatten: true });
      await send('Page.enable', {}, sessionId);
      await send('Emulation.setDeviceMetricsOverride', { width: 1400, height: 1100, deviceScaleFactor: 1, mobile: false }, sessionId);
      const page: Page = {
        async navigate(u) {
          for (let i = events.length - 1; i >= 0; i--) if (events[i]!.sessionId === sessionId) events.splice(i, 1);
          await send('Page.navigate', { url: u }, sessionId);
          await loaded(sessionId);
        },
        async evaluate<T>(expression: string) {
          const r = await send<{ result: { value: T }; exceptionDetails?: { text: string; exception?: { description?: string } } }>('Runtime.evaluate',
            { expression, returnByValue: true, awaitPromise: true }, sessionId);
          if (r.exceptionDetails) throw new Error(`${r.exceptionDetails.text} ${r.exceptionDetails.exception?.description ?? ''}`);
          return r.result.value;
        },
        async screenshot() {
          const { data } = await send<{ data: string }>('Page.captureScreenshot', { format: 'png', captureBeyondViewport: true }, sessionId);
          return Buffer.from(data, 'base64');
        },
      };
      await page.navigate(url);
      return page;
    },
    async close() {
      ws.close();
      child.kill('SIGTERM');
      await new Promise((r) => (child.exitCode !== null ? r(undefined) : child.once('exit', r)));
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
