// Zod's issues about a lab, said in the lab author's words: where (a path into the YAML), what was
// expected and what was found, and a fix where one is clear. No zod schema is built here: schema.ts
// hands in the check branches it wants re-parsed, so the two modules do not import each other.
import type { z } from 'zod';

/** Fix lines ride inside zod messages after this marker; `checkLab` splits them out. */
export const FIX = '\n  fix: ';

export type Path = (string | number)[];

/** One problem in a lab file: where (a path into the YAML) and what, with an optional fix. */
export interface SchemaIssue {
  path: Path;
  message: string;
  fix?: string;
  /** Point at the key of the last path element rather than its value (unknown or misnamed keys). */
  at?: 'key';
  /** For an unknown key: the allowed key it is probably a typo of. */
  suggest?: string;
}

export type CheckKind = 'run' | 'capture' | 'spec';
const CHECK_KINDS: readonly CheckKind[] = ['run', 'capture', 'spec'];

// "checks[1].expect.stdout": how paths appear in messages.
export function formatPath(path: readonly PropertyKey[]): string {
  let s = '';
  for (const seg of path) {
    if (typeof seg === 'number') s += `[${seg}]`;
    else if (/^[A-Za-z_][\w-]*$/.test(String(seg))) s += (s ? '.' : '') + String(seg);
    else s += `[${JSON.stringify(String(seg))}]`;
  }
  return s;
}

// How a found value reads in a message.
export function show(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'an empty value';
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  if (Array.isArray(v)) return v.length ? `a list (${v.length} item${v.length === 1 ? '' : 's'})` : 'an empty list';
  if (typeof v === 'object') return 'a mapping';
  return String(v);
}

export const quoteList = (xs: string[]) => xs.map((x) => `"${x}"`).join(', ');

export function closest(word: string, candidates: string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestD) { best = c; bestD = d; }
  }
  return best !== undefined && bestD <= (word.length <= 3 ? 1 : 2) ? best : undefined;
}

// Edit distance counting a swap of neighbours as one edit ("hots" → "host"), for did-you-mean.
function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}

// ---------------------------------------------------------------------------------------------
// From zod's issues to ours

type ZIssue = z.core.$ZodIssue & { input?: unknown };

/** Each kind's schema for one check, to re-parse a check alone against the branch its keys choose. */
export type CheckBranches = Record<CheckKind, z.ZodType>;

// The issues of a lab that failed to parse, readable: `raw` is the parsed YAML the issues are about.
export function readableIssues(zodIssues: readonly ZIssue[], raw: unknown, branches: CheckBranches): SchemaIssue[] {
  const issues: SchemaIssue[] = [];
  const recheck = new Set<number>();
  const checks = isRecord(raw) && Array.isArray(raw.checks) ? raw.checks : [];
  for (const iss of zodIssues) {
    const [top, i] = iss.path;
    // Check issues come from a union of three strict objects, whose zod reports are noisy: redo them
    // against the branch the check's keys choose (`run`, `capture` or `spec`).
    if (top === 'checks' && typeof i === 'number' && isRecord(checks[i]) && iss.code !== 'custom') { recheck.add(i); continue; }
    issues.push(...convert(iss, []));
  }
  for (const i of [...recheck].sort((a, b) => a - b)) issues.push(...checkIssues(checks[i] as Record<string, unknown>, ['checks', i], branches));
  return dedupe(withoutTypoEchoes(issues));
}

// "chekcs: unknown key" also makes "checks: missing": one mistake, so keep only the first and say it.
function withoutTypoEchoes(issues: SchemaIssue[]): SchemaIssue[] {
  const typos = new Map<string, SchemaIssue>();
  for (const i of issues) if (i.suggest) typos.set(formatPath([...i.path.slice(0, -1), i.suggest]), i);
  return issues.flatMap((i) => {
    const typo = typos.get(formatPath(i.path));
    if (!typo || !i.message.startsWith('missing (required)')) return [i];
    typo.message = `unknown key "${String(typo.path.at(-1))}"; the required key "${typo.suggest}" is missing`;
    return [];
  });
}

/**
 * Keys that belong to another kind of check, with the fix that says where: an author who moves a
 * check from one kind to another, or copies one, brings such keys along. `top`: only as a key of
 * the check itself (elsewhere the same name may be the check's own, like a capture's `on`).
 */
const MISPLACED: Record<CheckKind, { keys: string[]; top?: boolean; fix: (key: string) => string }[]> = {
  run: [
    { keys: ['packets', 'atLeast', 'atMost'], fix: (k) => `${k} belongs to capture checks (with capture: <name>); a run check expects exitCode, stdout, stderr` },
  ],
  capture: [
    { keys: ['on'], top: true, fix: () => 'a capture check counts packets where its capture runs (set on: in captures:); remove on here' },
    { keys: ['exitCode', 'stdout', 'stderr'], fix: (k) => `${k} belongs to run checks (with on: and run:); a capture check expects packets, atLeast, atMost` },
    { keys: ['partial'], top: true, fix: () => 'partial belongs to run checks (credit from their stdout); a capture check counts packets: expect: { atLeast, atMost }' },
  ],
  spec: [
    { keys: ['expect'], top: true, fix: () => 'a spec check is judged by its function (a failed expect() there fails it); remove expect here' },
    { keys: ['partial'], top: true, fix: () => 'a spec check earns partial credit by returning a number of points from its function; remove partial here' },
  ],
};

