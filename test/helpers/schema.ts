// Validate a lab object in unit tests: `validLab` fails the test with every issue when it is
// rejected, `labIssues` when it is accepted.
import assert from 'node:assert/strict';
import { checkLab, formatPath, type Lab, type SchemaIssue } from '../../runner/lab/schema.ts';

export function validLab(input: unknown): Lab {
  const r = checkLab(input);
  if (!r.ok) assert.fail(`expected a valid lab, got:\n${r.issues.map((i) => `${formatPath(i.path)}: ${i.message}`).join('\n')}`);
  return r.lab;
}

export function labIssues(input: unknown): SchemaIssue[] {
  const r = checkLab(input);
  assert.equal(r.ok, false, 'expected the lab to be rejected');
  return r.ok ? [] : r.issues;
}
