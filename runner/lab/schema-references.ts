// Cross-references: what zod's shapes cannot say. Every machine, capture, group and stage a lab
// names must be declared; names and ids are unique; stages only move forward through the checks.
// Runs on a lab whose shape already parsed, so every field here has its type and defaults.
import type { Lab } from './schema.ts';
import { closest, FIX, formatPath, quoteList, type Path } from './schema-messages.ts';

type Add = (path: Path, message: string, fix?: string) => void;

/** What each check of references needs: a way to report, and the two checks most of them share. */
interface Refs {
  add: Add;
  /** `ref` names a declared machine (or "*" where `allowAll`). */
  machine: (path: Path, ref: string, allowAll?: boolean) => void;
  /** No value is used twice; `kind` is e.g. "link name". */
  unique: (kind: string, items: { value: string; path: Path }[]) => void;
}

// Reports each broken reference of `lab` through `report`, fix lines already joined on (FIX).
export function checkReferences(lab: Lab, report: (path: Path, message: string) => void): void {
  const add: Add = (path, message, fix) => report(path, fix ? message + FIX + fix : message);
  const refs: Refs = { add, machine: machineCheck(Object.keys(lab.machines), add), unique: uniqueCheck(add) };
  checkLinks(lab, refs);
  lab.setup.forEach((s, i) => refs.machine(['setup', i, 'on'], s.on));
  checkSubmission(lab, refs);
  lab.captures.forEach((c, i) => refs.machine(['captures', i, 'on'], c.on));
  refs.unique('capture name', lab.captures.map((c, i) => ({ value: c.name, path: ['captures', i, 'name'] })));
  checkCheckTargets(lab, refs);
  checkCheckNames(lab, refs);
  lab.collect.forEach((c, i) => refs.machine(['collect', i, 'on'], c.on, true));
  checkStages(lab, add);
  checkGrading(lab, add);
}

function machineCheck(machines: string[], add: Add): Refs['machine'] {
  return (path, ref, allowAll = false) => {
    if (machines.includes(ref) || (allowAll && ref === '*')) return;
    const guess = closest(ref, machines);
    add(path, `no machine named "${ref}"; this lab's machines are ${quoteList(machines)}${allowAll ? ' (or "*" for all)' : ''}`,
      guess ? `did you mean "${guess}"?` : `use one of them, or declare "${ref}" under machines:`);
  };
}

function uniqueCheck(add: Add): Refs['unique'] {
  return (kind, items) => {
    const seen = new Map<string, Path>();
    for (const it of items) {
      const first = seen.get(it.value);
      if (first) add(it.path, `duplicate ${kind} "${it.value}": ${formatPath(first.slice(0, -1))} already uses it`, `give each ${kind.replace(/ .*/, '')} a different ${kind.split(' ').pop()}`);
      else seen.set(it.value, it.path);
    }
  };
}

// A link's members are declared machines, each once, and only members get addresses.
function checkLinks(lab: Lab, { add, machine, unique }: Refs): void {
  lab.links.forEach((link, i) => {
    const members = new Set<string>();
    link.machines.forEach((m, j) => {
      machine(['links', i, 'machines', j], m);
      if (members.has(m)) add(['links', i, 'machines', j], `machine "${m}" is listed twice on link "${link.name}"`, 'a machine joins a segment once; list it once');
      members.add(m);
    });
    for (const m of Object.keys(link.addresses ?? {})) {
      if (!members.has(m)) add(['links', i, 'addresses', m], `"${m}" is not on link "${link.name}" (its machines: ${quoteList(link.machines)})`, 'give addresses only to machines the link lists');
    }
  });
  unique('link name', lab.links.map((l, i) => ({ value: l.name, path: ['links', i, 'name'] })));
}

// The submission runs on declared machines, each once, and its stage names are unique.
function checkSubmission(lab: Lab, { add, machine, unique }: Refs): void {
  if (!lab.submission) return;
  const on = lab.submission.on;
  if (typeof on === 'string') machine(['submission', 'on'], on);
  else {
    on.forEach((m, j) => {
      machine(['submission', 'on', j], m);
      if (on.indexOf(m) < j) add(['submission', 'on', j], `machine "${m}" is listed twice`, 'the submission runs once per machine; list it once');
    });
  }
  unique('stage name', (lab.submission.stages ?? []).map((s, j) => ({ value: s.name, path: ['submission', 'stages', j, 'name'] })));
}

