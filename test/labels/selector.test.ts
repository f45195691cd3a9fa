import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isDpreadyError } from '../../src/errors.ts';
import { matchesSelector } from '../../src/labels/match.ts';
import { MAX_SELECTOR_LENGTH, parseSelector, type Requirement } from '../../src/labels/selector.ts';

const reqs = (text: string): Requirement[] => [...parseSelector(text).requirements];

function rejects(text: string, pattern: RegExp): void {
  assert.throws(() => parseSelector(text), (err: unknown) => {
    assert.ok(isDpreadyError(err, 'DPR_BAD_SELECTOR'), `expected DPR_BAD_SELECTOR for ${JSON.stringify(text)}, got ${String(err)}`);
    assert.match(err.message, pattern);
    return true;
  });
}

describe('parseSelector: accepted syntax', () => {
  it('reads every operator', () => {
    assert.deepEqual(reqs('a=b, c==d, e!=f, g in (h, i), j notin (k), l, !m, n>5, o<10'), [
      { key: 'a', operator: '=', values: ['b'] },
      { key: 'c', operator: '==', values: ['d'] },
      { key: 'e', operator: '!=', values: ['f'] },
      { key: 'g', operator: 'in', values: ['h', 'i'] },
      { key: 'j', operator: 'notin', values: ['k'] },
      { key: 'l', operator: 'exists', values: [] },
      { key: 'm', operator: '!', values: [] },
      { key: 'n', operator: '>', values: ['5'] },
      { key: 'o', operator: '<', values: ['10'] },
    ]);
  });

  it('treats the empty string (and blanks) as "everything"', () => {
    assert.deepEqual(reqs(''), []);
    assert.deepEqual(reqs('   '), []);
  });

  it('accepts prefixed keys and the edge values apimachinery accepts', () => {
    assert.deepEqual(reqs('app.kubernetes.io/name=web'), [{ key: 'app.kubernetes.io/name', operator: '=', values: ['web'] }]);
    assert.deepEqual(reqs('a='), [{ key: 'a', operator: '=', values: [''] }], 'empty value');
    assert.deepEqual(reqs('a==,b!='), [{ key: 'a', operator: '==', values: [''] }, { key: 'b', operator: '!=', values: [''] }]);
    assert.deepEqual(reqs('a=in'), [{ key: 'a', operator: '=', values: ['in'] }], 'keywords are values after =');
    assert.deepEqual(reqs('a in (x,)'), [{ key: 'a', operator: 'in', values: ['x', ''] }]);
    assert.deepEqual(reqs('a in (x,x)'), [{ key: 'a', operator: 'in', values: ['x'] }], 'duplicates collapse');
    assert.equal(reqs(`k=${'v'.repeat(63)}`)[0]!.values[0]!.length, 63);
    assert.deepEqual(reqs('\ta = b ,\n c'), [{ key: 'a', operator: '=', values: ['b'] }, { key: 'c', operator: 'exists', values: [] }]);
  });
});

describe('parseSelector: rejected input names the offending part', () => {
  const cases: [string, RegExp][] = [
    ['a!', /found "!" after key "a"/],
    ['a===b', /found "=".*position 3/],
    ['=b', /found "=", expected a label key at position 0/],
    ['a in ()', /in needs at least one value for key "a"/],
    ['a in (b', /found "end of string".*in list of "a"/],
    ['a in b', /expected "\(" after in/],
    ['a in (b c)', /found "c"/],
    ['a b', /found "b" after key "a"/],
    ['a,', /found "end of string", expected a label key at position 2/],
    [',a', /expected a label key at position 0/],
    ['!a=b', /found "=", expected "," or end of string at position 2/],
    ['a>b', /needs an integer value for key "a", found "b"/],
    ['a<', /needs an integer value/],
    ['a>-1', /invalid value "-1"/],
    ['-a=b', /invalid key "-a"/],
    ['a/b/c=d', /at most one "\/"/],
    ['/a=b', /prefix before "\/" must not be empty/],
    ['Upper.Case/a=b', /prefix must be a DNS subdomain/],
    [`${'k'.repeat(64)}=v`, /name part must be at most 63/],
    [`k=${'v'.repeat(64)}`, /value must be at most 63/],
    ['k=a b', /found "b", expected "," or end of string/],
    ['k=-v', /invalid value "-v" for key "k"/],
    ['k=v_', /invalid value "v_"/],
    ['(', /found "\(", expected a label key/],
  ];
  for (const [text, pattern] of cases) {
    it(`rejects ${JSON.stringify(text)}`, () => rejects(text, pattern));
  }
});

describe('parseSelector: hostile input', () => {
  it('rejects an over-long selector by its length, before parsing it', () => {
    const huge = `a in (${'x,'.repeat(500_000)}x)`;
    rejects(huge, new RegExp(`at most ${MAX_SELECTOR_LENGTH} allowed`));
  });

  it('rejects control characters, NUL, unicode look-alikes and injection attempts cleanly', () => {
    for (const text of ['a=b\u0000', 'a\u0007=b', 'app=wéb', 'app=web\u200b', 'a=b;rm -rf /', 'a=${x}', 'a=<script>', '\u202ea=b', 'ａ=b']) {
      rejects(text, /invalid (key|value)|found/);
    }
  });

  it('quotes offending parts JSON-escaped and shortened, so messages stay one short line', () => {
    try {
      parseSelector(`k=${'\n'.repeat(2)}\u0001${'z'.repeat(3000)}`);
      assert.fail('expected an error');
    } catch (err) {
      assert.ok(isDpreadyError(err, 'DPR_BAD_SELECTOR'));
      assert.ok(!err.message.includes('\u0001'), 'raw control character leaked into the message');
      assert.ok(err.message.length < 300, `message is ${err.message.length} characters`);
    }
  });

  it('rejects near-miss keys and values (the shapes that make naive regexes backtrack)', () => {
    rejects(`${'a-'.repeat(31)}-=${'b.'.repeat(31)}.`, /invalid/);
    rejects(`${'a'.repeat(60)}.-=b`, /invalid/);
  });

  it('names the flag it validates for the controller', () => {
    assert.throws(() => parseSelector('a===', '--label-selector'), /^DpreadyError: --label-selector: /);
  });
});

describe('matchesSelector', () => {
  const labels = { app: 'web', tier: 'front', replicas: '3', 'example.com/zone': 'a' };
  const table: [string, boolean][] = [
    ['', true],
    ['app=web', true], ['app==web', true], ['app=db', false],
    ['app!=db', true], ['app!=web', false], ['missing!=x', true],
    ['tier in (front, back)', true], ['tier in (back)', false], ['missing in (x)', false],
    ['tier notin (back)', true], ['tier notin (front)', false], ['missing notin (x)', true],
    ['app', true], ['missing', false], ['!missing', true], ['!app', false],
    ['replicas>2', true], ['replicas>3', false], ['replicas<4', true], ['app>1', false], ['missing<1', false],
    ['example.com/zone=a,app=web', true], ['example.com/zone=a,app=db', false],
    ['app=web,app!=web', false],
  ];
  for (const [sel, want] of table) {
    it(`${JSON.stringify(sel)} -> ${want}`, () => assert.equal(matchesSelector(parseSelector(sel), labels), want));
  }
  it('does not match inherited properties', () => {
    assert.equal(matchesSelector(parseSelector('constructor'), {}), false);
    assert.equal(matchesSelector(parseSelector('!toString'), {}), true);
  });
});
