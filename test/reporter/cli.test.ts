// The real `dpready reporter` process: exit codes and messages as users see them, and the
// two modes, against a loopback stand-in for the API server.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';

import { ANNOTATION_DP_READY, ANNOTATION_START } from '../../src/contract.ts';
import { startFakeApiServer, type FakeApiServer } from './fake-apiserver.ts';

const CLI = fileURLToPath(new URL('../../src/cli.ts', import.meta.url));

function reporter(env: Record<string, string>, opts: { onStderr?: (all: string, kill: () => void) => void } = {}) {
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, 'reporter'], {
    env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
    opts.onStderr?.(stderr, () => child.kill('SIGTERM'));
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  return new Promise<{ code: number | null; stderr: string }>((resolve) => {
    child.on('exit', (code) => { clearTimeout(timer); resolve({ code, stderr }); });
  });
}

let api: FakeApiServer;
let port: number;
const tcp = createServer((s) => s.end());
before(async () => {
  api = await startFakeApiServer({ 'ns1/init-pod': {}, 'ns1/side-pod': {} });
  await new Promise<void>((r) => tcp.listen(0, '127.0.0.1', r));
  port = (tcp.address() as AddressInfo).port;
});
after(async () => { await api.close(); tcp.close(); });

test('bad configuration: exit code 2, and stderr names variable, value and expectation', async () => {
  const { code, stderr } = await reporter({ MY_POD_NAME: 'p', MY_POD_NAMESPACE: 'ns1', PROBE_TARGET: '10.0.0.1:80', PROBE_TIMEOUT: 'soon' });
  assert.equal(code, 2);
  assert.match(stderr, /^dpready: DPR_BAD_CONFIG: PROBE_TIMEOUT="soon": .*expected a number of seconds or a duration such as 500ms/m);
});

test('bad target: exit code 2 with DPR_BAD_TARGET', async () => {
  const { code, stderr } = await reporter({ MY_POD_NAME: 'p', MY_POD_NAMESPACE: 'ns1', PROBE_TARGET: '10.0.0.1' });
  assert.equal(code, 2);
  assert.match(stderr, /DPR_BAD_TARGET: PROBE_TARGET entry "10.0.0.1": no port; expected/);
});

test('init mode: writes, then exits 0', async () => {
  const { code, stderr } = await reporter({
    KUBECONFIG: api.kubeconfigPath, MY_POD_NAME: 'init-pod', MY_POD_NAMESPACE: 'ns1', PROBE_TARGET: `127.0.0.1:${port}`, PROBE_MODE: 'init',
  });
  assert.equal(code, 0, stderr);
  const a = api.pods.get('ns1/init-pod')!;
  assert.ok(a[ANNOTATION_START] && a[ANNOTATION_DP_READY]);
});

test('sidecar mode: stays alive after writing, exits 0 on SIGTERM', async () => {
  let idleSeen = false;
  const { code, stderr } = await reporter({
    KUBECONFIG: api.kubeconfigPath, MY_POD_NAME: 'side-pod', MY_POD_NAMESPACE: 'ns1', PROBE_TARGET: `127.0.0.1:${port}`,
  }, {
    onStderr: (all, kill) => {
      if (!idleSeen && all.includes('sidecar mode: idle until SIGTERM')) {
        idleSeen = true;
        // Still alive a moment later, then terminated the way the kubelet does.
        setTimeout(kill, 300);
      }
    },
  });
  assert.ok(idleSeen, stderr);
  assert.equal(code, 0, stderr);
  assert.match(stderr, /signal received; stopping/);
  assert.ok(api.pods.get('ns1/side-pod')![ANNOTATION_DP_READY]);
});