function checkIssues(check: Record<string, unknown>, at: Path, branches: CheckBranches): SchemaIssue[] {
  const kinds = CHECK_KINDS.filter((k) => k in check);
  if (kinds.length > 1) {
    return [{ path: at, message: `a check has exactly one of run (a command), capture (a capture to count packets in) or spec (a TypeScript check), found ${kinds.join(' and ')}`, fix: 'split it into one check per kind' }];
  }
  if (kinds.length === 0) {
    return [{ path: at, message: 'a check needs run (a command, with on: <machine>), capture (the name of a capture) or spec (a TypeScript check, file.spec.ts#name), found none',
      fix: 'add e.g. on: host and run: ping -c 1 10.0.0.2' }];
  }
  const kind = kinds[0]!;
  const r = branches[kind].safeParse(check, { error: explain, reportInput: true });
  if (r.success) return [];
  return r.error.issues.flatMap((iss) => convert(iss, at).map((x) => {
    if (x.at !== 'key') return x;
    const key = String(x.path.at(-1));
    const misplaced = MISPLACED[kind].find((m) => m.keys.includes(key) && (!m.top || x.path.length === at.length + 1));
    return misplaced ? { ...x, fix: misplaced.fix(key) } : x;
  }));
}

function convert(iss: ZIssue, prefix: Path): SchemaIssue[] {
  const path = [...prefix, ...(iss.path as Path)];
  if (iss.code === 'unrecognized_keys') {
    const allowed = iss.message.startsWith('\u0000') ? (JSON.parse(iss.message.slice(1)) as string[]) : [];
    return iss.keys.map((key) => {
      const guess = closest(key, allowed);
      const list = allowed.length ? `allowed here: ${allowed.join(', ')}` : '';
      return { path: [...path, key], at: 'key' as const, message: `unknown key "${key}"`, suggest: guess,
        fix: guess ? `did you mean "${guess}"? ${list}` : list || undefined };
    });
  }
  if (iss.code === 'invalid_union') {
    // Keep the branch whose type fits the value (e.g. the list in "text or list"), if exactly one does.
    const fitting = iss.errors.filter((branch) => !branch.some((b) => b.path.length === 0 && ['invalid_type', 'invalid_value', 'invalid_format'].includes(b.code)));
    if (fitting.length === 1) return fitting[0]!.flatMap((b) => convert(b as ZIssue, path));
  }
  if (iss.code === 'invalid_key') {
    const inner = iss.issues[0];
    return [{ path, at: 'key', ...splitFix(`${inner?.message ?? 'invalid key'}, found ${show(iss.input)}`) }];
  }
  let message = iss.message;
  if ('input' in iss && iss.input !== undefined && iss.code !== 'custom' && !/, found /.test(message.split(FIX)[0]!)) {
    const [head, ...rest] = message.split(FIX);
    message = [`${head}, found ${show(iss.input)}`, ...rest].join(FIX);
  }
  return [{ path, ...splitFix(message) }];
}

function splitFix(message: string): { message: string; fix?: string } {
  const i = message.indexOf(FIX);
  return i < 0 ? { message } : { message: message.slice(0, i), fix: message.slice(i + FIX.length) };
}

function dedupe(issues: SchemaIssue[]): SchemaIssue[] {
  const seen = new Set<string>();
  return issues.filter((i) => {
    const k = `${formatPath(i.path)}\u0000${i.message}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

// ---------------------------------------------------------------------------------------------
// The error map

const TYPE_WORDS: Record<string, string> = {
  string: 'text', number: 'a number', int: 'a whole number', boolean: 'true or false',
  object: 'a mapping (key: value)', array: 'a list', null: 'nothing',
};

const firstSentence = (s: string) => s.replace(/\s+/g, ' ').match(/^.*?[.!?](\s|$)/)?.[0].trim() ?? s;

// zod's per-parse error map: plain words for the user, "what was expected" (the "found" part is
// added by `convert`, which sees every issue's input).
export function explain(iss: z.core.$ZodRawIssue): string | undefined {
  const inst = iss.inst as z.ZodType | undefined;
  switch (iss.code) {
    case 'invalid_type': {
      if (iss.input === undefined) {
        const what = inst?.description ? `: ${firstSentence(inst.description).replace(/ Required(?: for run checks)?\.$/, '')}` : '';
        return `missing (required)${what}`;
      }
      return `expected ${TYPE_WORDS[iss.expected] ?? iss.expected}`;
    }
    case 'unrecognized_keys': {
      const shape = (inst as unknown as { _zod: { def: { shape?: Record<string, unknown> } } } | undefined)?._zod.def.shape;
      return `\u0000${JSON.stringify(Object.keys(shape ?? {}))}`;
    }
    case 'invalid_value':
      return `expected ${iss.values.map((v) => JSON.stringify(v)).join(' or ')}`;
    case 'too_small': {
      const min = Number(iss.minimum);
      if (iss.origin === 'array') return `expected at least ${min} item${min === 1 ? '' : 's'}, found ${Array.isArray(iss.input) ? iss.input.length : 0}`;
      if (iss.origin === 'string') return min === 1 ? 'expected text, found empty text' : `expected at least ${min} characters`;
      return `expected a number ${iss.inclusive ? '≥' : '>'} ${min}`;
    }
    case 'too_big': {
      const max = Number(iss.maximum);
      if (iss.origin === 'array') return `expected at most ${max} items`;
      if (iss.origin === 'string') return `expected at most ${max} characters`;
      return `expected a number ${iss.inclusive ? '≤' : '<'} ${max}`;
    }
    case 'invalid_format':
      return iss.format === 'regex' && 'pattern' in iss ? `expected text matching ${String(iss.pattern)}` : `expected ${iss.format}`;
    case 'invalid_union':
      return 'expected one of the allowed forms';
    default:
      return undefined;
  }
}
