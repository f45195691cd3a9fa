// Where a pod finds the API server and its own credential, as client-node's loadFromCluster
// does: KUBERNETES_SERVICE_HOST/PORT from the kubelet, the projected ServiceAccount token and
// the cluster CA under /var/run/secrets/kubernetes.io/serviceaccount. The token is re-read for
// every call, since the kubelet rotates it; the CA is read once.
import { readFile } from 'node:fs/promises';

export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

export interface InCluster {
  host: string;
  port: number;
  ca: Buffer;
  token(): Promise<string>;
}

/** Throws a plain Error naming what is missing (the caller decides whether that is fatal). */
export async function inCluster(env: Record<string, string | undefined>, dir = SERVICE_ACCOUNT_DIR): Promise<InCluster> {
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = Number(env.KUBERNETES_SERVICE_PORT ?? '443');
  if (!host) throw new Error('KUBERNETES_SERVICE_HOST is not set: not running in a pod (classic mode patches the pod through the API server)');
  if (!(Number.isInteger(port) && port > 0 && port < 65536)) throw new Error(`KUBERNETES_SERVICE_PORT=${JSON.stringify(env.KUBERNETES_SERVICE_PORT)} is not a port`);
  let ca: Buffer;
  try {
    ca = await readFile(`${dir}/ca.crt`);
  } catch (err) {
    throw new Error(`cannot read the cluster CA ${dir}/ca.crt: ${(err as Error).message} (is the ServiceAccount token mounted?)`, { cause: err });
  }
  return {
    host, port, ca,
    async token() {
      try {
        return (await readFile(`${dir}/token`, 'utf8')).trim();
      } catch (err) {
        throw new Error(`cannot read the ServiceAccount token ${dir}/token: ${(err as Error).message}`, { cause: err });
      }
    },
  };
}
