// Entry of the reporter's own bundle, dist/reporter.js (scripts/bundle-reporter.ts): `dpready
// reporter` loads it instead of the CLI's module graph, and `node dist/reporter.js` runs it
// directly. It holds the reporter and nothing else, so each pod's Node loads one file.
import { pathToFileURL } from 'node:url';

import { finishCommand } from '../command-exit.ts';
import { main } from './main.ts';

export { main };

// Run directly (not imported by the CLI): the arguments follow the script.
if (process.argv[1] && pathToFileURL(process.argv[1]).href === import.meta.url) finishCommand(main(process.argv.slice(2)));
