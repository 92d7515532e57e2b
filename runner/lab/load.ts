// Find, parse and validate labs. Every problem becomes a LabError that points at file:line:col
// with the path of the offending field, what was expected and what was found.
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import { checkLab, formatPath, type Lab, type SchemaIssue } from './schema.ts';
import { exampleProblems } from './examples.ts';
import { checkSpecRefs, specFilesOf } from './spec-checks.ts';

export const LAB_FILE = 'lab.yaml';
/** At most this many problems are listed in one LabError (the rest are counted). */
export const MAX_LISTED_ISSUES = 10;

/** One located problem in a lab file. */
export interface LabIssue {
  /** The file, relative to the current folder. */
  file: string;
  line?: number;
  column?: number;
  /** Like `checks[1].points`; empty for the file itself. */
  path: string;
  message: string;
  fix?: string;
}

// A lab that cannot be used as written: a missing file, YAML syntax, schema or reference errors.
export class LabError extends Error {
  override name = 'LabError';
  readonly exitCode = 2;
  /** Where the first problem is. */
  readonly file: string;
  readonly line: number | undefined;
  readonly column: number | undefined;
  /** Every problem found (the message lists up to MAX_LISTED_ISSUES of them). */
  readonly issues: LabIssue[];

  constructor(issues: LabIssue[]) {
    super(formatIssues(issues));
    const first = issues[0]!;
    this.file = first.file;
    this.line = first.line;
    this.column = first.column;
    this.issues = issues;
  }

  static at(file: string, message: string, fix?: string): LabError {
    return new LabError([{ file: displayPath(file), path: '', message, fix }]);
  }
}

// "labs/x/lab.yaml:12:5: checks[1].points: expected a number, found "three"" (+ "  fix: ..." lines).
export function formatIssues(issues: LabIssue[]): string {
  const lines: string[] = [];
  for (const i of issues.slice(0, MAX_LISTED_ISSUES)) {
    const where = i.line !== undefined ? `${i.file}:${i.line}:${i.column ?? 1}` : i.file;
    lines.push(`${where}: ${i.path ? `${i.path}: ` : ''}${i.message}`);
    if (i.fix) lines.push(`  fix: ${i.fix}`);
  }
  const more = issues.length - MAX_LISTED_ISSUES;
  if (more > 0) lines.push(`… and ${more} more problem${more === 1 ? '' : 's'} in ${issues[0]!.file}`);
  return lines.join('\n');
}

/** A validated lab and where it lives. */
export interface LoadedLab {
  lab: Lab;
  /** Absolute lab folder. */
  dir: string;
  /** Absolute path of lab.yaml. */
  file: string;
  /** Absolute paths of the *.spec.ts files the lab's spec checks name, in first-use order. */
  specFiles: string[];
}

// Paths in messages are relative to the current folder, as the user typed them.
export function displayPath(p: string): string {
  return relative(process.cwd(), p) || '.';
}

async function kindOf(p: string): Promise<'file' | 'dir' | undefined> {
  try {
    const s = await stat(p);
    return s.isDirectory() ? 'dir' : s.isFile() ? 'file' : undefined;
  } catch {
    return undefined;
  }
}

// lab.yaml of a lab folder or the file itself; a LabError when neither exists.
async function labFileOf(pathArg: string): Promise<string> {
  const abs = resolve(pathArg);
  const kind = await kindOf(abs);
  if (kind === undefined) throw LabError.at(abs, 'no such file or folder', 'give a lab folder (one with lab.yaml) or a lab.yaml file');
  if (kind === 'file') return abs;
  const file = join(abs, LAB_FILE);
  if ((await kindOf(file)) === 'file') return file;
  const labs = await labsBelow(abs);
  throw LabError.at(abs, `no ${LAB_FILE} in ${displayPath(abs)}; a lab is a folder with ${LAB_FILE}`,
    labs.length ? `this folder holds labs; name one, e.g. ${displayPath(join(abs, labs[0]!))}` : `create ${displayPath(file)} (see docs/lab-format.md)`);
}

// Direct sub-folders of `dir` that hold a lab.yaml, sorted by name.
async function labsBelow(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  const found: string[] = [];
  for (const e of entries) {
    if (e.name.startsWith('.') || !(e.isDirectory() || e.isSymbolicLink())) continue;
    if ((await kindOf(join(dir, e.name, LAB_FILE))) === 'file') found.push(e.name);
  }
  return found.sort();
}

// Lab files named by paths: a lab folder, a lab.yaml, or a folder of lab folders (absolute, de-duplicated).
export async function findLabs(paths: string[]): Promise<string[]> {
  const out: string[] = [];
  for (const p of paths) {
    const abs = resolve(p);
    const kind = await kindOf(abs);
    if (kind === undefined) throw LabError.at(abs, 'no such file or folder', 'give a lab folder, a lab.yaml file, or a folder of lab folders');
    if (kind === 'file') { out.push(abs); continue; }
    const own = join(abs, LAB_FILE);
    if ((await kindOf(own)) === 'file') { out.push(own); continue; }
    const subs = await labsBelow(abs);
    if (subs.length === 0) {
      throw LabError.at(abs, `not a lab: expected ${LAB_FILE} in ${displayPath(abs)}, or sub-folders that each hold one (like labs/*/${LAB_FILE})`,
        'give a lab folder, a lab.yaml file, or a folder of lab folders');
    }
    out.push(...subs.map((s) => join(abs, s, LAB_FILE)));
  }
  return [...new Set(out)];
}

