// A probe target the demo and the end-to-end test control: a TCP listener on loopback that
// can be opened and closed at will, so "the datapath works" is a switch.
import { createServer, type Server } from 'node:net';

export class ProbeTarget {
  private server?: Server;
  /** When the target last started accepting connections (ms), the ground truth for accuracy. */
  openedAt?: number;

  private constructor(readonly port: number) {}

  /** Reserves a free loopback port; the target starts closed. */
  static async reserve(): Promise<ProbeTarget> {
    const probe = createServer();
    const port = await new Promise<number>((resolve, reject) => {
      probe.once('error', reject);
      probe.listen(0, '127.0.0.1', () => resolve((probe.address() as { port: number }).port));
    });
    await new Promise((r) => probe.close(r));
    return new ProbeTarget(port);
  }

  get address(): string { return `tcp://127.0.0.1:${this.port}`; }
  get isOpen(): boolean { return !!this.server; }

  async open(): Promise<void> {
    if (this.server) return;
    const server = createServer((socket) => socket.end());
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.server = server;
    this.openedAt = Date.now();
  }

  /** Stops accepting: new attempts get "connection refused" as on a broken datapath. */
  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise((r) => server.close(r));
  }
}
