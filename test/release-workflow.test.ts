// The release workflow is not run here (no registry); what can be checked is that it builds the
// image from the Dockerfile, pins the pushed digest into a value the chart has, and that the
// chart turns that value into repository:tag@digest.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { parse } from 'yaml';

const root = new URL('../', import.meta.url);
const read = (p: string) => readFileSync(new URL(p, root), 'utf8');

test('release.yml builds the Dockerfile on a version tag, pushes it, and pins its digest in the chart', () => {
  const wf = parse(read('.github/workflows/release.yml')) as { on: { push: { tags: string[] } }; jobs: Record<string, { steps: Array<{ uses?: string; with?: Record<string, unknown>; run?: string }> }> };
  assert.deepEqual(wf.on.push.tags, ['v*.*.*']);
  const steps = Object.values(wf.jobs).flatMap((j) => j.steps);
  const build = steps.find((s) => s.uses?.startsWith('docker/build-push-action'));
  assert.equal(build?.with?.file, 'Dockerfile');
  assert.equal(build?.with?.push, true);
  const pin = steps.find((s) => s.run?.includes('steps.build.outputs.digest') && s.run.includes('values.yaml'));
  assert.ok(pin, 'a step writes the digest into charts/dpready/values.yaml');
  // The keys it rewrites exist, with the indentation its sed expects.
  const values = read('charts/dpready/values.yaml');
  for (const key of ['repository', 'tag', 'digest']) assert.match(values, new RegExp(`^image:\\n(?:  .*\\n)*?  ${key}: `, 'm'), key);
  assert.match(read('charts/dpready/templates/_helpers.tpl'), /if \.Values\.image\.digest -\}\}\{\{ \.Values\.image\.repository \}\}@\{\{ \.Values\.image\.digest \}\}/);
});
