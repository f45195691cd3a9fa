// Wires the adoption pieces into a running controller: certificates (CertKeeper), the HTTPS
// server (injection webhook + report endpoint), the namespaces that ask for injection, and
// the audit of pods that asked and were not injected.
import * as k8s from '@kubernetes/client-node';
import type { FastifyInstance } from 'fastify';
import { INJECT_LABEL } from '../contract.ts';
import { callOptions, describeKubeError } from '../kube/request-options.ts';
import { parseListen } from '../api/server.ts';
import { systemClock, type Clock } from '../controller/clock.ts';
import type { Controller, Logger } from '../controller/controller.ts';
import { EventRecorder } from '../controller/event-recorder.ts';
import { InjectionAudit } from './audit.ts';
import { CertKeeper } from './cert-keeper.ts';
import type { TlsBundle } from './certs.ts';
import type { WebhookSettings } from './config.ts';
import { buildWebhookApp, webhookMetrics } from './server.ts';

export interface Adoption {
  /** Resolves once the server listens with a certificate: https://host:port */
  ready: Promise<string>;
  readonly bundle: TlsBundle | undefined;
  /** True while the HTTPS server listens (readiness includes it). */
  readonly listening: boolean;
  close(): Promise<void>;
}

export function startAdoption(kc: k8s.KubeConfig, s: WebhookSettings, controller: Controller, log: Logger,
  opts: { apiTimeoutMs: number; clock?: Clock; certSyncMs?: number; namespacePollMs?: number } = { apiTimeoutMs: 10_000 }): Adoption {
  const clock = opts.clock ?? systemClock;
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const wm = webhookMetrics(controller.metrics.registry);
  let app: FastifyInstance | undefined;
  let closed = false;
  const keeper = new CertKeeper({
    core, admission: kc.makeApiClient(k8s.AdmissionregistrationV1Api), namespace: s.namespace, secretName: s.secretName,
    webhookConfigName: s.configName, names: s.certNames, clock, log, metrics: controller.metrics, apiTimeoutMs: opts.apiTimeoutMs,
    onBundle: (b) => {
      // Rotation: new connections get the new certificate, open ones finish on the old.
      const server = app?.server as unknown as { setSecureContext?: (o: object) => void } | undefined;
      server?.setSecureContext?.({ cert: b.tlsCert, key: b.tlsKey });
    },
  });

  let enabled: ReadonlySet<string> = new Set();
  const pollNamespaces = async () => {
    try {
      const list = await core.listNamespace({ labelSelector: `${INJECT_LABEL}=enabled` }, callOptions({ timeoutMs: opts.apiTimeoutMs }));
      enabled = new Set(list.items.map((n) => n.metadata?.name ?? '').filter(Boolean));
    } catch (err) {
      log.warn({ err: describeKubeError(err) }, 'could not list the namespaces that ask for injection');
    }
  };
  const events = new EventRecorder({ core, clock, metrics: controller.metrics, instance: controller.identity, log });
  const audit = new InjectionAudit({
    enabledNamespaces: () => enabled, excluded: s.excludedNamespaces, isLeader: () => controller.isLeader, now: () => clock.now(),
    report: (pod) => {
      const m = pod.metadata!;
      wm.notInjected.inc({ namespace: m.namespace ?? '' });
      log.warn({ pod: `${m.namespace}/${m.name}` }, 'pod asked for injection but has no readiness gate: it is not gated');
      events.record({ namespace: m.namespace!, name: m.name!, uid: m.uid! }, 'Warning', 'DatapathGateNotInjected',
        `this pod asked for dpready injection (${INJECT_LABEL}) but was created without the readiness gate and reporter `
        + '(webhook unreachable or the pod was skipped; see the admission warnings): it is not gated. Recreate it once the webhook is back.');
    },
  });
  // Removed on close: a closed adoption's audit, its namespace list frozen, would otherwise keep
  // reporting pods beside the one that replaced it (a CI run counted one pod twice).
  const stopAudit = controller.addPodListener((type, pod) => {
    audit.onPod(type, pod);
    // The recorder remembers the reasons it sent per pod: forget them with the pod.
    if (type === 'DELETED' && pod.metadata?.uid) events.forget(pod.metadata.uid);
  });

  let timer: unknown;
  const every = () => {
    timer = clock.setTimeout(async () => { await pollNamespaces(); if (!closed) every(); }, opts.namespacePollMs ?? 30_000);
  };

  const ready = (async () => {
    await pollNamespaces();
    every();
    // Until the first bundle is there, nothing can be served: keep trying.
    for (let delay = 1_000; ; delay = Math.min(delay * 2, 30_000)) {
      if (closed) throw new Error('closed');
      try { await keeper.sync(); break; } catch (err) {
        log.warn({ err: describeKubeError(err), retryInMs: delay }, 'webhook certificate not available yet');
        await new Promise((r) => setTimeout(r, delay));
      }
    }
    keeper.start(opts.certSyncMs ?? 60_000);
    app = await buildWebhookApp({
      core, authn: kc.makeApiClient(k8s.AuthenticationV1Api), metrics: controller.metrics, webhookMetrics: wm, log, apiTimeoutMs: opts.apiTimeoutMs,
      now: () => clock.now(),
      gatedInCache: (uid) => controller.store.get(uid)?.hasGate,
      inject: () => ({ reporterImage: s.reporterImage, reportUrl: s.reportUrl, caBundle: keeper.bundle!.caBundle,
        ...(s.defaultTarget !== undefined ? { defaultTarget: s.defaultTarget } : {}),
        ...(s.probeTimeout !== undefined ? { defaultProbeTimeout: s.probeTimeout } : {}), excludedNamespaces: s.excludedNamespaces,
        ...(s.reporterResources ? { reporterResources: s.reporterResources } : {}) }),
    }, keeper.bundle);
    const addr = parseListen(s.listen);
    await app.listen({ host: addr.host === '' ? '::' : addr.host, port: addr.port });
    const bound = app.server.address() as { address: string; port: number; family: string };
    const host = bound.family === 'IPv6' ? `[${bound.address}]` : bound.address;
    log.info({ url: `https://${host}:${bound.port}` }, 'webhook and report endpoint listening');
    return `https://${host}:${bound.port}`;
  })();
  // A listen failure (port taken, bad address) would otherwise pass in silence: readiness stays
  // false (listening), and the log says why.
  ready.catch((err: unknown) => { if (!closed) log.error({ err: String(err), listen: s.listen }, 'webhook and report endpoint could not start'); });

  return {
    ready,
    get bundle() { return keeper.bundle; },
    get listening() { return !closed && app?.server.listening === true; },
    async close() {
      closed = true;
      stopAudit();
      keeper.stop();
      if (timer !== undefined) clock.clearTimeout(timer);
      await app?.close();
    },
  };
}
