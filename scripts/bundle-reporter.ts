// Builds dist/reporter.js: the reporter (src/reporter/bin.ts) as one ES module with everything
// it imports from src/, and nothing from node_modules (the test in test/reporter/bundle.test.ts
// holds it to that). Part of `npm run build`, so the image carries it beside the CLI.
import { build, type BuildOptions } from 'esbuild';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

export const REPORTER_BUNDLE: BuildOptions = {
  absWorkingDir: root,
  entryPoints: ['src/reporter/bin.ts'],
  outfile: 'dist/reporter.js',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node24',
  // Smaller to read and parse at every pod start; names kept so stack traces stay readable.
  minifyWhitespace: true,
  minifySyntax: true,
  legalComments: 'none',
  logLevel: 'warning',
};

if (import.meta.url === `file://${process.argv[1]}`) {
  const result = await build({ ...REPORTER_BUNDLE, metafile: true });
  const out = Object.entries(result.metafile.outputs)[0]!;
  process.stdout.write(`${out[0]}: ${(out[1].bytes / 1024).toFixed(1)} KiB from ${Object.keys(result.metafile.inputs).length} files\n`);
}
