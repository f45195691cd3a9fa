// The CRD users apply and the zod schema the controller validates with must describe the
// same object: same fields, same required set, same types, all the way down.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { parse } from 'yaml';
import { z } from 'zod';
import { DatapathResultSpec, CRD_NAME, GROUP, KIND, PLURAL, SHORT_NAME, VERSION, isRfc3339, resultName, Rfc3339 } from '../src/contract.ts';

type Schema = {
  type?: string; properties?: Record<string, Schema>; required?: string[];
  additionalProperties?: Schema | boolean; items?: Schema; enum?: unknown[];
};

/** Walks both schemas and lists every disagreement with its path. */
function compare(path: string, crd: Schema, zod: Schema, out: string[]): void {
  const zodType = zod.type ?? (zod.enum ? 'string' : undefined);
  if (crd.type !== zodType && !(crd.type === 'number' && zodType === 'integer')) {
    out.push(`${path}: CRD type ${crd.type} vs zod type ${zodType}`);
  }
  if (crd.enum || zod.enum) {
    assert.deepEqual([...(crd.enum ?? [])].sort(), [...(zod.enum ?? [])].sort(), `${path}: enum values differ`);
  }
  if (crd.type === 'object') {
    const crdProps = Object.keys(crd.properties ?? {}).sort();
    const zodProps = Object.keys(zod.properties ?? {}).sort();
    if (crdProps.join() !== zodProps.join()) out.push(`${path}: CRD fields [${crdProps}] vs zod fields [${zodProps}]`);
    const crdReq = [...(crd.required ?? [])].sort().join();
    const zodReq = [...(zod.required ?? [])].sort().join();
    if (crdReq !== zodReq) out.push(`${path}: CRD required [${crdReq}] vs zod required [${zodReq}]`);
    for (const key of crdProps) {
      if (zod.properties?.[key]) compare(`${path}.${key}`, crd.properties![key]!, zod.properties[key], out);
    }
    const crdAdd = typeof crd.additionalProperties === 'object' ? crd.additionalProperties : undefined;
    const zodAdd = typeof zod.additionalProperties === 'object' ? zod.additionalProperties : undefined;
    if (!!crdAdd !== !!zodAdd) out.push(`${path}: map-ness differs`);
    if (crdAdd && zodAdd) compare(`${path}{}`, crdAdd, zodAdd, out);
  }
  if (crd.type === 'array' && crd.items && zod.items) compare(`${path}[]`, crd.items, zod.items, out);
}

async function loadCrd() {
  return parse(await readFile(new URL('../manifests/crd.yaml', import.meta.url), 'utf8'));
}

test('the CRD spec schema and the zod DatapathResultSpec have the same fields, required sets and types', async () => {
  const crd = await loadCrd();
  const crdSpec = crd.spec.versions[0].schema.openAPIV3Schema.properties.spec as Schema;
  const zodSpec = z.toJSONSchema(DatapathResultSpec, { io: 'input', unrepresentable: 'any' }) as Schema;
  const problems: string[] = [];
  compare('spec', crdSpec, zodSpec, problems);
  assert.deepEqual(problems, []);
});

test('the CRD identity matches the contract', async () => {
  const crd = await loadCrd();
  assert.equal(crd.metadata.name, CRD_NAME);
  assert.equal(crd.spec.group, GROUP);
  assert.equal(crd.spec.names.kind, KIND);
  assert.equal(crd.spec.names.plural, PLURAL);
  assert.deepEqual(crd.spec.names.shortNames, [SHORT_NAME]);
  assert.equal(crd.spec.versions[0].name, VERSION);
  const columns = crd.spec.versions[0].additionalPrinterColumns.map((c: { name: string }) => c.name);
  for (const want of ['Pod', 'Node', 'Start ms', 'Datapath ms', 'Outcome', 'Age']) assert.ok(columns.includes(want), want);
  assert.equal(resultName('0f1e'), 'dpresult-0f1e');
});

test('the comparison notices a field missing from one side', () => {
  const problems: string[] = [];
  compare('x', { type: 'object', properties: { a: { type: 'string' } }, required: ['a'] },
    { type: 'object', properties: { a: { type: 'string' }, b: { type: 'number' } }, required: ['a', 'b'] }, problems);
  assert.equal(problems.length, 2);
});

test('isRfc3339 (the reporter, without zod) agrees with the Rfc3339 schema', () => {
  const samples = [
    '2025-01-01T00:00:00Z', '2025-01-01T00:00:00.123Z', '2025-01-01T00:00:00.123456789Z', '2025-06-30T23:59:59+02:00',
    '2024-02-29T12:00:00Z', '2000-02-29T12:00:00Z', '1900-02-29T12:00:00Z', '2025-02-29T12:00:00Z', '2025-04-31T00:00:00Z',
    '2025-13-01T00:00:00Z', '2025-01-01T24:00:00Z', '2025-01-01T00:60:00Z', '2025-01-01T00:00Z', '2025-01-01T00:00:00',
    '2025-01-01 00:00:00Z', '2025-01-01T00:00:00+0200', '2025-01-01T00:00:00.Z', 'now', '', '2025-01-01T00:00:00z',
  ];
  for (const s of samples) assert.equal(isRfc3339(s), Rfc3339.safeParse(s).success, s);
});
