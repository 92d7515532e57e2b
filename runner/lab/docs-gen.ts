// Writes docs/lab-format.md: the field-by-field reference is generated from the schema's
// descriptions (via its JSON Schema), so docs, editor hints and validation never disagree.
// Run: `tsx runner/lab/docs-gen.ts` (also done by `npm run schema`).
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DURATION_PATTERN, MEMORY_PATTERN } from './duration.ts';
import { labJsonSchema, MIN_MEMORY_MIB } from './schema.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const DOCS_FILE = join(ROOT, 'docs', 'lab-format.md');
/** The documented example is a real lab that the tests load. */
export const EXAMPLE_FILE = join(ROOT, 'test', 'fixtures', 'labs', 'valid-full', 'lab.yaml');
const SPEC_EXAMPLE_FILE = join(ROOT, 'test', 'fixtures', 'labs', 'valid-full', 'reachability.spec.ts');

type JSONSchema = {
  type?: string | string[];
  title?: string;
  description?: string;
  default?: unknown;
  properties?: Record<string, JSONSchema>;
  required?: string[];
  items?: JSONSchema;
  additionalProperties?: JSONSchema | boolean;
  propertyNames?: JSONSchema;
  anyOf?: JSONSchema[];
  enum?: unknown[];
  const?: unknown;
  pattern?: string;
  format?: string;
  minimum?: number;
  maximum?: number;
  minItems?: number;
};

interface Section { heading: string; where: string; schema: JSONSchema }

const objectsIn = (s: JSONSchema): JSONSchema[] =>
  s.properties ? [s] : (s.anyOf ?? []).filter((b) => b.properties);

function typeOf(s: JSONSchema): string {
  if (s.anyOf) {
    const kinds = s.anyOf.filter((b) => b.type !== 'null');
    if (kinds.some((b) => b.pattern === DURATION_PATTERN.source)) return 'duration';
    if (kinds.some((b) => b.pattern === MEMORY_PATTERN.source)) return 'memory size';
    if (kinds.every((b) => b.format?.startsWith('cidr'))) return 'address/prefix';
    return [...new Set(kinds.map(typeOf))].join(' or ');
  }
  if (s.const !== undefined) return `\`${JSON.stringify(s.const)}\``;
  if (s.enum) return s.enum.map((v) => `\`${String(v)}\``).join(' | ');
  if (s.title) return s.title.toLowerCase();
  switch (s.type) {
    case 'string': return 'text';
    case 'integer': return 'integer';
    case 'number': return 'number';
    case 'boolean': return 'boolean';
    case 'array': return s.items ? `list of ${plural(typeOf(s.items))}` : 'list';
    case 'object': return s.additionalProperties && typeof s.additionalProperties === 'object' ? `map of ${typeOf(s.additionalProperties)}` : 'mapping';
    default: return 'any';
  }
}

function plural(t: string): string {
  if (t.includes(' or ')) return t.split(' or ').map(plural).join(' or ');
  if (t === 'text') return 'texts';
  return t.endsWith('s') ? t : `${t}s`;
}

const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\s*\n\s*/g, ' ');

function defaultOf(s: JSONSchema, required: boolean): string {
  if (required) return '**required**';
  if (s.default === undefined) return '—';
  return `\`${JSON.stringify(s.default)}\``;
}

// Every object in the schema, depth first (a section, then the ones nested in it), each object
// once: one that appears at several paths (stdout and stderr) lists them all.
function sections(root: JSONSchema): Section[] {
  const out: Section[] = [];
  const visit = (heading: string, where: string, schema: JSONSchema) => {
    const same = out.find((s) => s.heading === heading);
    if (same) { if (!same.where.split(', ').includes(where)) same.where += `, ${where}`; return; }
    out.push({ heading, where, schema });
    const base = where === 'lab.yaml' ? '' : `${where}.`;
    for (const [key, prop] of Object.entries(schema.properties ?? {})) {
      const record = typeof prop.additionalProperties === 'object' ? prop.additionalProperties : undefined;
      const [path, target] = record ? [`${base}${key}.<${prop.propertyNames?.description ?? 'key'}>`, record]
        : prop.items ? [`${base}${key}[]`, prop.items] : [`${base}${key}`, prop];
      for (const obj of objectsIn(target)) visit(obj.title ?? path, path, obj);
    }
  };
  visit('Top level', 'lab.yaml', root);
  return out;
}

