// Entry of the reporter's own bundle, dist/reporter.cjs (scripts/bundle-reporter.ts): the image's
// entrypoint (src/entry.ts) and `dpready reporter` (src/cli.ts) load it with require(), instead
// of the CLI's module graph. It holds the reporter and nothing else, so each pod's Node loads
// one file, as CommonJS: no ES module loader on the way to the first attempt.
import { finishCommand } from '../command-exit.ts';
import { main } from './main.ts';

export { main };

/** `dpready reporter ARGS`: runs the reporter and sets the process's exit code. */
export function runCommand(argv: string[]): void {
  finishCommand(main(argv));
}
