// `dpready stats --threshold … --junit FILE`: the verdicts as a JUnit XML report, the format CI
// systems (GitLab, Jenkins, GitHub test reporters) read: one testcase per threshold, a breach as
// its failure. Pure: the command writes the file.
import type { Verdict } from './thresholds.ts';

const escape = (s: string) => s.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!);

export function junitReport(verdicts: readonly Verdict[], at: Date): string {
  const failures = verdicts.filter((v) => !v.ok).length;
  const cases = verdicts.map((v) => {
    const open = `    <testcase classname="dpready.thresholds" name="${escape(v.threshold.text)}" time="0"`;
    if (v.ok) return `${open}/>`;
    return `${open}>\n      <failure message="${escape(v.message)}" type="ThresholdBreached">${escape(v.message)}</failure>\n    </testcase>`;
  });
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="dpready stats" tests="${verdicts.length}" failures="${failures}">`,
    `  <testsuite name="dpready stats thresholds" tests="${verdicts.length}" failures="${failures}" errors="0" skipped="0" timestamp="${at.toISOString()}">`,
    ...cases,
    '  </testsuite>',
    '</testsuites>',
    '',
  ].join('\n');
}
