// Keeps the webhook's TLS material: one Secret shared by every replica, renewed by whichever
// replica sees it due first (create / update with the read resourceVersion, so two replicas
// racing end up with one winner and both load the winner's bundle), and the caBundle of our
// MutatingWebhookConfiguration patched to match. Runs on every replica, leader or not: each
// serves admission requests and must hold the current certificate.
import { PatchStrategy, type AdmissionregistrationV1Api, type CoreV1Api, type V1Secret } from '@kubernetes/client-node';
import { callOptions, describeKubeError, errorLabel, httpStatus } from '../kube/request-options.ts';
import type { Clock } from '../controller/clock.ts';
import type { Logger } from '../controller/controller.ts';
import type { Metrics } from '../controller/metrics.ts';
import { renew, renewalNeeded, type TlsBundle } from './certs.ts';

export interface CertKeeperOptions {
  core: CoreV1Api;
  admission: AdmissionregistrationV1Api;
  namespace: string;
  secretName: string;
  /** MutatingWebhookConfiguration whose webhooks get our caBundle. */
  webhookConfigName: string;
  /** DNS names and IPs of the serving certificate. */
  names: string[];
  clock: Clock;
  log: Logger;
  metrics: Metrics;
  apiTimeoutMs: number;
  /** Called with every bundle loaded (first and renewed): swap the server's certificate. */
  onBundle: (b: TlsBundle) => void;
}

const KEYS = { caBundle: 'ca-bundle.crt', caCert: 'ca.crt', caKey: 'ca.key', tlsCert: 'tls.crt', tlsKey: 'tls.key' } as const;

export function bundleFromSecret(s: V1Secret | undefined): TlsBundle | undefined {
  const d = s?.data;
  if (!d) return undefined;
  const get = (k: string) => (d[k] ? Buffer.from(d[k], 'base64').toString('utf8') : undefined);
  const b = { caBundle: get(KEYS.caBundle), caCert: get(KEYS.caCert), caKey: get(KEYS.caKey), tlsCert: get(KEYS.tlsCert), tlsKey: get(KEYS.tlsKey) };
  return Object.values(b).every((v) => v) ? (b as TlsBundle) : undefined;
}

function secretData(b: TlsBundle): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [field, key] of Object.entries(KEYS)) out[key] = Buffer.from(b[field as keyof TlsBundle], 'utf8').toString('base64');
  return out;
}

export class CertKeeper {
  private current?: TlsBundle;
  private timer?: unknown;
  private stopped = false;

  constructor(private readonly o: CertKeeperOptions) {}

  get bundle(): TlsBundle | undefined { return this.current; }

  /** Loads or creates the bundle, renews it when due, and makes caBundle match. */
  async sync(): Promise<TlsBundle> {
    const { core, namespace, secretName: name } = this.o;
    const opts = callOptions({ timeoutMs: this.o.apiTimeoutMs });
    for (let attempt = 0; ; attempt++) {
      let secret: V1Secret | undefined;
      try {
        secret = await core.readNamespacedSecret({ name, namespace }, opts);
      } catch (err) {
        if (httpStatus(err) !== 404) throw err;
      }
      const now = this.o.clock.now();
      const stored = bundleFromSecret(secret);
      const due = renewalNeeded(stored, this.o.names, now);
      if (due === 'none') { this.load(stored!); break; }
      const next = renew(stored, due, this.o.names, now);
      const body: V1Secret = {
        metadata: { name, namespace, labels: { 'app.kubernetes.io/name': 'dpready', 'app.kubernetes.io/component': 'webhook' },
          ...(secret?.metadata?.resourceVersion ? { resourceVersion: secret.metadata.resourceVersion } : {}) },
        type: 'kubernetes.io/tls', data: secretData(next),
      };
      // A new CA is published in caBundle before any replica serves a leaf it signs (they load
      // the Secret): the API server trusts it first. Losing the write race below is harmless:
      // the bundle keeps the previous CA and the winner's chain is cross-signed by it; the
      // patch after the loop settles caBundle on the winner's.
      if (due === 'ca' && stored) await this.patchCaBundle(next);
      try {
        if (secret) await core.replaceNamespacedSecret({ name, namespace, body }, opts);
        else await core.createNamespacedSecret({ namespace, body }, opts);
        this.o.metrics.writes.inc({ resource: 'secrets', verb: secret ? 'update' : 'create' });
        this.o.log.info({ secret: `${namespace}/${name}`, renewed: due }, 'webhook certificate written');
        this.load(next);
        break;
      } catch (err) {
        this.o.metrics.writeErrors.inc({ resource: 'secrets', code: errorLabel(err) });
        // Another replica won the race: read what it wrote.
        if ((httpStatus(err) === 409) && attempt < 3) continue;
        throw err;
      }
    }
    await this.patchCaBundle(this.current!);
    return this.current!;
  }

  /** Re-syncs every periodMs (renewal and caBundle drift), until stop(). */
  start(periodMs = 60_000): void {
    const arm = () => {
      this.timer = this.o.clock.setTimeout(async () => {
        if (this.stopped) return;
        try { await this.sync(); } catch (err) { this.o.log.warn({ err: describeKubeError(err) }, 'webhook certificate sync failed; will retry'); }
        if (!this.stopped) arm();
      }, periodMs);
    };
    arm();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) this.o.clock.clearTimeout(this.timer);
  }

  private load(b: TlsBundle): void {
    if (this.current?.tlsCert === b.tlsCert && this.current.caBundle === b.caBundle) return;
    this.current = b;
    this.o.onBundle(b);
  }

  private async patchCaBundle(b: TlsBundle): Promise<void> {
    const want = Buffer.from(b.caBundle, 'utf8').toString('base64');
    let cfg;
    try {
      cfg = await this.o.admission.readMutatingWebhookConfiguration({ name: this.o.webhookConfigName }, callOptions({ timeoutMs: this.o.apiTimeoutMs }));
    } catch (err) {
      if (httpStatus(err) === 404) { this.o.log.warn({ name: this.o.webhookConfigName }, 'MutatingWebhookConfiguration not found; caBundle not set'); return; }
      throw err;
    }
    const ops = (cfg.webhooks ?? []).flatMap((w, i) => (w.clientConfig.caBundle === want ? [] : [
      // "test" first: if the list changed since we read it, the patch fails instead of hitting the wrong webhook.
      { op: 'test', path: `/webhooks/${i}/name`, value: w.name },
      { op: 'add', path: `/webhooks/${i}/clientConfig/caBundle`, value: want },
    ]));
    if (!ops.length) return;
    try {
      await this.o.admission.patchMutatingWebhookConfiguration({ name: this.o.webhookConfigName, body: ops },
        callOptions({ timeoutMs: this.o.apiTimeoutMs, patch: PatchStrategy.JsonPatch }));
      this.o.metrics.writes.inc({ resource: 'mutatingwebhookconfigurations', verb: 'patch' });
      this.o.log.info({ name: this.o.webhookConfigName, webhooks: ops.length / 2 }, 'caBundle patched');
    } catch (err) {
      this.o.metrics.writeErrors.inc({ resource: 'mutatingwebhookconfigurations', code: errorLabel(err) });
      throw err;
    }
  }
}
