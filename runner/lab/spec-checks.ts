// Spec checks: lab.yaml names a function exported by a *.spec.ts beside it. This module resolves
// those references and loads the files, so a lab with a bad reference fails at load time (exit 2)
// instead of in the middle of a graded run.
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { CheckFunction } from './api.ts';
import { SPEC_REF } from './plan.ts';
import type { Lab, SpecCheck } from './schema.ts';

export interface SpecRef { file: string; exportName: string }

export function parseSpecRef(ref: string): SpecRef {
  const m = SPEC_REF.exec(ref);
  if (!m) throw new Error(`not a spec reference: ${ref}`);
  return { file: m[1]!, exportName: m[2] ?? 'default' };
}

/** The spec files the lab's checks name, relative to the lab folder, in first-use order. */
export function specFilesOf(lab: Lab): string[] {
  return [...new Set(lab.checks.filter((c): c is SpecCheck => c.kind === 'spec').map((c) => parseSpecRef(c.spec).file))];
}

export type SpecModules = Record<string, Record<string, unknown>>;

/** A problem with one spec check's reference, at lab.yaml's `checks[i].spec`. */
export interface SpecProblem { index: number; message: string; fix: string }

// Set by the CLI's bundle (bin/cli-bundle.mjs), which runs without a TypeScript loader: the first lab
// check file in TypeScript registers tsx there.
declare const NETLAB_BUNDLE: boolean | undefined;
let tsLoader: Promise<void> | undefined;
async function importTypeScript(url: string): Promise<Record<string, unknown>> {
  if (typeof NETLAB_BUNDLE !== 'undefined') tsLoader ??= import('tsx/esm/api').then((m) => { m.register(); });
  await tsLoader;
  return await import(url) as Record<string, unknown>;
}

// Imports each named file once and checks that every reference names an exported function.
export async function checkSpecRefs(lab: Lab, dir: string): Promise<{ problems: SpecProblem[]; modules: SpecModules }> {
  const problems: SpecProblem[] = [];
  const modules: SpecModules = {};
  const failed = new Map<string, string>();
  for (const file of specFilesOf(lab)) {
    const abs = join(dir, file);
    try {
      await access(abs);
    } catch {
      failed.set(file, `no file ${file} beside lab.yaml`);
      continue;
    }
    try {
      modules[file] = await importTypeScript(pathToFileURL(abs).href);
    } catch (err) {
      failed.set(file, `${file} does not load: ${firstLine(err)}`);
    }
  }
  lab.checks.forEach((c, index) => {
    if (c.kind !== 'spec') return;
    const ref = parseSpecRef(c.spec);
    const why = failed.get(ref.file);
    if (why) {
      problems.push({ index, message: why, fix: fixFor(why, ref.file) });
      return;
    }
    const fn = modules[ref.file]![ref.exportName];
    if (typeof fn !== 'function') {
      const names = Object.keys(modules[ref.file]!).filter((k) => typeof modules[ref.file]![k] === 'function');
      problems.push({ index, message: `${ref.file} has no exported function ${ref.exportName === 'default' ? 'as its default export' : `"${ref.exportName}"`}`,
        fix: names.length ? `it exports ${names.map((n) => (n === 'default' ? 'a default' : `"${n}"`)).join(', ')}; name one as ${ref.file}#<name>` : `export one: export const ${ref.exportName === 'default' ? 'myCheck' : ref.exportName} = labCheck(async ({ machine, expect }) => { ... })` });
    }
  });
  return { problems, modules };
}

export function specFunction(modules: SpecModules, ref: string): CheckFunction {
  const { file, exportName } = parseSpecRef(ref);
  return modules[file]![exportName] as CheckFunction;
}

function fixFor(why: string, file: string): string {
  if (why.startsWith('no file')) return `create ${file} in the lab folder, or fix the name`;
  // Outside a "type": "module" package a .ts file is CommonJS, and it cannot require netlab-run's ES modules.
  if (/require\(\) (of )?ES Module|ERR_REQUIRE_ESM|ERR_REQUIRE_CYCLE_MODULE/i.test(why)) return `spec files are ES modules: add "type": "module" to the package.json next to the lab (or above it)`;
  return `fix ${file} (run it through \`npx tsc --noEmit\` to see every error)`;
}

function firstLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n').find((l) => l.trim()) ?? 'unknown error';
}
