// Binds the API app to --listen. Kept apart from app.ts so tests use inject() and only the
// controller (and the benchmark) open a socket.
import type { FastifyInstance } from 'fastify';
import { DpreadyError } from '../errors.ts';
import { buildApp, type AppDeps } from './app.ts';
import { readTokenFile } from './auth.ts';

export const DEFAULT_LISTEN = ':8080';

export interface ListenAddress {
  /** '' means every interface, as in Go's ":8080". */
  host: string;
  port: number;
}

/** "host:port", "[v6]:port" or ":port"; DPR_BAD_CONFIG naming --listen otherwise. */
export function parseListen(text: string): ListenAddress {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]\s]*)):(\d{1,5})$/.exec(text);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) {
    throw new DpreadyError('DPR_BAD_CONFIG', `--listen=${JSON.stringify(text)}: expected host:port, [ipv6]:port or :port (port 0-65535), e.g. ${DEFAULT_LISTEN}`);
  }
  return { host: m[1] ?? m[2] ?? '', port };
}

export interface ApiServerOptions extends Omit<AppDeps, 'token'> {
  /** --listen, default ":8080". */
  listen?: string;
  /** --api-token-file: when given, the API requires this bearer token (health routes excepted). */
  tokenFile?: string;
}

export interface ApiServer {
  app: FastifyInstance;
  /** e.g. http://127.0.0.1:8080 */
  url: string;
  close(): Promise<void>;
}

export async function startApiServer(opts: ApiServerOptions): Promise<ApiServer> {
  const { listen = DEFAULT_LISTEN, tokenFile, ...deps } = opts;
  const addr = parseListen(listen);
  const token = tokenFile !== undefined ? await readTokenFile(tokenFile) : undefined;
  const app = await buildApp({ ...deps, ...(token !== undefined ? { token } : {}) });
  try {
    await listenOn(app, addr);
  } catch (err) {
    await app.close();
    throw new DpreadyError('DPR_BAD_CONFIG', `--listen=${listen}: cannot listen: ${(err as Error).message}`, { cause: err });
  }
  const bound = app.server.address();
  const where = typeof bound === 'object' && bound ? bound : { address: addr.host, port: addr.port, family: 'IPv4' };
  const host = where.family === 'IPv6' ? `[${where.address}]` : where.address;
  return { app, url: `http://${host}:${where.port}`, close: () => app.close() };
}

async function listenOn(app: FastifyInstance, addr: ListenAddress): Promise<void> {
  if (addr.host !== '') {
    await app.listen({ host: addr.host, port: addr.port });
    return;
  }
  // Every interface: dual-stack "::" where the node has IPv6, else IPv4 only.
  try {
    await app.listen({ host: '::', port: addr.port });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EAFNOSUPPORT' && (err as NodeJS.ErrnoException).code !== 'EADDRNOTAVAIL') throw err;
    await app.listen({ host: '0.0.0.0', port: addr.port });
  }
}
