// connectTcp against real sockets on loopback: what the probes build every attempt on.
import assert from 'node:assert/strict';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { test } from 'node:test';

import { connectTcp } from '../../src/reporter/tcp-connect.ts';

const listen = (server: Server) => new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
const close = (server: Server) => new Promise<void>((resolve) => server.close(() => resolve()));

/** Calls of a connectTcp callback, and a promise of the first. */
function recorder() {
  const calls: Array<NodeJS.ErrnoException | undefined> = [];
  let first!: (err: NodeJS.ErrnoException | undefined) => void;
  const settled = new Promise<NodeJS.ErrnoException | undefined>((resolve) => { first = resolve; });
  return { calls, settled, done: (err?: NodeJS.ErrnoException) => { calls.push(err); if (calls.length === 1) first(err); } };
}

test('a listener: done once with no error, and the connection carries bytes as a net.Socket', async (t) => {
  const server = createServer((s) => s.end('hello'));
  t.after(() => close(server));
  const port = await listen(server);
  const r = recorder();
  const conn = connectTcp('127.0.0.1', port, 4, r.done);
  assert.equal(r.calls.length, 0, 'never inside the call');
  assert.equal(await r.settled, undefined);
  const socket = conn.toSocket();
  const got = await new Promise<string>((resolve, reject) => {
    let text = '';
    socket.on('data', (b: Buffer) => { text += b.toString(); });
    socket.on('end', () => resolve(text));
    socket.on('error', reject);
  });
  socket.destroy();
  assert.equal(got, 'hello');
  assert.equal(r.calls.length, 1);
});

test('a closed port: done once with the error net.Socket would give (message, code, syscall, address, port)', async () => {
  const server = createServer();
  const port = await listen(server);
  await close(server);
  const r = recorder();
  connectTcp('127.0.0.1', port, 4, r.done);
  const err = await r.settled;
  assert.ok(err instanceof Error);
  assert.equal(err.message, `connect ECONNREFUSED 127.0.0.1:${port}`);
  assert.deepEqual({ code: err.code, syscall: err.syscall, address: (err as { address?: string }).address, port: (err as { port?: number }).port }, { code: 'ECONNREFUSED', syscall: 'connect', address: '127.0.0.1', port });
  assert.equal(r.calls.length, 1);
});

test('an address connect(2) refuses at once is reported on a later tick, never inside the call', async () => {
  // An IPv6 address given as IPv4: the handle refuses it before any packet (EINVAL).
  const r = recorder();
  const conn = connectTcp('::1', 80, 4, r.done);
  assert.equal(r.calls.length, 0);
  const err = await r.settled;
  assert.equal(err?.code, 'EINVAL');
  assert.match(err.message, /^connect EINVAL ::1:80$/);
  conn.close();
});

test('closed while connecting: done is never called (the handle reports ECANCELED to no one)', async () => {
  // A SYN to an address nobody answers: TEST-NET-1 has no route here or is dropped; either way it
  // cannot have completed before close() on the same tick.
  const r = recorder();
  const conn = connectTcp('192.0.2.1', 9, 4, r.done);
  conn.close();
  conn.close();
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.deepEqual(r.calls, []);
});
