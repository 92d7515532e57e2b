// netlab.config.yaml: a repository's defaults for its runs (the kernel matrix, the labs, the report
// folder), validated like lab.yaml: every problem is a LabError at file:line:column (exit 2).
// Command-line flags win over the file.
import { existsSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { isMap, isScalar, LineCounter, parseDocument } from 'yaml';
import { z } from 'zod';
import { DEBIAN_RELEASES, parseKernelSpec } from '../../vm/build/kernel-spec.ts';
import { displayPath, LabError, locate, type LabIssue } from '../lab/load.ts';
import { formatPath, type SchemaIssue } from '../lab/schema.ts';

export const CONFIG_FILE = 'netlab.config.yaml';

export const ConfigSchema = z.strictObject({
  kernels: z.array(z.string().min(1, { error: 'expected a kernel name, found empty text' }), { error: 'expected a list of kernels, e.g. [debian:bookworm, debian:trixie]' })
    .min(1, { error: 'expected at least one kernel' }).optional()
    .describe('Kernels every lab runs on: one unit per lab and kernel, as if each were given with --kernel. Machines that pin a kernel follow these too. Default: each lab\'s own kernel.'),
  labs: z.array(z.string().min(1, { error: 'expected a path, found empty text' }), { error: 'expected a list of paths, e.g. [labs]' })
    .min(1, { error: 'expected at least one path' }).optional()
    .describe('Lab folders, lab.yaml files or folders of labs to run when the command line names none; relative to this file.'),
  out: z.string({ error: 'expected a folder name' }).min(1, { error: 'expected a folder name, found empty text' }).optional()
    .describe('Report folder (like --out), relative to this file. Default: netlab-report in the current folder.'),
  workers: z.number({ error: 'expected a whole number ≥ 1' }).int({ error: 'expected a whole number ≥ 1' }).min(1, { error: 'expected a whole number ≥ 1' }).optional()
    .describe('Units run at once (like --workers). Default: as --workers, three vCPUs per core under TCG (one with KVM), as memory allows.'),
});

export type ConfigFile = z.output<typeof ConfigSchema>;

/** A loaded config file: its values with paths made absolute, and where it is. */
export interface LoadedConfig { file: string; dir: string; config: ConfigFile }

// The config file that applies in `cwd`: $NETLAB_CONFIG (a file, or "none" for no file), else
// netlab.config.yaml in cwd or the closest parent up to the repository root (the folder with .git).
export function findConfigFile(cwd = process.cwd(), env = process.env): string | undefined {
  const forced = env.NETLAB_CONFIG;
  if (forced !== undefined && forced !== '') return forced === 'none' ? undefined : resolve(cwd, forced);
  for (let dir = resolve(cwd); ; dir = dirname(dir)) {
    const file = join(dir, CONFIG_FILE);
    if (existsSync(file) && statSync(file).isFile()) return file;
    if (existsSync(join(dir, '.git')) || dirname(dir) === dir) return undefined;
  }
}

// Parses and validates a config file's text; relative paths become absolute against the file's folder.
export function parseConfig(text: string, file: string): LoadedConfig {
  const shown = displayPath(file);
  const dir = dirname(resolve(file));
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length) {
    throw new LabError(doc.errors.map((e) => {
      const { line, col } = lc.linePos(e.pos[0]);
      return { file: shown, line, column: col, path: '', message: `YAML syntax: ${e.message.split('\n')[0]}`, fix: 'check the indentation and quoting here' };
    }));
  }
  if (doc.contents === null || (isScalar(doc.contents) && doc.contents.value === null)) return { file, dir, config: {} };
  if (!isMap(doc.contents)) throw new LabError([{ file: shown, line: 1, column: 1, path: '', message: 'expected a mapping (kernels:, labs:, out:, workers:)' }]);

  const raw = doc.toJS() as unknown;
  const issues: SchemaIssue[] = [];
  const r = ConfigSchema.safeParse(raw);
  if (!r.success) {
    for (const iss of r.error.issues) {
      if (iss.code === 'unrecognized_keys') {
        const allowed = Object.keys(ConfigSchema.shape);
        for (const key of iss.keys) {
          const near = allowed.find((a) => editDistance(a, key) <= 2);
          issues.push({ path: [...iss.path as (string | number)[], key], at: 'key', message: `unknown key "${key}"${near ? `; did you mean ${near}?` : ''}`, fix: `allowed keys: ${allowed.join(', ')}` });
        }
      } else {
        issues.push({ path: iss.path as (string | number)[], message: iss.message });
      }
    }
  }
  const config: ConfigFile = r.success ? { ...r.data } : {};
  // Kernels are checked even when other keys are wrong, so one run of the file lists every problem.
  const kernels = (raw as { kernels?: unknown }).kernels;
  if (Array.isArray(kernels)) {
    const seen = new Set<string>();
    const specs = kernels.map((k, i) => {
      if (typeof k !== 'string' || !k.trim()) return '';
      const spec = k.trim().startsWith('local:') ? localRelativeTo(dir, k.trim()) : k.trim();
      try { parseKernelSpec(spec); } catch (err) {
        const first = (err as Error).message.split('\n')[0]!.replace(/\.? Valid forms:$/, '');
        issues.push({ path: ['kernels', i], message: first, fix: `use ${DEBIAN_RELEASES.map((r) => `debian:${r}`).join(', ')} (add :generic for the generic flavour), or local:<bzImage>:<modules>` });
      }
      if (seen.has(spec)) issues.push({ path: ['kernels', i], message: `${k} is listed twice` });
      seen.add(spec);
      return spec;
    });
    if (config.kernels) config.kernels = specs;
  }
  if (issues.length) {
    throw new LabError(issues
      .map((i): LabIssue => ({ ...locate(doc, lc, i), file: shown, path: formatPath(i.path), message: i.message, fix: i.fix }))
      .sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0)));
  }
  if (config.labs) config.labs = config.labs.map((p) => resolve(dir, p));
  if (config.out) config.out = resolve(dir, config.out);
  return { file, dir, config };
}

