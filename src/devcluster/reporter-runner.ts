// Plays the container runtime for dpready's reporter on KWOK nodes. KWOK fakes containers,
// so nothing would ever probe; this watches pods and, once KWOK marks one Running, starts a
// real `dpready reporter` process for each of its containers that runs the reporter, with
// that container's environment (downward-API fields resolved) and a token bound to the pod
// (as a kubelet mounts it, serviceAccountEnv): the same identity and inputs it would have in a
// real cluster.
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { cliCommand } from './cli-command.ts';
import { serviceAccountEnv } from './kubeconfig-file.ts';
import type { ControlPlane } from './control-plane.ts';

export interface ReporterProcess {
  namespace: string;
  pod: string;
  uid: string;
  container: string;
  child: ChildProcess;
  startedAt: number;
  exitCode?: number | null;
}

export interface ReporterRunnerOptions {
  /** Only pods in this namespace. */
  namespace: string;
  /** Overrides of the container's environment, e.g. PROBE_TARGET pointing at a local server. */
  env?: Record<string, string>;
  /** Run the compiled CLI (dist/cli.js) instead of the sources through tsx. */
  built?: boolean;
  log?: (line: string) => void;
}

/** True for a container that runs `dpready reporter`: its args (or command) say so. */
export function runsReporter(c: k8s.V1Container): boolean {
  const words = [...(c.command ?? []), ...(c.args ?? [])];
  return words.includes('reporter');
}

function resolveEnv(pod: k8s.V1Pod, container: k8s.V1Container): Record<string, string> {
  const env: Record<string, string> = {};
  for (const e of container.env ?? []) {
    if (e.value !== undefined) env[e.name] = e.value;
    const path = e.valueFrom?.fieldRef?.fieldPath;
    if (!path) continue;
    const fields: Record<string, string | undefined> = {
      'metadata.name': pod.metadata?.name, 'metadata.namespace': pod.metadata?.namespace, 'metadata.uid': pod.metadata?.uid,
      'spec.nodeName': pod.spec?.nodeName, 'spec.serviceAccountName': pod.spec?.serviceAccountName, 'status.podIP': pod.status?.podIP,
      'status.hostIP': pod.status?.hostIP,
    };
    const v = fields[path];
    if (v !== undefined) env[e.name] = v;
  }
  return env;
}

export class ReporterRunner {
  readonly processes: ReporterProcess[] = [];
  private readonly started = new Set<string>();
  private abort?: AbortController;
  private stopped = false;

  constructor(private readonly cp: ControlPlane, private readonly opts: ReporterRunnerOptions) {}

  async start(): Promise<void> {
    const watch = new k8s.Watch(this.cp.kubeConfig);
    const loop = async () => {
      while (!this.stopped) {
        await new Promise<void>((resolve) => {
          void watch.watch(`/api/v1/namespaces/${this.opts.namespace}/pods`, {}, (type: string, pod: k8s.V1Pod) => {
            if (type === 'ADDED' || type === 'MODIFIED') void this.maybeStart(pod);
            // The container runtime stops a deleted pod's containers.
            if (type === 'DELETED' || pod.metadata?.deletionTimestamp) this.stopPod(pod.metadata?.uid);
          }, () => resolve()).then((ctl) => { this.abort = ctl; }, () => resolve());
        });
        // Re-watch (which replays every pod as ADDED) after a short pause, never in a hot loop.
        if (!this.stopped) await new Promise((r) => setTimeout(r, 200));
      }
    };
    void loop();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.abort?.abort();
    await Promise.all(this.processes.map((p) => new Promise<void>((resolve) => {
      if (p.child.exitCode !== null || p.child.signalCode !== null) return resolve();
      p.child.once('exit', () => resolve());
      p.child.kill('SIGTERM');
      setTimeout(() => p.child.kill('SIGKILL'), 5_000).unref();
    })));
  }

  private stopPod(uid: string | undefined): void {
    for (const p of this.processes) {
      if (p.uid === uid && p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGTERM');
    }
  }

  /** Processes still running. */
  get running(): number {
    return this.processes.filter((p) => p.child.exitCode === null && p.child.signalCode === null).length;
  }

  private async maybeStart(pod: k8s.V1Pod): Promise<void> {
    const uid = pod.metadata?.uid;
    if (!uid || pod.status?.phase !== 'Running' || pod.metadata?.deletionTimestamp || this.started.has(uid) || this.stopped) return;
    const containers = [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])].filter(runsReporter);
    if (!containers.length) return;
    this.started.add(uid);
    const ns = pod.metadata!.namespace!;
    const name = pod.metadata!.name!;
    const kubeconfig = await this.cp.podKubeconfig({ namespace: ns, serviceAccount: pod.spec?.serviceAccountName ?? 'default', podName: name, podUid: uid });
    for (const c of containers) {
      const env = { ...resolveEnv(pod, c), ...this.opts.env };
      const [cmd, ...args] = cliCommand({ built: this.opts.built });
      const logFile = join(this.cp.dir, `reporter-${ns}-${name}-${c.name}.log`);
      const fd = openSync(logFile, 'a');
      // Like a container, a reporter must not outlive the runner (sidecars wait for SIGTERM
      // forever): the kernel kills it when this process goes, however it goes.
      const child = spawn('setpriv', ['--pdeathsig', 'SIGKILL', '--', cmd!, ...args, 'reporter'], {
        stdio: ['ignore', fd, fd],
        env: { PATH: process.env.PATH, HOME: process.env.HOME, ...serviceAccountEnv(kubeconfig), ...env },
      });
      closeSync(fd);
      const proc: ReporterProcess = { namespace: ns, pod: name, uid, container: c.name, child, startedAt: Date.now() };
      child.once('exit', (code) => {
        proc.exitCode = code;
        this.opts.log?.(`reporter for ${ns}/${name} exited with ${code}`);
      });
      this.processes.push(proc);
      this.opts.log?.(`started reporter for ${ns}/${name} (${c.name}), log ${logFile}`);
    }
  }
}