// Reads and validates one lab (a folder or its lab.yaml); throws LabError listing every problem.
export async function loadLab(pathArg: string): Promise<LoadedLab> {
  const file = await labFileOf(pathArg);
  const dir = resolve(file, '..');
  const shown = displayPath(file);
  const text = await readFile(file, 'utf8');
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, keepSourceTokens: true, prettyErrors: false, uniqueKeys: true });

  if (doc.errors.length) {
    throw new LabError(doc.errors.map((e) => {
      const { line, col } = lineCounter.linePos(e.pos[0]);
      return { file: shown, line, column: col, path: '', message: `YAML syntax: ${e.message.split('\n')[0]}`, fix: yamlFix(e.code) };
    }));
  }

  if (doc.contents === null || (isScalar(doc.contents) && doc.contents.value === null)) {
    throw new LabError([{ file: shown, line: 1, column: 1, path: '', message: 'the file is empty; expected a mapping with name, title, machines and checks',
      fix: 'see docs/lab-format.md for an example' }]);
  }
  const result = checkLab(doc.toJS({ maxAliasCount: 1000 }));
  const issues: SchemaIssue[] = result.ok ? [] : result.issues;
  if (result.ok && result.lab.submission?.reference !== undefined) {
    const ref = result.lab.submission.reference;
    if ((await kindOf(resolve(dir, ref))) !== 'file') {
      issues.push({ path: ['submission', 'reference'], message: `no file ${ref} in the lab folder ${displayPath(dir)}`,
        fix: 'add the reference solution there (the path is relative to the lab folder), or remove reference (then --submission is required)' });
    }
  }
  if (result.ok) {
    issues.push(...exampleProblems(result.lab));
    for (const [i, ex] of result.lab.examples.entries()) {
      if ((await kindOf(resolve(dir, ex.file))) === 'file') continue;
      issues.push({ path: ['examples', i, 'file'], message: `no file ${ex.file} in the lab folder ${displayPath(dir)}`,
        fix: 'add the example submission there (the path is relative to the lab folder), or remove this example' });
    }
    const { problems } = await checkSpecRefs(result.lab, dir);
    issues.push(...problems.map((p) => ({ path: ['checks', p.index, 'spec'], message: p.message, fix: p.fix })));
  }
  const unused = result.ok ? await unusedSpecFiles(result.lab, dir) : [];
  if (issues.length || unused.length) {
    throw new LabError(unused.map((f): LabIssue => ({ file: displayPath(join(dir, f)), path: '', message: `no check in ${shown} names ${f}`,
      fix: `name its functions from checks (spec: ${f}#<export>), or rename it if it is not a check file` })).concat(issues
      .map((i) => ({ ...locate(doc, lineCounter, i), file: shown, path: formatPath(i.path), message: i.message, fix: i.fix }))
      .sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0))));
  }
  if (!result.ok) throw new Error('unreachable');

  return { lab: result.lab, dir, file, specFiles: specFilesOf(result.lab).map((f) => join(dir, f)) };
}

// A *.spec.ts beside lab.yaml that no check names would silently never run.
async function unusedSpecFiles(lab: Lab, dir: string): Promise<string[]> {
  const used = new Set(specFilesOf(lab));
  return (await readdir(dir)).filter((f) => f.endsWith('.spec.ts') && !used.has(f)).sort();
}

function yamlFix(code: string): string {
  switch (code) {
    case 'DUPLICATE_KEY': return 'each key may appear only once in a mapping';
    case 'TAB_AS_INDENT': return 'indent with spaces, not tabs';
    case 'BAD_INDENT':
    case 'MISSING_CHAR':
    case 'UNEXPECTED_TOKEN':
    case 'BLOCK_AS_IMPLICIT_KEY':
    case 'MULTILINE_IMPLICIT_KEY':
      return 'check indentation and brackets here; quote values that contain ": ", " #" or start with one of [ ] { } * & ! % @ `';
    default: return 'check the YAML syntax here';
  }
}

// file:line:col of the node a path names: the key for unknown keys, the value otherwise, or the
// closest existing parent when the path goes past what is written (a missing field).
export function locate(doc: Document, lc: LineCounter, issue: SchemaIssue): { line?: number; column?: number } {
  let node: unknown = doc.contents;
  let offset = rangeStart(node) ?? 0;
  for (let k = 0; k < issue.path.length; k++) {
    const seg = issue.path[k]!;
    if (isAlias(node)) node = node.resolve(doc);
    const last = k === issue.path.length - 1;
    if (isMap(node)) {
      const pair = node.items.find((p) => String(isScalar(p.key) ? p.key.value : p.key) === String(seg));
      if (!pair) break;
      const keyAt = rangeStart(pair.key);
      const value = pair.value as Node | null;
      const emptyValue = value === null || (isScalar(value) && value.value === null && !value.source);
      if ((last && issue.at === 'key') || emptyValue) { offset = keyAt ?? offset; if (emptyValue) break; continue; }
      node = value;
    } else if (isSeq(node) && typeof seg === 'number' && node.items[seg] !== undefined) {
      node = node.items[seg];
    } else {
      break;
    }
    offset = rangeStart(node) ?? offset;
  }
  const { line, col } = lc.linePos(offset);
  return { line, column: col };
}

function rangeStart(node: unknown): number | undefined {
  const r = (node as { range?: [number, number, number] } | null)?.range;
  return r ? r[0] : undefined;
}

/** A LabError at the node `path` names in a lab file (a problem found after loading, e.g. a package Debian lacks). */
export async function labErrorAt(file: string, path: (string | number)[], message: string, fix?: string): Promise<LabError> {
  const lineCounter = new LineCounter();
  const doc = parseDocument(await readFile(file, 'utf8'), { lineCounter, keepSourceTokens: true });
  const at = locate(doc, lineCounter, { path, message });
  return new LabError([{ file: displayPath(file), ...at, path: formatPath(path), message, fix }]);
}