const anchor = (heading: string) => heading.toLowerCase().replace(/[^a-z0-9 -]/g, '').replace(/ /g, '-');

function table(s: Section): string {
  const rows = Object.entries(s.schema.properties ?? {}).map(([key, prop]) => {
    const required = s.schema.required?.includes(key) ?? false;
    const description = prop.description ?? objectsIn(prop)[0]?.description ?? (prop.items?.description ?? '');
    return `| \`${key}\` | ${cell(typeOf(prop))} | ${defaultOf(prop, required)} | ${cell(description)} |`;
  });
  return [
    `### ${s.heading}`,
    '',
    `${s.where.split(', ').map((w) => `\`${w}\``).join(', ')}${s.schema.description && s.heading !== 'Top level' ? ` — ${cell(s.schema.description)}` : ''}`,
    '',
    '| Field | Type | Default | Description |',
    '| --- | --- | --- | --- |',
    ...rows,
    '',
  ].join('\n');
}

// The whole docs/lab-format.md text.
export function renderDocs(example = readFileSync(EXAMPLE_FILE, 'utf8')): string {
  const all = sections(labJsonSchema() as JSONSchema);
  return [
    intro(), exampleSection(example), valuesAndChecks(), specChecksSection(),
    verifySection(), runSection(), loadChecksSection(), referenceSection(all),
  ].join('\n\n');
}

// The title, what a lab folder holds, and how editors learn the format.
function intro(): string {
  return `<!-- Generated by runner/lab/docs-gen.ts from runner/lab/schema.ts (npm run schema). Do not edit by hand. -->
# Lab format (\`lab.yaml\`)

A lab is a folder with a \`lab.yaml\`: the Linux VMs it needs, how they are linked, setup commands,
the student's submission, packet captures, the graded checks and the final state to collect.
netlab-run boots the VMs, runs everything over SSH, grades the checks and writes the reports.

\`\`\`
labs/bridge/
├── lab.yaml              the lab (this page)
├── solution/bridge.sh    reference solution (submission.reference), graded when no --submission is given
├── examples/*.sh         example submissions (examples:) with the score each must get: netlab-run verify
└── *.spec.ts             checks written in TypeScript, named by lab.yaml's spec checks
\`\`\`

\`netlab-run labs/bridge\` runs one lab; \`netlab-run labs\` runs every \`labs/*/lab.yaml\`.

## Editor support

\`labs/lab.schema.json\` is generated from the same schema as this page. Put this first line in a
\`lab.yaml\` (the path is relative to the file) and editors with the YAML language server (VS Code's
YAML extension, Neovim, Helix...) validate, complete and document the file as you type:

\`\`\`yaml
# yaml-language-server: $schema=../lab.schema.json
\`\`\``;
}

