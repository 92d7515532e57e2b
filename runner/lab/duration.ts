// Human units in lab files: durations ("60s", "500ms", "2m", "1h", a bare number = seconds) and
// memory sizes ("256M", "1G", a bare number = MiB). Pure functions, shared by the schema and the CLI.

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const MEMORY_UNITS: Record<string, number> = { k: 1 / 1024, m: 1, g: 1024 };

/** What a duration string looks like (also the JSON Schema pattern, so no flags). */
export const DURATION_PATTERN = /^\s*[0-9]+(\.[0-9]+)?\s*(ms|s|m|h)?\s*$/;
/** What a memory size string looks like: K, M, G with optional i and B (MiB, GB...), any case. */
export const MEMORY_PATTERN = /^\s*[0-9]+(\.[0-9]+)?\s*([kKmMgG]([iI]?[bB])?)?\s*$/;

// Milliseconds from "60s", "500ms", "2m", "1h" or a number of seconds; throws on anything else.
export function parseDuration(value: string | number): number {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0) throw new Error(`not a duration: ${value} (expected seconds ≥ 0)`);
    return Math.round(value * 1000);
  }
  const m = DURATION_PATTERN.exec(value);
  if (!m) throw new Error(`not a duration: ${JSON.stringify(value)} (expected e.g. 30s, 500ms, 2m, 1h)`);
  const amount = Number.parseFloat(value);
  return Math.round(amount * DURATION_UNITS[m[2] ?? 's']!);
}

// MiB from "256M", "1G", "512MiB" or a number of MiB; throws on anything else.
export function parseMemory(value: string | number): number {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value <= 0) throw new Error(`not a memory size: ${value} (expected MiB > 0)`);
    return Math.round(value);
  }
  const m = MEMORY_PATTERN.exec(value);
  if (!m) throw new Error(`not a memory size: ${JSON.stringify(value)} (expected e.g. 256M, 1G)`);
  const unit = (m[2] ?? 'm')[0]!.toLowerCase();
  return Math.round(Number.parseFloat(value) * MEMORY_UNITS[unit]!);
}

