// `npm run schema`: writes labs/lab.schema.json (for editors) and docs/lab-format.md from
// runner/lab/schema.ts. Both are committed; a unit test fails when either is stale.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DOCS_FILE, writeDocs } from './docs-gen.ts';
import { labJsonSchemaText } from './schema.ts';

export const SCHEMA_FILE = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'labs', 'lab.schema.json');

// Writes the JSON Schema file; returns whether it changed.
export function writeSchema(): boolean {
  const text = labJsonSchemaText();
  let old = '';
  try { old = readFileSync(SCHEMA_FILE, 'utf8'); } catch { /* first run */ }
  if (old === text) return false;
  mkdirSync(dirname(SCHEMA_FILE), { recursive: true });
  writeFileSync(SCHEMA_FILE, text);
  return true;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  for (const [file, changed] of [[SCHEMA_FILE, writeSchema()], [DOCS_FILE, writeDocs()]] as const) {
    console.log(`${changed ? 'wrote' : 'up to date:'} ${relative(process.cwd(), file)}`);
  }
}
