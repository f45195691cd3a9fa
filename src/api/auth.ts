// Optional bearer-token check. Both sides are hashed first so timingSafeEqual always compares
// two 32-byte digests: no early exit on length, and the token's length does not leak either.
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { DpreadyError } from '../errors.ts';

export type TokenCheck = (authorization: string | undefined) => boolean;

export function bearerTokenCheck(token: string): TokenCheck {
  if (token === '') throw new DpreadyError('DPR_BAD_CONFIG', 'the API token is empty');
  const want = digest(token);
  return (authorization) => {
    const m = /^Bearer +(\S+) *$/i.exec(authorization ?? '');
    // Compare something even without a header, so a missing and a wrong token take as long.
    return timingSafeEqual(digest(m?.[1] ?? ''), want) && m !== null;
  };
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}

/** The token in `path` (--api-token-file), without the trailing newline editors and Secrets add. */
export async function readTokenFile(path: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new DpreadyError('DPR_BAD_CONFIG', `--api-token-file=${path}: cannot read: ${(err as Error).message}`, { cause: err });
  }
  const token = text.trim();
  if (token === '' || /\s/.test(token)) {
    throw new DpreadyError('DPR_BAD_CONFIG', `--api-token-file=${path}: expected one token with no whitespace inside`);
  }
  return token;
}
