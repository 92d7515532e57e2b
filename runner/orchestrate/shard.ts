// --shard i/n: Playwright's own sharding, over units. A unit is one spec file whose
// tests run in order in one worker (fullyParallel: false), so Playwright shards by whole files: a
// shard runs whole units, never part of one. Which units, Playwright decides (it balances by test
// count); `playwright test --list --shard` asks it before any VM boots.
import { execa } from 'execa';
import { UsageError } from '../errors.ts';
import { NOTE, noteOf } from '../protocol/wire.ts';
import { playwrightCli, type PlaywrightFiles } from '../playwright/config.ts';

// "2/4" → { current: 2, total: 4 }; a UsageError for anything else.
export function parseShard(value: string): { current: number; total: number } {
  const m = /^(\d+)\/(\d+)$/.exec(value.trim());
  const current = Number(m?.[1]);
  const total = Number(m?.[2]);
  if (!m || total < 1 || current < 1 || current > total) {
    throw new UsageError(`--shard takes i/n with 1 ≤ i ≤ n, e.g. 1/4, got ${value}`, 'run one shard per machine: --shard 1/4, --shard 2/4, ... then `netlab-run merge`');
  }
  return { current, total };
}

// The units Playwright puts in this shard of the generated config, in run order;
// undefined when Playwright could not list them (the run then finds out itself).
export async function unitsOfShard(files: PlaywrightFiles, shard: string, signal?: AbortSignal): Promise<string[] | undefined> {
  const r = await execa(process.execPath, [playwrightCli(), 'test', '--config', files.config, '--list', '--shard', shard, '--reporter', 'json'], {
    reject: false, cancelSignal: signal, env: { ...files.env, PLAYWRIGHT_JSON_OUTPUT_NAME: '', FORCE_COLOR: '0' },
  });
  if (r.exitCode !== 0) return undefined;
  try {
    return unitsOfJsonReport(JSON.parse(r.stdout));
  } catch {
    return undefined;
  }
}

interface JsonSuite { specs?: { tests?: { annotations?: { type: string; description?: string }[] }[] }[]; suites?: JsonSuite[] }

// The units of a Playwright JSON report (each test's `netlab-unit` annotation), in the order their tests appear.
export function unitsOfJsonReport(report: { suites?: JsonSuite[] }): string[] {
  const names: string[] = [];
  const walk = (s: JsonSuite) => {
    for (const spec of s.specs ?? []) {
      for (const t of spec.tests ?? []) {
        const unit = noteOf(t.annotations ?? [], NOTE.unit);
        if (unit && !names.includes(unit)) names.push(unit);
      }
    }
    for (const child of s.suites ?? []) walk(child);
  };
  for (const s of report.suites ?? []) walk(s);
  return names;
}
