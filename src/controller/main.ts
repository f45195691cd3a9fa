// `dpready controller`: the controller and its HTTP API in one process. The API starts
// first, so probes get answers (503 from /readyz) while the caches fill.
import { pino } from 'pino';
import { DatapathResult } from '../contract.ts';
import { ResultIndex } from '../api/result-index.ts';
import { startApiServer } from '../api/server.ts';
import { parseSelector } from '../labels/selector.ts';
import { CONTROLLER_USAGE, parseControllerArgs } from './config.ts';
import { Controller, type Logger, type ResultListener } from './controller.ts';
import { loadKubeConfig } from './kubeconfig.ts';
import { clientNodeUser, type KubeConfigLite } from '../kube/kube-config.ts';
import { podSource } from './pod-views.ts';
import type { Adoption } from '../webhook/adoption.ts';

export { KUBECONFIG_LOOKUP, loadKubeConfig } from './kubeconfig.ts';

/** Feeds the stats API's index from the DatapathResult watch, skipping objects that do not validate. */
export function indexListener(index: ResultIndex, log: Logger): ResultListener {
  const valid = (obj: unknown): DatapathResult | undefined => {
    const r = DatapathResult.safeParse(obj);
    if (r.success) return r.data;
    const m = (obj as { metadata?: { namespace?: string; name?: string } })?.metadata;
    log.warn({ result: `${m?.namespace}/${m?.name}`, problem: r.error.issues[0]?.message }, 'ignoring a DatapathResult that does not match the schema');
    return undefined;
  };
  return {
    replace: (objs) => index.replaceAll(objs.map(valid).filter((r): r is DatapathResult => !!r)),
    upsert: (obj) => { const r = valid(obj); if (r) index.upsert(r); },
    delete: (obj) => { const uid = (obj as { spec?: { podRef?: { uid?: string } } })?.spec?.podRef?.uid; if (uid) index.delete(uid); },
    markSynced: () => index.markSynced(),
  };
}

/** The same cluster and user as a client-node KubeConfig, for the parts that use its typed APIs. */
export async function toClientNodeConfig(kc: KubeConfigLite) {
  const k8s = await import('@kubernetes/client-node');
  const { shareConnections } = await import('../kube/shared-dispatcher.ts');
  const out = new k8s.KubeConfig();
  out.loadFromClusterAndUser(kc.getCurrentCluster() as never, clientNodeUser(kc.getCurrentUser() ?? { name: 'user' }) as never);
  return shareConnections(out);
}

export async function main(argv: string[]): Promise<number> {
  const cfg = parseControllerArgs(argv, process.env, (s) => { parseSelector(s, '--label-selector'); });
  if (cfg === 'help') { process.stdout.write(CONTROLLER_USAGE); return 0; }
  const log = pino({ level: cfg.logLevel, base: { component: 'dpready-controller' } });
  const kc = loadKubeConfig(cfg.kubeconfig);
  const controller = new Controller(kc, cfg, log);
  // Ready comes after our gate, so after the result is written: the index takes its instant from the watch.
  const index = new ResultIndex({ readySeen: (uid) => controller.readySeen(uid) });
  controller.addResultListener(indexListener(index, log));
  controller.addReadyListener((uid, ms) => index.noteReady(uid, ms));
  // Set once the webhook is started (below); readiness reads it.
  const webhook: { adoption?: Adoption } = {};
  let draining = false;
  const api = await startApiServer({
    listen: cfg.listen, tokenFile: cfg.apiTokenFile,
    results: index, pods: podSource(controller.store), registry: controller.metrics.registry,
    isReady: () => controller.synced,
    // The webhook is served by every replica: one whose listener is not up must not be in the Service.
    notServing: () => (draining ? 'shutting down' : cfg.webhook && !webhook.adoption?.listening ? 'webhook not listening' : undefined),
  });
  log.info({ url: api.url, namespace: cfg.namespace || '(all)', labelSelector: cfg.labelSelector, leaderElect: cfg.leaderElect,
    datapathTimeoutMs: cfg.datapathTimeoutMs, timeoutPolicy: cfg.timeoutPolicy }, 'dpready controller starting');

  const stopped = new Promise<void>((resolve) => {
    process.once('SIGTERM', () => resolve());
    process.once('SIGINT', () => resolve());
  });
  // The webhook's calls are client-node's typed APIs: loaded only when it is on.
  const adoption = cfg.webhook ? (await import('../webhook/adoption.ts')).startAdoption(await toClientNodeConfig(kc), cfg.webhook, controller, log, { apiTimeoutMs: cfg.apiTimeoutMs }) : undefined;
  webhook.adoption = adoption;
  void controller.start();
  await stopped;
  // Drain: readiness fails first, so the Service (and the API server calling the webhook) moves
  // to the other replicas, while this one keeps answering; only then does it close. With the
  // chart's preStop sleep in front, an upgrade or a drain never leaves a pod uninjected.
  draining = true;
  log.info({ drainMs: cfg.shutdownDelayMs }, 'shutting down: readiness failed, draining');
  await new Promise((r) => setTimeout(r, cfg.shutdownDelayMs));
  await adoption?.close();
  await controller.stop();
  await api.close();
  return 0;
}
