// One TCP connection attempt, made on node's TCP handle directly instead of through net.Socket.
//
// Why: a reporter on a dropped path starts up to 50 attempts a second, and all but the last are
// abandoned before their connection comes up, so nothing of a stream is ever used. net.connect()
// builds one anyway (the Socket, its readable and writable state, its events), defers the
// connect(2) to the next tick, and tears it all down again on destroy(). Measured on this
// machine (bench/attempt-cost.ts), the Socket was half of a bare connect's CPU above the timer's
// wake-up (the variants `socket` and `handle`) and a fifth of the prober's whole attempt,
// multiplied by every reporter of a node. With the handle, the connect(2) runs inside
// connectTcp(), so the instant read after it is after the SYN with nothing in between, and a
// connection that comes up becomes a net.Socket only when its exchange begins (probes.ts).
//
// process.binding('tcp_wrap') is what node's own net module is built on. It is deprecated as a
// public API (DEP0111), documentation-only in Node 24 (a warning under --pending-deprecation
// only); the image pins Node, and test/reporter/probes.test.ts runs every probe kind through it.
import { Socket } from 'node:net';
import { getSystemErrorName } from 'node:util';

/** The part of node's TCP handle used here (src/tcp_wrap.cc). */
interface TcpHandle {
  /** Starts connect(2); returns 0 or a negative errno (an address the kernel refuses at once). */
  connect(req: ConnectReq, ip: string, port: number): number;
  connect6(req: ConnectReq, ip: string, port: number): number;
  /** Releases the handle; a connect still pending completes with ECANCELED. */
  close(): void;
}
interface ConnectReq { oncomplete?: (status: number) => void }
interface TcpWrapBinding {
  TCP: new (type: number) => TcpHandle;
  TCPConnectWrap: new () => ConnectReq;
  constants: { SOCKET: number };
}

const tcpWrap = (process as unknown as { binding(name: 'tcp_wrap'): TcpWrapBinding }).binding('tcp_wrap');

/** An error as net.Socket reports a failed connect: `connect ECONNREFUSED 10.0.0.1:80`, with `code`. */
function connectError(status: number, ip: string, port: number): NodeJS.ErrnoException {
  const code = getSystemErrorName(status);
  return Object.assign(new Error(`connect ${code} ${ip}:${port}`), { code, errno: status, syscall: 'connect', address: ip, port });
}

export interface TcpConnection {
  /** Releases the connection, or abandons the attempt; `done` is not called after it. */
  close(): void;
  /** The connection, once `done` said it is up, as a net.Socket, which then owns it. */
  toSocket(): Socket;
}

/**
 * Connects to ip:port (`family` 6 for an IPv6 address). The SYN is in the kernel's hands when
 * this returns. `done` is called once, later: with no argument once the connection is up, or
 * with the error (refused, unreachable, or one connect(2) returned at once).
 */
export function connectTcp(ip: string, port: number, family: 4 | 6, done: (err?: NodeJS.ErrnoException) => void): TcpConnection {
  const handle = new tcpWrap.TCP(tcpWrap.constants.SOCKET);
  let open = true;
  const req = new tcpWrap.TCPConnectWrap();
  req.oncomplete = (status) => {
    if (!open) return;
    if (status === 0) done();
    else done(connectError(status, ip, port));
  };
  const status = family === 6 ? handle.connect6(req, ip, port) : handle.connect(req, ip, port);
  // Reported on the next tick, as a refusal is: never inside the caller's own call.
  if (status !== 0) process.nextTick(() => { if (open) done(connectError(status, ip, port)); });
  return {
    close() {
      if (!open) return;
      open = false;
      handle.close();
    },
    toSocket() {
      open = false;
      return new Socket({ handle, readable: true, writable: true } as unknown as ConstructorParameters<typeof Socket>[0]);
    },
  };
}
