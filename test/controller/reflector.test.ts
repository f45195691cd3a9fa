import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Reflector, type ListPage, type WatchFn } from '../../src/controller/reflector.ts';
import { FakeClock, flush } from '../support/fake-clock.ts';

const quiet = { info() {}, warn() {} };

interface Harness {
  reflector: Reflector;
  clock: FakeClock;
  watches: number;
  replaced: unknown[][];
  events: Array<[string, unknown]>;
  done: Promise<void>;
}

/** A reflector on a fake list and watch; stops itself after 200 watch calls so a hot loop fails instead of hanging. */
function harness(opts: { list?: (p: { limit: number; continue?: string }) => Promise<ListPage>; watch: (n: number, onEvent: Parameters<WatchFn>[2], signal: AbortSignal, params: Parameters<WatchFn>[1]) => Promise<void> }): Harness {
  const clock = new FakeClock();
  const h = { clock, watches: 0, replaced: [] as unknown[][], events: [] as Array<[string, unknown]> } as Harness;
  h.reflector = new Reflector({
    name: 'pods', clock, log: quiet, watchPath: '/api/v1/pods',
    list: opts.list ?? (async () => ({ items: [{ metadata: { uid: 'a' } }], resourceVersion: '10' })),
    watch: async (_path, params, onEvent, signal) => {
      h.watches++;
      if (h.watches >= 200) { h.reflector.stop(); return; }
      return opts.watch(h.watches, onEvent, signal, params);
    },
    onReplace: (items) => h.replaced.push(items),
    onEvent: (type, obj) => h.events.push([type, obj]),
  });
  h.done = h.reflector.run();
  return h;
}

// Issue 11, defect 5: a watch the server closes at once re-watched immediately, forever.
test('a watch that closes at once without events is backed off, not re-opened in a hot loop', async () => {
  const h = harness({ watch: async () => {} });
  await h.clock.advance(60_000);
  h.reflector.stop();
  await h.done;
  assert.ok(h.watches <= 12, `${h.watches} watches in 60 s`);
  assert.ok(h.watches >= 4, `${h.watches} watches in 60 s: still retrying`);
});

// Issue 11, defect 5: ERROR events other than 410 reset the failure count and re-watched at once.
test('a watch that sends an ERROR event (not 410) is backed off', async () => {
  const h = harness({ watch: async (_n, onEvent) => { onEvent('ERROR', { kind: 'Status', code: 500, message: 'etcd unhappy' }); } });
  await h.clock.advance(60_000);
  h.reflector.stop();
  await h.done;
  assert.ok(h.watches <= 12, `${h.watches} watches in 60 s`);
  assert.equal(h.replaced.length, 1, 'no relist for a non-410 error');
});

test('a 429 from the watch is backed off and the delays grow', async () => {
  const h = harness({ watch: async () => { throw Object.assign(new Error('Too Many Requests'), { statusCode: 429 }); } });
  const at: number[] = [];
  for (let i = 0; i < 60; i++) { const n = h.watches; await h.clock.advance(1_000); if (h.watches > n) at.push(h.clock.monotonic()); }
  h.reflector.stop();
  await h.done;
  const gaps = at.slice(1).map((t, i) => t - at[i]!);
  assert.ok(gaps.length >= 3, `${h.watches} watches`);
  assert.ok(gaps.at(-1)! > gaps[0]!, `gaps grow: ${gaps.join(', ')}`);
});

test('a 410 ERROR relists at once; a watch that ran and ended normally re-watches at once from its last resourceVersion', async () => {
  const rvs: Array<string | undefined> = [];
  let lists = 0;
  const h = harness({
    list: async () => ({ items: [], resourceVersion: String(100 * ++lists) }),
    watch: async (n, onEvent, signal, params) => {
      rvs.push(params.resourceVersion);
      if (n === 1) { onEvent('ADDED', { metadata: { resourceVersion: '101', uid: 'x' } }); return; }
      if (n === 2) { onEvent('ERROR', { kind: 'Status', code: 410 }); return; }
      await new Promise((r) => signal.addEventListener('abort', r));
    },
  });
  await h.clock.advance(10);
  h.reflector.stop();
  await h.done;
  assert.deepEqual(rvs, ['100', '101', '200']);
  assert.equal(lists, 2);
});

// Issue 11, defect 5: a stop during paging handed the pages read so far to onReplace, which
// tombstoned every pod missing from them and emptied the index.
test('a stop during a paged list never publishes a partial list', async () => {
  let releasePage2!: () => void;
  const h = harness({
    list: async ({ continue: cont }) => {
      if (!cont) return { items: [{ metadata: { uid: 'a' } }], resourceVersion: '5', continue: 'p2' };
      await new Promise<void>((r) => { releasePage2 = r; });
      return { items: [{ metadata: { uid: 'b' } }], resourceVersion: '5', continue: 'p3' };
    },
    watch: async () => {},
  });
  await flush();
  h.reflector.stop();
  releasePage2();
  await h.done;
  assert.deepEqual(h.replaced, []);
  assert.equal(h.reflector.hasSynced, false);
});

test('a watch that goes silent past the inactivity limit is re-opened', async () => {
  const h = harness({ watch: (_n, _onEvent, signal) => new Promise((resolve) => signal.addEventListener('abort', () => resolve())) });
  await h.clock.advance(200_000);
  h.reflector.stop();
  await h.done;
  assert.ok(h.watches >= 2 && h.watches <= 4, `${h.watches} watches in 200 s of silence`);
});
