// Runs the compatibility checks of test/compat/ (a Go program with the existing system's
// response types, and the existing pipelines' curl + jq extraction) against a stats API URL.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { tempDir } from './temp-dir.ts';

const run = promisify(execFile);
const COMPAT = fileURLToPath(new URL('../compat/', import.meta.url));

export interface CheckResult { code: number; stdout: string; stderr: string }

async function exec(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<CheckResult> {
  try {
    const { stdout, stderr } = await run(cmd, args, { ...opts, maxBuffer: 16 << 20, timeout: 5 * 60_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number | string; stdout?: string; stderr?: string; message: string };
    if (typeof e.code !== 'number') throw err;
    return { code: e.code, stdout: e.stdout ?? '', stderr: e.stderr ?? e.message };
  }
}

let built: Promise<string> | undefined;

/** Builds test/compat/go once per process (plain `go build`, no third-party modules). */
export function buildGoCompat(): Promise<string> {
  built ??= (async () => {
    const out = join(tempDir('compat'), 'compat');
    const r = await exec('go', ['build', '-o', out, '.'], { cwd: join(COMPAT, 'go'), env: { ...process.env, GOTOOLCHAIN: 'local', GOFLAGS: '-mod=mod', CGO_ENABLED: '0' } });
    if (r.code !== 0) throw new Error(`go build of test/compat/go failed:\n${r.stderr}`);
    return out;
  })();
  return built;
}

/** The Go program: decodes all three routes into the existing types. */
export async function runGoCompat(server: string, query: string): Promise<CheckResult> {
  return exec(await buildGoCompat(), ['-server', server, '-query', query]);
}

/** The pipeline script: curl + jq extractions and type checks, then the merged results file. */
export function runPipeline(server: string, selector: string, resultsFile: string): Promise<CheckResult> {
  return exec('bash', [join(COMPAT, 'pipeline.sh'), server, selector, resultsFile]);
}