// What each check runs on or reads: a run check's machine, a spec check's (optional) machine, a capture check's capture.
function checkCheckTargets(lab: Lab, { add, machine }: Refs): void {
  const captures = lab.captures.map((c) => c.name);
  lab.checks.forEach((c, i) => {
    if (c.kind === 'run') return machine(['checks', i, 'on'], c.on);
    if (c.kind === 'spec') return c.on === undefined ? undefined : machine(['checks', i, 'on'], c.on);
    if (captures.includes(c.capture)) return;
    const guess = closest(c.capture, captures);
    add(['checks', i, 'capture'], captures.length
      ? `no capture named "${c.capture}"; this lab's captures are ${quoteList(captures)}`
      : `no capture named "${c.capture}"; this lab declares no captures`,
    guess ? `did you mean "${guess}"?` : `declare it under captures: { name: ${c.capture}, on: <machine>, interface: <nic> }`);
  });
}

// Check names are unique, and so are ids: they default to a slug of the name, so two different names can still collide.
function checkCheckNames(lab: Lab, { add, unique }: Refs): void {
  unique('check name', lab.checks.map((c, i) => ({ value: c.name, path: ['checks', i, 'name'] })));
  const seen = new Map<string, number>();
  lab.checks.forEach((c, i) => {
    const first = seen.get(c.id);
    if (first === undefined) { seen.set(c.id, i); return; }
    if (c.name === lab.checks[first]!.name) return; // already reported as a duplicate name
    add(['checks', i, 'id'], `duplicate check id "${c.id}": checks[${first}] already uses it (an id defaults to the name in lowercase, other characters as "-")`,
      `give one of them an explicit id, e.g. id: ${c.id}-2`);
  });
}

// A check's `group` names a declared group; `partial` replaces `expect` and its regex compiles.
function checkGrading(lab: Lab, add: Add): void {
  const groups = Object.keys(lab.groups);
  lab.checks.forEach((c, i) => {
    if (c.group !== undefined && !groups.includes(c.group)) {
      const guess = closest(c.group, groups);
      add(['checks', i, 'group'], groups.length ? `no group named "${c.group}"; this lab's groups are ${quoteList(groups)}` : `no group named "${c.group}"; this lab declares no groups`,
        guess ? `did you mean "${guess}"?` : `declare it: groups: { ${c.group}: { max: <points> } }`);
    }
    if (c.kind !== 'run' || c.partial === undefined) return;
    if (c.expect.stdout || c.expect.stderr || c.expect.exitCode !== 0) {
      add(['checks', i, 'partial'], 'partial and expect exclude each other: a partial check is graded from its stdout alone', 'remove expect, or remove partial for an all-or-nothing check');
    }
    if (typeof c.partial === 'object') {
      try { new RegExp(c.partial.lines); } catch (err) {
        add(['checks', i, 'partial', 'lines'], `not a valid regular expression: ${(err as Error).message.replace(/^Invalid regular expression: \/.*\/\w*: /s, '')}`,
          'escape special characters with a backslash (\\( \\. \\[)');
      }
    }
  });
}

// A check's `stage` names a declared stage, and stages only move forward through the file.
function checkStages(lab: Lab, add: Add): void {
  const stages = (lab.submission?.stages ?? []).map((s) => s.name);
  let latest = 0;
  let latestAt = -1;
  lab.checks.forEach((c, i) => {
    if (c.stage !== undefined && stages.length === 0) {
      add(['checks', i, 'stage'], `stage "${c.stage}" given, but ${lab.submission ? 'the submission has no stages (it uses run)' : 'this lab has no submission'}`,
        'declare submission.stages: [{ name, run }], or remove stage');
      return;
    }
    const at = c.stage === undefined ? 0 : stages.indexOf(c.stage);
    if (at < 0) {
      const guess = closest(c.stage!, stages);
      add(['checks', i, 'stage'], `no stage named "${c.stage}"; this lab's stages are ${quoteList(stages)}`, guess ? `did you mean "${guess}"?` : 'use one of them, or declare it under submission.stages');
      return;
    }
    if (at < latest) {
      add(c.stage === undefined ? ['checks', i] : ['checks', i, 'stage'],
        `${c.stage === undefined ? `no stage given, so this check belongs to the first stage "${stages[0]}"` : `stage "${c.stage}"`}, but it comes after checks[${latestAt}] of the later stage "${stages[latest]}"; checks run in file order and stages only move forward`,
        c.stage === undefined ? `add stage: ${stages[latest]}, or move the check up among the checks of "${stages[0]}"` : `move the check up among the checks of "${c.stage}", or give it stage: ${stages[latest]}`);
      return;
    }
    if (at > latest) { latest = at; latestAt = i; }
  });
}
