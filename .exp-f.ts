import { findLabs, loadLab } from './runner/lab.ts';
for (const f of await findLabs(['test/fixtures/labs'])) {
  try { const l = await loadLab(f); console.log('OK', f.split('/').at(-2), l.specFiles.length, JSON.stringify(l.lab).slice(0, 200)); }
  catch (e: any) { console.log(`--- ${e.name} (${e.file}:${e.line}:${e.column})\n${e.message}`); }
}
for (const p of ['nope', 'test/fixtures/labs/valid-full/solution', 'test/fixtures']) {
  try { await findLabs([p]); console.log('found', p); } catch (e: any) { console.log('--- findLabs', e.message); }
  try { await loadLab(p); } catch (e: any) { console.log('--- loadLab', e.message); }
}
