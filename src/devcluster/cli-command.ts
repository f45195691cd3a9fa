// How the local tooling runs the dpready CLI: the compiled one when asked, through the image's
// entrypoint (dist/entry.cjs, which loads dist/cli.js or the reporter's bundle), else the
// sources through tsx, so a stale dist/ is never picked up by accident.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DpreadyError } from '../errors.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const BUILT_CLI = join(ROOT, 'dist', 'entry.cjs');
const SOURCE_CLI = join(ROOT, 'src', 'cli.ts');

export function cliCommand(opts: { built?: boolean } = {}): string[] {
  const built = opts.built ?? false;
  if (built && !existsSync(BUILT_CLI)) throw new DpreadyError('DPR_CONTROL_PLANE', `${BUILT_CLI} is missing: run npm run build`);
  return built ? [process.execPath, BUILT_CLI] : [process.execPath, '--import', 'tsx', SOURCE_CLI];
}
