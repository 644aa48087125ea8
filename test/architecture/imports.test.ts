/**
 * Architecture rules that a reader of the tree relies on, checked on every run:
 *  - the import graph of server/, shared/ and extension/ has no cycle (a cycle is named file by file);
 *  - no file under server/, shared/ or extension/ exceeds MAX_LINES, except generated tables on an explicit list;
 *  - only the update log (server/store/update-log.ts, update-queries.ts) touches the `updates` table.
 * The checker itself is tested on small synthetic graphs, so a rule that could never fail is caught.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findCycles, importGraph, relativeSpecifiers, sourceFiles, type Graph } from './import-graph';

const ROOT = join(import.meta.dirname, '..', '..');
const MAX_LINES = 350;

/** Files allowed over MAX_LINES, each with the reason. Only generated tables belong here for good. */
const LONG_FILE_ALLOWLIST: Record<string, string> = {};

const graphOf = (edges: Record<string, string[]>): Graph => new Map(Object.entries(edges));

describe('the import-graph checker', () => {
  it('finds and names cycles, including a self-import, and passes an acyclic graph', () => {
    expect(findCycles(graphOf({ a: ['b'], b: ['c'], c: [] }))).toEqual([]);
    expect(findCycles(graphOf({ 'config.ts': ['plugins.ts'], 'plugins.ts': ['coordinator.ts'], 'coordinator.ts': ['config.ts', 'x.ts'], 'x.ts': [] })))
      .toEqual([['config.ts', 'plugins.ts', 'coordinator.ts', 'config.ts']]);
    expect(findCycles(graphOf({ a: ['a'] }))).toEqual([['a', 'a']]);
    // Two separate cycles are two findings; a diamond is not a cycle.
    expect(findCycles(graphOf({ a: ['b'], b: ['a'], c: ['d'], d: ['c'], e: ['f', 'g'], f: ['h'], g: ['h'], h: [] }))).toEqual([['a', 'b', 'a'], ['c', 'd', 'c']]);
  });

  it('reads every kind of relative import and export, and ignores packages and comments', () => {
    const text = [
      "import { a } from './a';",
      "import type { B } from '../b';",
      'import {\n  c,\n  d,\n} from "./cd";',
      "export { e } from './e';",
      "export * from './f';",
      "import './side-effect';",
      "const g = await import('./g');",
      "import { z } from 'zod';",
      "// import { no } from './commented';",
      "/* export * from './block-commented'; */",
    ].join('\n');
    expect(relativeSpecifiers(text)).toEqual(['./a', '../b', './cd', './e', './f', './side-effect', './g']);
  });
});

describe('architecture', () => {
  const files = sourceFiles(ROOT, ['server', 'shared', 'extension']);
  const { graph, unresolved } = importGraph(ROOT, files);

  it('reads the whole tree', () => {
    expect(files.length).toBeGreaterThan(100);
    expect(graph.get('server/server.ts')).toContain('server/core/coordinator.ts');
    expect(unresolved, 'relative imports that name no file').toEqual([]);
  });

  it('has no import cycle in server/, shared/ and extension/', () => {
    const cycles = findCycles(graph).map((c) => c.join(' → '));
    expect(cycles, `import cycles:\n${cycles.join('\n')}`).toEqual([]);
  });

  it(`keeps every file under server/, shared/ and extension/ within ${MAX_LINES} lines, except the allowlist`, () => {
    const long = files
      .map((f) => ({ f, lines: readFileSync(join(ROOT, f), 'utf8').split('\n').length - 1 }))
      .filter(({ f, lines }) => lines > MAX_LINES && !(f in LONG_FILE_ALLOWLIST))
      .map(({ f, lines }) => `${f}: ${lines} lines`);
    expect(long, 'split these files (one concept per file) or, for generated tables, allowlist them with a reason').toEqual([]);
    for (const f of Object.keys(LONG_FILE_ALLOWLIST)) expect(files, `allowlisted ${f} no longer exists: remove it from the list`).toContain(f);
  });

  it('lets only the update log touch the updates table', () => {
    const owners = ['server/store/update-log.ts', 'server/store/update-queries.ts'];
    const sql = /\b(?:FROM|INTO|UPDATE|JOIN)\s+updates\b/i;
    const touching = files.filter((f) => sql.test(readFileSync(join(ROOT, f), 'utf8')));
    expect(touching.filter((f) => !owners.includes(f))).toEqual([]);
    expect(touching.sort()).toEqual(owners);
  });
});
