// The image's entrypoint, dist/entry.cjs (Dockerfile; built by scripts/bundle-reporter.ts). The
// reporter runs in every pod of a scale test and its start-up is measured, so `reporter` is
// routed here, before any ES module is loaded: its CommonJS bundle comes in through require(),
// synchronously. Through the ES module loader (dist/cli.js, then an import()) Node first compiles
// the loader's own internals, which are not in its start-up snapshot, then resolves and links
// each module, and the first attempt came later: by hand on this machine's 2 cores beside two
// busy loops, median of 21 starts, 84.6 against 68.4 ms of CPU and 141 against 118 ms of wall
// time (docs/performance.md, "The reporter loaded without the ES module loader"). Every other
// command goes to the CLI, dist/cli.js, as before.
const [command, ...rest] = process.argv.slice(2);
// eslint-disable-next-line @typescript-eslint/no-require-imports -- a synchronous CommonJS load is the point
if (command === 'reporter') (require('./reporter.cjs') as typeof import('./reporter/bin.ts')).runCommand(rest);
else void import('./cli.js');
