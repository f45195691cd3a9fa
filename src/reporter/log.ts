// JSON lines on stderr. Not pino: the reporter's time to first probe is measured, and a
// logger library is load time spent before the first attempt for three log lines.
export type Fields = Record<string, unknown>;
export interface Logger {
  info(msg: string, fields?: Fields): void;
  warn(msg: string, fields?: Fields): void;
  error(msg: string, fields?: Fields): void;
}

export function createLogger(write: (line: string) => void = (l) => process.stderr.write(l)): Logger {
  const emit = (level: string) => (msg: string, fields?: Fields) => {
    write(`${JSON.stringify({ level, time: new Date().toISOString(), component: 'reporter', msg, ...fields })}\n`);
  };
  return { info: emit('info'), warn: emit('warn'), error: emit('error') };
}

export const silentLogger: Logger = { info: () => {}, warn: () => {}, error: () => {} };
