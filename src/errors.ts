// One catalogue of dpready's errors: a stable code, a message that names what was wrong,
// for the CLI an exit code and for the HTTP API a status. Modelled on fastify's lib/errors.js: callers throw
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
  /** The API server does not serve DatapathResults: the CRD is not installed (or not yet established). */
  DPR_CRD_MISSING: { exitCode: 4, summary: 'DatapathResult CRD not served' },
  /** A label selector string is malformed. */
  DPR_BAD_SELECTOR: { exitCode: 2, summary: 'bad label selector' },
  /** A duration string is malformed. */
  DPR_BAD_DURATION: { exitCode: 2, summary: 'bad duration' },
  /** The local control plane could not be built or started. */
  DPR_CONTROL_PLANE: { exitCode: 5, summary: 'local control plane failure' },
  /** Unknown CLI command or flag. */
  DPR_USAGE: { exitCode: 64, summary: 'usage' },
  /** A `dpready stats --threshold` expression cannot be read. */
  DPR_BAD_THRESHOLD: { exitCode: 2, summary: 'bad threshold' },
  /** `dpready stats`: at least one --threshold was breached (each is listed). */
  DPR_THRESHOLD_BREACHED: { exitCode: 1, summary: 'threshold breached' },

  // Stats API responses: `{statusCode, error, code, message}` bodies carry these codes.
  /** A query parameter is unknown or has a bad value; the body names it. */
  DPR_BAD_QUERY: { exitCode: 2, httpStatus: 400, summary: 'bad query parameter' },
  /** Some other malformed request. */
  DPR_BAD_REQUEST: { exitCode: 2, httpStatus: 400, summary: 'bad request' },
  /** A pod-bound token was shown to the report endpoint, but it does not entitle this request. */
  DPR_FORBIDDEN: { exitCode: 4, httpStatus: 403, summary: 'forbidden' },
  /** The report endpoint has too many token reviews in flight; Retry-After says when to come back. */
  DPR_THROTTLED: { exitCode: 4, httpStatus: 429, summary: 'too many requests' },
  /** --api-token-file is set and the request has no valid bearer token. */
  DPR_UNAUTHORIZED: { exitCode: 4, httpStatus: 401, summary: 'unauthorized' },
  DPR_NOT_FOUND: { exitCode: 4, httpStatus: 404, summary: 'no such route' },
  DPR_METHOD_NOT_ALLOWED: { exitCode: 4, httpStatus: 405, summary: 'method not allowed' },
  /** The controller's caches have not finished their first list: answers would be incomplete. */
  DPR_NOT_SYNCED: { exitCode: 4, httpStatus: 503, summary: 'caches not synced yet' },
  DPR_INTERNAL: { exitCode: 1, httpStatus: 500, summary: 'internal error' },
} as const satisfies Record<string, { exitCode: number; httpStatus?: number; summary: string }>;

export type ErrorCode = keyof typeof ErrorCodes;

const BRAND = Symbol.for('dpready.error');

export class DpreadyError extends Error {
  readonly code: ErrorCode;
  readonly exitCode: number;

  /** Marks every copy's instances alike (isDpreadyError), where instanceof sees only its own class. */
  readonly [BRAND] = true;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DpreadyError';
    this.code = code;
    this.exitCode = ErrorCodes[code].exitCode;
  }
}

/**
 * True for a DpreadyError from any copy of this module: the reporter's bundle (dist/reporter.cjs)
 * carries its own, and the CLI that loads it must still recognise its errors.
 */
export function isDpreadyError(err: unknown, code?: ErrorCode): err is DpreadyError {
  return err instanceof Error && (err as { [BRAND]?: unknown })[BRAND] === true && (code === undefined || (err as DpreadyError).code === code);
}
