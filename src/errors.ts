// One catalogue of dpready's errors: a stable code, a message that names what was wrong,
// and for the CLI an exit code. Modelled on fastify's lib/errors.js: callers throw
// `new DpreadyError('DPR_BAD_ENV', 'PROBE_TIMEOUT="abc": expected seconds or a duration like 30s')`.

export const ErrorCodes = {
  /** A reporter environment variable or CLI flag has a value we cannot use. */
  DPR_BAD_CONFIG: { exitCode: 2, summary: 'bad configuration' },
  /** A probe target string cannot be parsed. */
  DPR_BAD_TARGET: { exitCode: 2, summary: 'bad probe target' },
  /** The reporter's deadline passed before every target answered. */
  DPR_PROBE_DEADLINE: { exitCode: 3, summary: 'probe deadline passed' },
  /** The Kubernetes API could not be reached or refused us, after bounded retries. */
  DPR_API_FAILURE: { exitCode: 4, summary: 'Kubernetes API failure' },
  /** A label selector string is malformed. */
  DPR_BAD_SELECTOR: { exitCode: 2, summary: 'bad label selector' },
  /** A duration string is malformed. */
  DPR_BAD_DURATION: { exitCode: 2, summary: 'bad duration' },
  /** The local control plane could not be built or started. */
  DPR_CONTROL_PLANE: { exitCode: 5, summary: 'local control plane failure' },
  /** Unknown CLI command or flag. */
  DPR_USAGE: { exitCode: 64, summary: 'usage' },
} as const;

export type ErrorCode = keyof typeof ErrorCodes;

export class DpreadyError extends Error {
  readonly code: ErrorCode;
  readonly exitCode: number;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DpreadyError';
    this.code = code;
    this.exitCode = ErrorCodes[code].exitCode;
  }
}

export function isDpreadyError(err: unknown, code?: ErrorCode): err is DpreadyError {
  return err instanceof DpreadyError && (code === undefined || err.code === code);
}
