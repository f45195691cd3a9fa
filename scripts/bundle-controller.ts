// Builds dist/controller.js: `dpready controller` (src/controller/main.ts) as one ES module with
// its libraries (fastify, zod, pino, prom-client, yaml…) bundled in. Imported, it takes a process
// to 85 MiB against 91 for the same code loaded file by file (import-cost-2026-12-05-9481e43.json);
// running, it is lower only with MALLOC_ARENA_MAX=2, as deployed (docs/performance.md, "Memory").
// Part of `npm run build`; dist/cli.js loads it.
//
// Left as imports, loaded from node_modules when used:
// - @kubernetes/client-node and node-forge: only for an exec credential plugin or auth provider
//   (src/kube/kube-auth.ts) and the webhook (--webhook). Code splitting keeps what is reached only
//   through `await import()` in chunks of its own (dist/controller-*.js), so their static imports
//   load only with that feature; test/controller-bundle.test.ts holds the entry chunk to that.
// - @fastify/swagger-ui: it serves static files read relative to its own package.
// - undici: src/kube/http.ts takes two of its modules with createRequire (not bundled by esbuild).
import { build, type BuildOptions, type Plugin } from 'esbuild';
import { readdirSync, rmSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

/** Loaded only when a feature needs them; never in the controller's start-up. */
export const CONTROLLER_EXTERNAL = ['@kubernetes/client-node', 'node-forge', '@fastify/swagger-ui'];

const BUILTIN = new Set([...builtinModules, ...builtinModules.map((m) => `node:${m}`)]);

/**
 * Node's built-in modules taken with require(), not an ES import. An ES import of a built-in
 * builds its namespace from every export, which runs node:http's lazy getters (WebSocket,
 * CloseEvent…) and so loads Node's own bundled undici: `import('node:http')` takes a bare process
 * from 45 to 60 MiB RSS, `require('node:http')` to 47. Each `import … from 'node:x'` becomes an
 * import of a one-line CommonJS module re-exporting `require('node:x')`, whose properties esbuild
 * reads only where they are used.
 */
export const builtinsByRequire: Plugin = {
  name: 'builtins-by-require',
  setup(b) {
    b.onResolve({ filter: /^(node:)?[a-z_/0-9]+$/ }, (args) => (
      BUILTIN.has(args.path) && (args.kind === 'import-statement' || args.kind === 'dynamic-import')
        ? { path: args.path, namespace: 'builtin-by-require' } : undefined));
    b.onLoad({ filter: /.*/, namespace: 'builtin-by-require' }, (args) => ({
      contents: `module.exports = require(${JSON.stringify(args.path)});`, loader: 'js',
    }));
  },
};

export const CONTROLLER_BUNDLE: BuildOptions = {
  absWorkingDir: root,
  entryPoints: { controller: 'src/controller/main.ts' },
  outdir: 'dist',
  // Chunks beside the entry, not in a folder: src/build-info.ts finds package.json at
  // `../package.json` from its module, which must stay one level below the package root.
  chunkNames: 'controller-[name]-[hash]',
  splitting: true,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node24',
  external: CONTROLLER_EXTERNAL,
  plugins: [builtinsByRequire],
  // The bundled CommonJS libraries call require() for Node's built-ins: an ES module has none.
  banner: { js: "import { createRequire as __dpreadyCreateRequire } from 'node:module'; const require = __dpreadyCreateRequire(import.meta.url);" },
  minify: true,
  // Class and function names kept: stack traces, pino's error serializer and `err.name` read them.
  keepNames: true,
  sourcemap: 'linked',
  // The map names paths relative to dist/; its sources are not copied in (the image has no src/).
  sourcesContent: false,
  legalComments: 'none',
  logLevel: 'warning',
};

if (import.meta.url === `file://${process.argv[1]}`) {
  // Chunk names carry a content hash: an earlier build's chunks would stay beside the new ones.
  const dist = join(root, 'dist');
  for (const f of readdirSync(dist)) if (/^controller(-.+)?\.js(\.map)?$/.test(f)) rmSync(join(dist, f));
  const result = await build({ ...CONTROLLER_BUNDLE, metafile: true });
  for (const [file, out] of Object.entries(result.metafile.outputs)) {
    if (file.endsWith('.map')) continue;
    process.stdout.write(`${file}: ${(out.bytes / 1024).toFixed(1)} KiB from ${Object.keys(out.inputs).length} files\n`);
  }
}
