// Builds what every pod loads: dist/reporter.cjs, the reporter (src/reporter/bin.ts) as one
// CommonJS file with everything it imports from src/ and nothing from node_modules (the test in
// test/reporter/bundle.test.ts holds it to that); and dist/entry.cjs, the image's entrypoint,
// which hands `reporter` to it with require() and every other command to dist/cli.js (see
// src/entry.ts for why neither goes through the ES module loader). Part of `npm run build`.
import { build, type BuildOptions } from 'esbuild';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

/** One file from src/, as an ES module: how the benchmarks' children and the tests' CLI are built. */
export const ESM_BUNDLE: BuildOptions = {
  absWorkingDir: root,
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

export const REPORTER_BUNDLE: BuildOptions = {
  ...ESM_BUNDLE,
  entryPoints: ['src/reporter/bin.ts'],
  outfile: 'dist/reporter.cjs',
  format: 'cjs',
};

/** The entrypoint: the two files it loads stay files of their own beside it. */
export const ENTRY_BUNDLE: BuildOptions = {
  ...REPORTER_BUNDLE,
  entryPoints: ['src/entry.ts'],
  outfile: 'dist/entry.cjs',
  external: ['./reporter.cjs', './cli.js'],
};

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const options of [REPORTER_BUNDLE, ENTRY_BUNDLE]) {
    const result = await build({ ...options, metafile: true });
    const out = Object.entries(result.metafile.outputs)[0]!;
    process.stdout.write(`${out[0]}: ${(out[1].bytes / 1024).toFixed(1)} KiB from ${Object.keys(result.metafile.inputs).length} files\n`);
  }
}
