/**
 * The TypeScript import graph of the source tree, read without a compiler: every relative
 * specifier of an `import … from`, `export … from`, side-effect `import '…'` or dynamic
 * `import('…')` (type-only imports included: a cycle of types is still a design cycle), resolved
 * to a file of the tree. Package imports are not edges. Plus a cycle finder over any graph.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

export type Graph = Map<string, string[]>;

/** `.ts` files under `dirs` (relative to `root`), skipping declaration files. Paths are root-relative, with `/`. */
export function sourceFiles(root: string, dirs: readonly string[]): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      if (name === 'node_modules' || name.startsWith('.')) continue;
      const p = join(dir, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(relative(root, p).split('\\').join('/'));
    }
  };
  for (const d of dirs) if (existsSync(join(root, d))) walk(join(root, d));
  return out.sort();
}

const SPECIFIER = /(?:\bimport\s*\(\s*|\b(?:import|export)\b[^'";]*?\bfrom\s*|\bimport\s+)(['"])(\.{1,2}\/[^'"]*)\1/g;

/** Relative specifiers a source text imports or re-exports (comments stripped first). */
export function relativeSpecifiers(text: string): string[] {
  const code = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"\\])\/\/.*$/gm, '$1');
  return [...code.matchAll(SPECIFIER)].map((m) => m[2]);
}

/** The file a specifier names, as TypeScript's bundler resolution finds it, or null. */
function resolveSpecifier(root: string, from: string, spec: string): string | null {
  const base = resolve(root, dirname(from), spec);
  const stem = base.replace(/\.(js|mjs|ts)$/, '');
  for (const candidate of [`${stem}.ts`, join(base, 'index.ts')]) {
    if (existsSync(candidate) && statSync(candidate).isFile()) return relative(root, candidate).split('\\').join('/');
  }
  return null;
}

/** The import graph of `files`: each file → the files of the tree it imports. Unresolvable specifiers are returned too. */
export function importGraph(root: string, files: readonly string[]): { graph: Graph; unresolved: string[] } {
  const graph: Graph = new Map();
  const unresolved: string[] = [];
  for (const f of files) {
    const deps = new Set<string>();
    for (const spec of relativeSpecifiers(readFileSync(join(root, f), 'utf8'))) {
      const to = resolveSpecifier(root, f, spec);
      if (to) deps.add(to);
      else if (!/\.(css|html|json|wasm)$/.test(spec)) unresolved.push(`${f} → ${spec}`);
    }
    graph.set(f, [...deps].sort());
  }
  return { graph, unresolved };
}

/**
 * Every import cycle, one per strongly connected component (Tarjan), each written as the path
 * `a → b → … → a` starting at its alphabetically first file. Empty when the graph is acyclic.
 */
export function findCycles(graph: Graph): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const components: string[][] = [];
  let next = 0;
  const connect = (v: string) => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        connect(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) === index.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1 || (graph.get(v) ?? []).includes(v)) components.push(scc);
    }
  };
  for (const v of [...graph.keys()].sort()) if (!index.has(v)) connect(v);
  return components.map((scc) => cycleThrough(graph, new Set(scc))).sort((a, b) => a[0].localeCompare(b[0]));
}

/** A shortest cycle inside one strongly connected component, from its first file back to it. */
function cycleThrough(graph: Graph, scc: Set<string>): string[] {
  const start = [...scc].sort()[0];
  const parent = new Map<string, string>();
  const queue = [start];
  while (queue.length) {
    const v = queue.shift()!;
    for (const w of graph.get(v) ?? []) {
      if (!scc.has(w)) continue;
      if (w === start) {
        const path = [v];
        while (path[0] !== start) path.unshift(parent.get(path[0])!);
        return [...path, start];
      }
      if (!parent.has(w)) {
        parent.set(w, v);
        queue.push(w);
      }
    }
  }
  throw new Error(`no cycle through ${start}`);
}
