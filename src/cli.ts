#!/usr/bin/env node
// `dpready <command>`: one binary for every role, so one image serves reporter and controller.
// Each command lives in its own module, loaded only when chosen, so the reporter's start-up
// (which is measured) does not pay for the controller's dependencies.
import { createRequire } from 'node:module';

import { finishCommand } from './command-exit.ts';
import { DpreadyError } from './errors.ts';

type Command = { summary: string; load: () => Promise<{ main: (argv: string[]) => Promise<number> }> };

const COMMANDS: Record<string, Command> = {
  controller: {
    summary: 'mirror datapath readiness into the pod condition, record results, serve the stats API',
    // Built, the controller is its own bundle too (dist/controller.js, scripts/bundle-controller.ts):
    // its libraries in one module graph: 85 MiB at import against 91 for tsc's modules; the running
    // controller gains only with MALLOC_ARENA_MAX=2 beside it (docs/performance.md).
    load: () => (import.meta.url.endsWith('.ts') ? import('./controller/main.ts')
      : import(new URL('./controller.js', import.meta.url).href) as Promise<typeof import('./controller/main.ts')>),
  },
  demo: { summary: 'show a rollout gated on datapath readiness on a local control plane, then its stats', load: () => import('./devcluster/demo.ts') },
  'dev-cluster': { summary: 'run a local Kubernetes control plane with fake (KWOK) nodes until interrupted', load: () => import('./devcluster/command.ts') },
  reporter: {
    summary: 'probe the datapath from inside a pod and record it on the pod',
    // Built, the reporter is its own CommonJS bundle (dist/reporter.cjs, scripts/bundle-reporter.ts):
    // one file to load in every pod. The image's entrypoint (src/entry.ts) loads it without this
    // module at all. From source (tsx), its module graph.
    load: async () => (import.meta.url.endsWith('.ts') ? import('./reporter/main.ts')
      : createRequire(import.meta.url)('./reporter.cjs') as typeof import('./reporter/bin.ts')),
  },
  stats: { summary: 'print time-to-start and time-to-datapath-ready percentiles, worst and failed pods', load: () => import('./api/stats-command.ts') },
};

function usage(): string {
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(12)} ${c.summary}`);
  return `usage: dpready <command> [flags]\n\ncommands:\n${lines.join('\n')}\n\nRun dpready <command> --help for its flags; dpready --version for the version.`;
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === '--help' || name === '-h') {
    process.stdout.write(usage() + '\n');
    return 0;
  }
  // No command is a usage error: the usage goes to stderr (stdout may be a pipe), exit 64.
  if (!name) throw new DpreadyError('DPR_USAGE', `no command given\n${usage()}`);
  if (name === '--version' || name === '-v') {
    const { buildInfo } = await import('./build-info.ts');
    const { version, revision } = buildInfo();
    process.stdout.write(`dpready ${version} (revision ${revision}, Node ${process.version})\n`);
    return 0;
  }
  const command = COMMANDS[name];
  if (!command) throw new DpreadyError('DPR_USAGE', `unknown command ${JSON.stringify(name)}\n${usage()}`);
  let mod: Awaited<ReturnType<Command['load']>>;
  try {
    mod = await command.load();
  } catch (err) {
    // The image leaves out the local-cluster tooling (it builds Kubernetes from a clone's Go modules).
    if ((err as { code?: string }).code === 'ERR_MODULE_NOT_FOUND') {
      throw new DpreadyError('DPR_USAGE', `${name} is not part of this installation; run it from a clone of the dpready repository`, { cause: err });
    }
    throw err;
  }
  return mod.main(rest);
}

finishCommand(main(process.argv.slice(2)));
