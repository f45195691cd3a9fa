// `dpready reporter`: environment in, one run, exit code out. In sidecar mode the container
// stays up after the run whatever its outcome, because an exiting sidecar is restarted by
// the kubelet: exiting on a deadline or an API failure would turn into a crash loop that
// probes and writes again and again. It stays up as a minimal waiter (handover.ts), not as
// Node: the run's memory goes back to the node. Only a bad configuration exits (code 2) in
// both modes, since nothing useful can run and a crash loop is then the visible signal it
// should be.
import { systemClockAt } from './clock.ts';
import { loadConfig, VARIABLES } from './config.ts';
import { listenForReceive } from './receive-listener.ts';
import { RECEIVE_PATH } from '../contract-names.ts';
import { createLogger } from './log.ts';
import { controllerPodApi } from './controller-api.ts';
import { findWaiter, handOver } from './handover.ts';
import { kubePodApi } from './kube-pod-api.ts';
import { probeOnce } from './probes.ts';
import { run } from './run.ts';
import { warmUp, warmUpKinds } from './warm-up.ts';

function help(): string {
  const rows = Object.entries(VARIABLES).map(([k, v]) => `  ${k.padEnd(27)} ${v.help}${v.default !== undefined ? ` (default ${v.default})` : ''}`);
  return [
    'usage: dpready reporter',
    '',
    'Probes PROBE_TARGET from inside the pod and records, as annotations on the pod, when the',
    'process started and when the datapath first worked. Configured by environment:',
    ...rows,
    '',
    'exit codes: 0 written (or already recorded, or stopped by SIGTERM), 2 bad configuration,',
    '            3 probe deadline passed (failure annotation written), 4 Kubernetes API failure.',
    'In sidecar mode only code 2 exits; other outcomes hand over to /bin/sh waiting for SIGTERM, then exit 0.',
  ].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`${help()}\n`);
    return 0;
  }
  const log = createLogger();
  const config = loadConfig(process.env);
  // Every instant written is dated from the wall-clock instant of the monotonic clock's origin,
  // paired by the image's entrypoint, not from performance.timeOrigin (clock.ts).
  const clock = systemClockAt(config.originWallMs);
  if (config.unknownVariables.length) log.warn('unknown PROBE_* variables ignored (typo?)', { names: config.unknownVariables });

  const terminated = new AbortController();
  const onSignal = (sig: string) => () => {
    log.info('signal received; stopping', { signal: sig });
    terminated.abort();
  };
  process.once('SIGTERM', onSignal('SIGTERM'));
  process.once('SIGINT', onSignal('SIGINT'));

  // Listening before probing: the controller may knock as soon as the pod has an IP.
  const receiver = config.receivePort !== undefined ? await listenForReceive(config.receivePort, clock) : undefined;
  if (receiver) log.info('receive check: listening for inbound probes', { port: receiver.port, path: RECEIVE_PATH });

  let api: { close(): void } | undefined;
  const result = await run({
    ...(receiver ? { receive: receiver } : {}),
    config,
    start: config.start,
    clock,
    probe: probeOnce,
    warmUp: (targets) => warmUp(warmUpKinds(targets), probeOnce, clock.now),
    log,
    signal: terminated.signal,
    podApi: async () => {
      // Injected by the webhook: no Kubernetes credential, the controller writes for us.
      if (config.report) return (api = await controllerPodApi(config.report));
      return (api = await kubePodApi({
        podName: config.podName, namespace: config.namespace, env: process.env,
        ...(config.serviceAccountDir ? { serviceAccountDir: config.serviceAccountDir } : {}),
      }));
    },
  });
  api?.close();
  // The receive side is over too: run() returned after the first knock (or its deadline).
  await receiver?.close();

  if (config.mode === 'init') return result.exitCode;
  if (terminated.signal.aborted) return 0;
  const waiter = findWaiter();
  if ('missing' in waiter) {
    // No shell in this image: idle in Node, as small as it gets without one.
    log.warn('sidecar mode: idle until SIGTERM; no waiter to hand over to, so Node stays', { outcome: result.outcome, missing: waiter.missing });
  } else {
    log.info('sidecar mode: idle until SIGTERM; handing over to a minimal waiter', { outcome: result.outcome, waiter: waiter.file });
    handOver(waiter);
  }
  // An unresolved promise does not keep Node alive; a timer does.
  const keepAlive = setInterval(() => {}, 1 << 30);
  await new Promise<void>((resolve) => terminated.signal.addEventListener('abort', () => resolve(), { once: true }));
  clearInterval(keepAlive);
  return 0;
}
