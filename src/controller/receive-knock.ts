// One knock of the receive check: a GET of the reporter's receive path on the pod IP, on a
// fresh connection (a kept-alive socket would prove an old path). The result only steers the
// prober's schedule; the instant that counts is taken by the reporter when the knock arrives.
import http from 'node:http';
import { RECEIVE_PATH } from '../contract.ts';
import type { KnockResult } from './receive-prober.ts';

export function knock(ip: string, port: number, timeoutMs: number): Promise<KnockResult> {
  return new Promise((resolve) => {
    const req = http.request({ host: ip, port, path: RECEIVE_PATH, method: 'GET', agent: false,
      headers: { 'user-agent': 'dpready-controller', connection: 'close' } });
    const timer = setTimeout(() => { req.destroy(); resolve('silent'); }, timeoutMs);
    req.once('response', (res) => {
      clearTimeout(timer);
      res.resume();
      req.destroy();
      resolve(res.statusCode === 200 ? 'ok' : 'answered');
    });
    // A refusal or reset is an answer from the pod's network stack; anything else (no route,
    // a timeout) is silence.
    req.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve(err.code === 'ECONNREFUSED' || err.code === 'ECONNRESET' ? 'answered' : 'silent');
    });
    req.end();
  });
}
