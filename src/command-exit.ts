// How every dpready entry point ends: a command's exit code, or its error on stderr (a
// DpreadyError as "dpready: CODE: message" with the code's exit status). Shared by the CLI and
// the reporter's own bundle, so both fail alike.
import { isDpreadyError } from './errors.ts';

export function finishCommand(run: Promise<number>): void {
  run.then(
    (code) => { process.exitCode = code; },
    (err: unknown) => {
      if (isDpreadyError(err)) {
        process.stderr.write(`dpready: ${err.code}: ${err.message}\n`);
        process.exitCode = err.exitCode;
      } else {
        process.stderr.write(`dpready: unexpected error: ${err instanceof Error ? err.stack : String(err)}\n`);
        process.exitCode = 1;
      }
    },
  );
}