// Reads the config file that applies (see findConfigFile); undefined when there is none.
export async function loadConfigFile(cwd = process.cwd(), env = process.env): Promise<LoadedConfig | undefined> {
  const file = findConfigFile(cwd, env);
  if (!file) return undefined;
  let text: string;
  try { text = await readFile(file, 'utf8'); } catch {
    throw LabError.at(file, 'cannot read the config file', env.NETLAB_CONFIG ? 'NETLAB_CONFIG names a file that does not exist; fix or unset it' : undefined);
  }
  return parseConfig(text, file);
}

/** The run options a config file can set, and whether the command line set them. */
export interface ConfigurableOptions { paths: string[]; kernel: string[]; out: string; workers?: number }

// Fills in what the command line left out from the config file: flags win, a flag given at all
// replaces the file's whole list (--kernel x replaces kernels:, lab paths replace labs:).
export function applyConfig<T extends ConfigurableOptions>(o: T, loaded: LoadedConfig | undefined, outFromFlag: boolean): T {
  if (!loaded) return o;
  const c = loaded.config;
  return {
    ...o,
    paths: o.paths.length ? o.paths : (c.labs ?? o.paths),
    kernel: o.kernel.length ? o.kernel : (c.kernels ?? o.kernel),
    out: outFromFlag ? o.out : (c.out ?? o.out),
    workers: o.workers ?? c.workers,
  };
}

// local:<bzImage>:<modules> with both paths made absolute against the config file's folder.
function localRelativeTo(dir: string, spec: string): string {
  const rest = spec.slice('local:'.length);
  const cut = rest.lastIndexOf(':');
  if (cut <= 0 || cut === rest.length - 1) return spec; // parseKernelSpec says what is wrong
  return `local:${resolve(dir, rest.slice(0, cut))}:${resolve(dir, rest.slice(cut + 1))}`;
}

// Levenshtein distance, for "did you mean" on short keys.
function editDistance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) next[j] = Math.min(row[j]! + 1, next[j - 1]! + 1, row[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    row = next;
  }
  return row[b.length]!;
}
