// Kubernetes label selector parser: the grammar of k8s.io/apimachinery/pkg/labels (equality
// `=`, `==`, `!=`, sets `in`, `notin`, existence `key`, `!key`, and the integer `>`, `<`),
// with the same key/value validation, so a string accepted here is accepted by the API server
// and means the same thing. Errors are DPR_BAD_SELECTOR and quote the offending part and its
// position; inputs are bounded so hostile strings are rejected cheaply.
import { DpreadyError } from '../errors.ts';
import { labelKeyProblem, labelValueProblem } from './validation.ts';

export type Operator = 'in' | 'notin' | '=' | '==' | '!=' | 'exists' | '!' | '>' | '<';

export interface Requirement {
  readonly key: string;
  readonly operator: Operator;
  /** One value for equality and `>`/`<`, one or more for in/notin, none for exists/`!`. */
  readonly values: readonly string[];
}

export interface LabelSelector {
  /** The text as given, for messages and for passing on to the API server. */
  readonly text: string;
  /** ANDed; empty selects everything, as in Kubernetes. */
  readonly requirements: readonly Requirement[];
}

/**
 * Far above any real selector (a key is at most 317 characters), small enough that parsing
 * and error reporting stay trivially cheap. Kubernetes has no such limit, but URLs and flags do.
 */
export const MAX_SELECTOR_LENGTH = 4096;

type TokenKind = 'id' | 'in' | 'notin' | '(' | ')' | ',' | '!' | '=' | '==' | '!=' | '>' | '<' | 'end';
interface Token { kind: TokenKind; text: string; pos: number }

const WHITESPACE = new Set([' ', '\t', '\r', '\n']);
const SPECIAL = new Set(['=', '!', '(', ')', ',', '>', '<']);
const SYMBOLS: readonly TokenKind[] = ['==', '!=', '=', '!', '(', ')', ',', '>', '<'];

function tokenize(text: string, fail: (pos: number, why: string) => never): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const ch = text[i]!;
    if (WHITESPACE.has(ch)) { i++; continue; }
    if (SPECIAL.has(ch)) {
      const two = text.slice(i, i + 2);
      const kind = SYMBOLS.find((s) => s === two) ?? SYMBOLS.find((s) => s === ch);
      if (!kind) fail(i, `unexpected ${show(ch)}`);
      tokens.push({ kind: kind!, text: kind!, pos: i });
      i += kind!.length;
      continue;
    }
    const start = i;
    while (i < text.length && !WHITESPACE.has(text[i]!) && !SPECIAL.has(text[i]!)) i++;
    const word = text.slice(start, i);
    const kind: TokenKind = word === 'in' ? 'in' : word === 'notin' ? 'notin' : 'id';
    tokens.push({ kind, text: word, pos: start });
  }
  tokens.push({ kind: 'end', text: 'end of string', pos: text.length });
  return tokens;
}

/** Parses `text`; throws DpreadyError DPR_BAD_SELECTOR naming the offending part. `name` labels the message. */
export function parseSelector(text: string, name = 'labelSelector'): LabelSelector {
  const fail = (pos: number, why: string): never => {
    throw new DpreadyError('DPR_BAD_SELECTOR', `${name}: ${why} at position ${pos}`);
  };
  if (text.length > MAX_SELECTOR_LENGTH) {
    throw new DpreadyError('DPR_BAD_SELECTOR', `${name}: ${text.length} characters, at most ${MAX_SELECTOR_LENGTH} allowed`);
  }
  const tokens = tokenize(text, fail);
  let at = 0;
  const peek = (): Token => tokens[at]!;
  const next = (): Token => tokens[at++]!;
  // In value position `in` and `notin` are ordinary words (`tier=in` is valid), as in apimachinery.
  const asValue = (t: Token): boolean => t.kind === 'id' || t.kind === 'in' || t.kind === 'notin';

  const key = (t: Token): string => {
    if (!asValue(t)) fail(t.pos, `found ${show(t.text)}, expected a label key`);
    const problem = labelKeyProblem(t.text);
    if (problem) fail(t.pos, `invalid key ${show(t.text)}: ${problem}`);
    return t.text;
  };
  const value = (t: Token, k: string): string => {
    const problem = labelValueProblem(t.text);
    if (problem) fail(t.pos, `invalid value ${show(t.text)} for key ${show(k)}: ${problem}`);
    return t.text;
  };

  const requirements: Requirement[] = [];
  if (peek().kind === 'end') return { text, requirements };
  for (;;) {
    let t = next();
    if (t.kind === '!') {
      requirements.push({ key: key(next()), operator: '!', values: [] });
    } else {
      const k = key(t);
      const op = peek();
      if (op.kind === ',' || op.kind === 'end') {
        requirements.push({ key: k, operator: 'exists', values: [] });
      } else if (op.kind === 'in' || op.kind === 'notin') {
        next();
        const open = next();
        if (open.kind !== '(') fail(open.pos, `found ${show(open.text)}, expected "(" after ${op.kind}`);
        const values: string[] = [];
        // apimachinery reads `in (a,)` and `in (a,,b)` as containing the empty value.
        let expectValue = true;
        for (;;) {
          t = next();
          if (t.kind === ')') {
            if (expectValue && values.length > 0) values.push('');
            break;
          }
          if (t.kind === ',') {
            if (expectValue) values.push('');
            expectValue = true;
            continue;
          }
          if (!asValue(t) || !expectValue) fail(t.pos, `found ${show(t.text)}, expected a value, "," or ")" in the ${op.kind} list of ${show(k)}`);
          values.push(value(t, k));
          expectValue = false;
        }
        if (values.length === 0) fail(op.pos, `${op.kind} needs at least one value for key ${show(k)}`);
        requirements.push({ key: k, operator: op.kind, values: [...new Set(values)] });
      } else if (op.kind === '=' || op.kind === '==' || op.kind === '!=' || op.kind === '>' || op.kind === '<') {
        next();
        const v = peek();
        let val = '';
        if (v.kind !== ',' && v.kind !== 'end') {
          if (!asValue(v)) fail(v.pos, `found ${show(v.text)}, expected a value after ${show(op.kind)}`);
          val = value(next(), k);
        }
        if ((op.kind === '>' || op.kind === '<') && !/^[+-]?\d{1,18}$/.test(val)) {
          fail(v.pos, `${show(op.kind)} needs an integer value for key ${show(k)}, found ${show(val)}`);
        }
        requirements.push({ key: k, operator: op.kind, values: [val] });
      } else {
        fail(op.pos, `found ${show(op.text)} after key ${show(k)}, expected one of =, ==, !=, in, notin, >, <, "," or end of string`);
      }
    }
    const sep = next();
    if (sep.kind === 'end') break;
    if (sep.kind !== ',') fail(sep.pos, `found ${show(sep.text)}, expected "," or end of string`);
  }
  return { text, requirements };
}

/** JSON-quoted and shortened, so control characters and huge tokens cannot flood a message. */
function show(part: string): string {
  const MAX = 40;
  return JSON.stringify(part.length > MAX ? `${part.slice(0, MAX)}…` : part);
}
