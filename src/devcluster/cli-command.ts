// How the local tooling runs the dpready CLI: the compiled one (dist/cli.js, as in the image)
// when asked, else the sources through tsx, so a stale dist/ is never picked up by accident.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DpreadyError } from '../errors.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const BUILT_CLI = join(ROOT, 'dist', 'cli.js');
const SOURCE_CLI = join(ROOT, 'src', 'cli.ts');

export function cliCommand(opts: { built?: boolean } = {}): string[] {
  const built = opts.built ?? false;
  if (built && !existsSync(BUILT_CLI)) throw new DpreadyError('DPR_CONTROL_PLANE', `${BUILT_CLI} is missing: run npm run build`);
  return built ? [process.execPath, BUILT_CLI] : [process.execPath, '--import', 'tsx', SOURCE_CLI];
}