// The full example is a real lab the tests load; its schema line is rewritten to point where the docs sit.
function exampleSection(example: string): string {
  const shown = example.replace(/^# yaml-language-server: \$schema=.*$/m, '# yaml-language-server: $schema=../lab.schema.json');
  return `## Example

Every field, with realistic values (this file is also a test fixture, so it always loads):

\`\`\`yaml
${shown.trimEnd()}
\`\`\`

A minimal lab needs only \`name\`, \`title\`, \`machines\` and \`checks\`:

\`\`\`yaml
name: minimal
title: One machine, one check
machines:
  host:
checks:
  - name: the kernel answers
    on: host
    run: uname -r
\`\`\``;
}

// How values are written and what the three kinds of check do, grading included.
function valuesAndChecks(): string {
  return `## Values

- **Durations** (\`timeout\`, \`until\`, \`interval\`): \`500ms\`, \`30s\`, \`2m\`, \`1h\`, or a bare number of
  seconds (\`30\` = \`30s\`; decimals allowed: \`1.5s\`).
- **Memory sizes** (\`memory\`): \`256M\`, \`1G\` (also \`MiB\`, \`GiB\`, \`MB\`, \`GB\`, any case; all
  powers of 1024), or a bare number of MiB. At least ${MIN_MEMORY_MIB} MiB: smaller VMs hang at boot.
- **Names**: the lab's \`name\` and machine, link and capture names are lowercase letters, digits and
  \`-\` (they end up in file and resource names); check \`id\`s may also use \`.\` and \`_\`.
- **Commands** run as root with bash on the named machine; submissions run in \`/root/submission\`.
- Unknown keys are errors, so a typo (\`chekcs:\`, \`timout:\`) is reported instead of ignored.

## Checks

A check is one of three kinds:

- a **run check** (\`on\` + \`run\`): runs a command and judges its exit code and output. Without
  \`expect\` it passes when the command exits 0. With \`expect\` but no \`exitCode\`, the exit code must
  still be 0 — write \`exitCode: any\` when only the output matters. \`stdout\`/\`stderr\` take exactly one
  of \`contains\` (text, or a list that must all appear), \`matches\` (a JavaScript regular expression,
  multiline; checked when the lab loads) or \`equals\` (the trimmed output).
- a **capture check** (\`capture\`): counts the packets of a capture (see \`captures\`) that match
  \`expect.packets\` (a tcpdump filter) and passes when the count is within \`atLeast\`..\`atMost\`.
- a **spec check** (\`spec\`): runs a function written in TypeScript in a \`*.spec.ts\` beside
  \`lab.yaml\` (see [Checks in TypeScript](#checks-in-typescript)), for what a command and a
  pattern cannot say.

A check with more than one of \`run\`, \`capture\` and \`spec\`, or none, is an error. With \`until\`, a failing check is
retried every \`interval\` until \`until\` has passed since its first attempt (for things that settle,
like ARP or routing, and for capture checks that count at least some packets: the count is taken
while tcpdump still writes the capture, and the last packets of a check just before may not be in
it yet); the report keeps the first and last attempts. Checks run in order; a failed check never
stops the ones after it (partial credit).

Grading: a check is worth \`points\` (default 1), all or nothing — or a share of them with
\`partial\` (instead of \`expect\`; the exit code does not matter): \`partial: fraction\` reads the
share from the last line of stdout (\`3/4\`, \`0.75\` or \`75%\`), and
\`partial: { lines: "^ok ", of: 4 }\` gives \`points/4\` for each stdout line matching \`^ok \` (at most
4 count); a partial check passes only with all its points. Checks that name the same \`group\` add up
to at most that group's \`max\` (\`groups: { connectivity: { max: 5 } }\`), in the score and in the
maximum. \`visibility: hidden\` or \`after_due_date\` keeps a check's name, commands, output and
hints out of everything a student gets (see [grading.md](grading.md)).`;
}

// The TypeScript checks, with the real spec file beside the example lab as their example.
function specChecksSection(): string {
  return `## Checks in TypeScript

\`spec: file.spec.ts#name\` runs the function \`name\` exported by \`file.spec.ts\` (beside \`lab.yaml\`;
without \`#name\`, its default export). It runs in the check's place in the order, inside the same
Playwright test machinery and against the same machines as the YAML checks, and everything else
about the check (\`points\`, \`hint\`, \`feedback\`, \`visibility\`, \`group\`, \`stage\`, \`requires\`,
\`timeout\` per attempt, \`until\`/\`interval\` polling) comes from \`lab.yaml\` as for any check, so
\`--list\`, the gradebook and the maximum score know it before anything runs.

The function gets \`{ machine, machines, kernel, expect, step, attempt }\`: \`machine(name)\` (no name:
the check's \`on\`, default the first machine) runs commands whose output goes in the report, and
\`expect\` is Playwright's. The check passes when the function returns; a throw (a failed
\`expect\`) fails it with the message as "got"; returning a number of points gives partial credit
(it passes only with all of them). A machine that is down or an SSH failure makes it an error,
as for the other kinds. From the example above (\`${relative(join(ROOT, 'docs'), SPEC_EXAMPLE_FILE)}\`):

\`\`\`ts
${readFileSync(SPEC_EXAMPLE_FILE, 'utf8').trimEnd()}
\`\`\`

A lab outside this repository imports the same functions as \`import { labCheck, expect } from 'netlab-run/lab'\`.
Every \`*.spec.ts\` beside \`lab.yaml\` must be named by a check, and every name must be an exported
function: both are checked when the lab loads (exit 2), not in the middle of a graded run.`;
}

// Example submissions: how a lab author tests the checks with `netlab-run verify`.
function verifySection(): string {
  return `## Example submissions and \`netlab-run verify\`

A lab's checks are code, and they need tests like code: does the reference get full marks, and does
each typical mistake lose exactly the points it should, on the checks that should catch it?
\`examples\` lists example submissions (files in the lab folder, e.g. \`examples/no-lo.sh\`), each with
the exact \`score\` it must get and, optionally, \`failed\`: the ids of exactly the checks that must
not pass (a check that fails or errors; a skipped one is neither).

\`\`\`yaml
examples:                       # graded by \`netlab-run verify\`; the reference always must get full marks
  - file: examples/no-lo.sh     # relative to the lab folder
    score: 16                   # the exact score it must get
    failed: [lo-is-up-in-both-namespaces]   # optional: exactly these check ids do not pass
\`\`\`

\`netlab-run verify labs/veth\` (or \`netlab-run verify labs\` for every lab) grades the reference and
every example, each in its own VMs and several at once, as a class is graded, and prints one line
per submission: the score it got against the one declared, and the checks that differ. A lab
without examples has its reference graded alone, and verify says that no mistakes are declared.
Exit codes: 0 every submission got its declared grade; **1 the lab's checks do not grade its
examples as declared** (a wrong score, or other checks failing than declared); 2 a usage or lab
error; 69 a submission could not be graded (infrastructure: run it again).

\`--out DIR\` (default \`netlab-verify\`) keeps every report: \`DIR/<lab>/<example>/\` (what a student
would get, hints included), \`DIR/<lab>/staff/<example>/\` (the full copy: \`result.json\`,
\`summary.json\`), \`gradebook.csv\` and a staff \`index.html\` per lab; \`DIR/verify.json\` holds
the verdicts that \`--json\` prints. The reference is named \`reference\`, an example after its file
(\`examples/no-lo.sh\` → \`no-lo\`).`;
}

// The machines' NICs and the order in which a run does things.
function runSection(): string {
  return `## Links and NICs

Every machine has a management NIC, \`eth0\`, used for SSH only. Each link a machine is on adds a NIC:
\`eth1\` for the first link that lists it, \`eth2\` for the second, and so on. \`addresses\` set an
address on that NIC (and bring it up) before \`setup\` runs; without one the NIC is left down and
unconfigured, for the student to set up.

## Order of a run

1. Boot the machines, create the links, set link \`addresses\`.
2. Start captures with \`start: before-submission\`.
3. Run \`setup\` steps in order.
4. Upload the submission to \`/root/submission/<file>\` on \`submission.on\` and run \`submission.run\` there.
5. Start captures with \`start: after-submission\` (the default).
6. Run the checks in order.
7. Stop the captures, run the \`collect\` commands; write the reports.`;
}

// What loading a lab checks beyond types, and how problems are reported.
function loadChecksSection(): string {
  return `## What is checked when a lab loads

Besides types and formats, loading a lab checks that:

- every \`on\` (setup steps, submission, captures, run checks, collect) and every link member names a
  declared machine; link \`addresses\` only name that link's machines, and a machine joins a link once;
- every capture check's \`capture\` names a declared capture;
- every check's \`group\` names a declared group; \`partial\` comes without \`expect\`, and its
  \`lines\` regular expression compiles;
- check names, check ids (given or derived from the name), capture names and link names are unique;
- \`stdout.matches\`/\`stderr.matches\` regular expressions compile;
- \`submission.reference\` is a file in the lab folder;
- every example's \`file\` is a file in the lab folder, listed once; its \`score\` is at most the
  lab's maximum and its \`failed\` ids name checks; a lab with examples has a submission;
- every spec check's file loads and exports the function it names, and every \`*.spec.ts\` beside
  \`lab.yaml\` is named by a check.

Problems are reported together (up to ${10} at a time), each with file, line, column and the path of
the field, what was expected and what was found, and a fix where one is clear:

\`\`\`
labs/bridge/lab.yaml:11:9: checks[1].on: no machine named "nohost"; this lab's machines are "host", "router"
  fix: did you mean "host"?
labs/bridge/lab.yaml:12:13: checks[1].points: expected a number, found "three"
\`\`\`

A lab error exits with code 2.`;
}

// The field-by-field reference: an index, then a table per object of the schema.
function referenceSection(all: Section[]): string {
  return `## Reference

${all.map((s) => `- [${s.heading}](#${anchor(s.heading)}) — ${s.where.split(', ').map((w) => `\`${w}\``).join(', ')}`).join('\n')}

${all.map(table).join('\n')}`;
}

// Writes docs/lab-format.md; returns whether it changed.
export function writeDocs(): boolean {
  const text = renderDocs();
  let old = '';
  try { old = readFileSync(DOCS_FILE, 'utf8'); } catch { /* first run */ }
  if (old === text) return false;
  writeFileSync(DOCS_FILE, text);
  return true;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  console.log(writeDocs() ? `wrote ${DOCS_FILE}` : `${DOCS_FILE} is up to date`);
}
