// Finds the control-plane binaries, building them on first use. The Go build and its cache
// (keyed by go.mod + go.sum, outside the repo) live in test/controlplane/build.sh, which
// takes a lock so parallel test files wait for one build instead of starting two.
import { fileURLToPath } from 'node:url';
import { runBuildScript } from './build-script.ts';

const BUILD_SCRIPT = fileURLToPath(new URL('../../test/controlplane/build.sh', import.meta.url));

let cached: Promise<string> | undefined;

export function ensureBinaries(log: (line: string) => void = () => {}): Promise<string> {
  cached ??= runBuildScript(BUILD_SCRIPT, [], 'the control plane', log);
  return cached;
}
