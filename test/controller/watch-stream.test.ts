// The watch request on loopback HTTP: events line by line, HTTP errors as ApiException, our own
// abort as a normal end.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import * as k8s from '@kubernetes/client-node';
import { kubeWatch } from '../../src/controller/watch-stream.ts';
import { describeKubeError, httpStatus } from '../../src/kube/request-options.ts';

let server: Server;
let kc: k8s.KubeConfig;
const seen: string[] = [];

before(async () => {
  server = createServer((req, res) => {
    seen.push(req.url!);
    if (req.url!.startsWith('/gone')) {
      res.writeHead(410, { 'content-type': 'application/json' }).end(JSON.stringify({ kind: 'Status', code: 410, message: 'too old resource version: 1 (5)' }));
    } else if (req.url!.startsWith('/events')) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write(JSON.stringify({ type: 'ADDED', object: { metadata: { name: 'a' } } }) + '\n');
      res.end(JSON.stringify({ type: 'BOOKMARK', object: { metadata: { resourceVersion: '7' } } }) + '\n');
    } else {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write(JSON.stringify({ type: 'ADDED', object: { metadata: { name: 'b' } } }) + '\n');
      // and then nothing: the stream stays open
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  kc = new k8s.KubeConfig();
  kc.loadFromClusterAndUser({ name: 'c', server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, skipTLSVerify: true }, { name: 'u' });
});
after(() => { server.closeAllConnections(); server.close(); });

test('events arrive in order with their types, and the query carries watch=true and the parameters', async () => {
  const events: Array<[string, unknown]> = [];
  await kubeWatch(kc)('/events', { resourceVersion: '5', labelSelector: undefined }, (t, o) => events.push([t, o]), new AbortController().signal);
  assert.deepEqual(events.map(([t]) => t), ['ADDED', 'BOOKMARK']);
  assert.match(seen.at(-1)!, /watch=true/);
  assert.match(seen.at(-1)!, /resourceVersion=5/);
  assert.doesNotMatch(seen.at(-1)!, /labelSelector/);
});

test('an HTTP error is an ApiException: its status and the API server\'s message', async () => {
  const err = await kubeWatch(kc)('/gone', {}, () => {}, new AbortController().signal).catch((e: unknown) => e);
  assert.equal(httpStatus(err), 410);
  assert.equal(describeKubeError(err), 'HTTP 410: too old resource version: 1 (5)');
});

test('our own abort ends an open watch normally', async () => {
  const ctl = new AbortController();
  const names: string[] = [];
  const done = kubeWatch(kc)('/open', {}, (_t, o) => { names.push((o as { metadata: { name: string } }).metadata.name); ctl.abort(); }, ctl.signal);
  await done;
  assert.deepEqual(names, ['b']);
});
