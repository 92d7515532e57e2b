// JUnit XML for CI systems (Jenkins, GitLab, GitHub test reporters): one <testsuite> per graded unit
// (a lab run, or a student), one <testcase> per check. A failed check is a <failure> (the
// submission's), a check that could not run an <error>, a skipped one <skipped>; a unit that never
// got graded (infrastructure) is one <error> testcase. Points ride in the suite's properties and in
// each testcase's system-out. Staff output: hidden checks are named.
import type { CheckResult, RunResult } from './model.ts';

export interface JUnitSuite { name: string; result: RunResult }

// XML text and attribute values: escaped, and characters XML 1.0 cannot hold dropped.
export function xmlEscape(s: string): string {
  return s.replace(/[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\u{10000}-\u{10ffff}]/gu, '')
    .replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

const secs = (ms: number) => (Math.max(0, ms) / 1000).toFixed(3);
const attrs = (a: Record<string, string | number | undefined>) =>
  Object.entries(a).filter(([, v]) => v !== undefined).map(([k, v]) => ` ${k}="${xmlEscape(String(v))}"`).join('');
/** Characters of command output kept per testcase. */
const OUT_CHARS = 8000;

function caseXml(suite: string, lab: string, c: CheckResult): string {
  const message = c.expected ? `expected ${c.expected}, got ${c.got}` : c.got || c.reason || c.status;
  const outcome = c.status === 'failed' ? `<failure${attrs({ message, type: 'CheckFailed' })}>${xmlEscape([message, c.hint ? `hint: ${c.hint}` : ''].filter(Boolean).join('\n'))}</failure>`
    : c.status === 'error' ? `<error${attrs({ message: c.reason ?? message, type: 'CheckError' })}>${xmlEscape(c.reason ?? message)}</error>`
      : c.status === 'skipped' ? `<skipped${attrs({ message: c.reason ?? 'skipped' })}/>` : '';
  const last = c.commands.at(-1);
  const out = [`points: ${c.points}/${c.maxPoints}${c.group ? ` (group ${c.group})` : ''}; visibility: ${c.visibility}`,
    ...(last ? [`[${last.machine}]$ ${last.command}`, last.stdout.slice(0, OUT_CHARS), last.stderr ? `[stderr]\n${last.stderr.slice(0, OUT_CHARS)}` : ''] : [])].filter(Boolean).join('\n');
  return `    <testcase${attrs({ name: c.name, classname: `${lab}.${suite}`, time: secs(c.durationMs) })}>${outcome}<system-out>${xmlEscape(out)}</system-out></testcase>`;
}

function suiteXml(s: JUnitSuite): string {
  const r = s.result;
  const cases = r.checks.map((c) => caseXml(s.name, r.lab.name, c));
  if (r.status === 'error') {
    cases.unshift(`    <testcase${attrs({ name: 'setup', classname: `${r.lab.name}.${s.name}`, time: '0.000' })}><error${attrs({ message: r.error ?? 'not graded', type: 'InfrastructureError' })}>${xmlEscape(r.error ?? '')}</error></testcase>`);
  }
  const count = (st: CheckResult['status']) => r.checks.filter((c) => c.status === st).length;
  const props: Record<string, string> = {
    lab: r.lab.name, kernel: `${r.kernel.name} ${r.kernel.version}`, score: String(r.score), maxScore: String(r.maxScore), status: r.status,
    ...(r.submission ? { submission: r.submission.label } : {}),
    ...(r.submissionRun ? { submissionStatus: r.submissionRun.status } : {}),
  };
  return `  <testsuite${attrs({
    name: s.name, tests: cases.length, failures: count('failed'), errors: count('error') + (r.status === 'error' ? 1 : 0), skipped: count('skipped'),
    time: secs(r.durationMs), timestamp: r.startedAt.replace(/\.\d+Z$/, ''), hostname: 'netlab-run',
  })}>\n    <properties>${Object.entries(props).map(([k, v]) => `<property${attrs({ name: k, value: v })}/>`).join('')}</properties>\n${cases.join('\n')}\n  </testsuite>`;
}

// The junit.xml text for graded units.
export function toJUnit(suites: JUnitSuite[], name = 'netlab-run'): string {
  const all = suites.flatMap((s) => s.result.checks);
  const errors = all.filter((c) => c.status === 'error').length + suites.filter((s) => s.result.status === 'error').length;
  const tests = all.length + suites.filter((s) => s.result.status === 'error').length;
  return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites${attrs({
    name, tests, failures: all.filter((c) => c.status === 'failed').length, errors, skipped: all.filter((c) => c.status === 'skipped').length,
    time: secs(suites.reduce((t, s) => t + s.result.durationMs, 0)),
  })}>\n${suites.map(suiteXml).join('\n')}\n</testsuites>\n`;
}
