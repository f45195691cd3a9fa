// What this build is: the version from package.json (next to dist/ in the image, next to src/
// in a clone) and the source revision the image was built from (the Dockerfile's REVISION
// build argument, as DPREADY_REVISION), for `dpready --version` and dpready_build_info.
import { readFileSync } from 'node:fs';

export interface BuildInfo { version: string; revision: string }

let cached: BuildInfo | undefined;

export function buildInfo(env: NodeJS.ProcessEnv = process.env): BuildInfo {
  if (cached && env === process.env) return cached;
  let version = 'unknown';
  try {
    version = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version?: string }).version ?? 'unknown';
  } catch {
    // A file layout without package.json beside it: the version is unknown, not an error.
  }
  const info = { version, revision: env.DPREADY_REVISION || 'unknown' };
  if (env === process.env) cached = info;
  return info;
}
