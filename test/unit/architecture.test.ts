/**
 * The rules of docs/ARCHITECTURE.md, enforced: the module map's "may use" column is read as data,
 * and every import of src/ (type imports, re-exports and dynamic imports included) must be one it
 * allows; every module must be in the table; and no import cycle may exist between files.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { entryOfTag } from '../../src/dicom/dictionary';

const root = path.join(__dirname, '..', '..');
const src = path.join(root, 'src');

/** Every .ts file under src/. */
function sourceFiles(dir = src): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) return sourceFiles(p);
    return p.endsWith('.ts') ? [p] : [];
  });
}

/** The module a file belongs to: its folder under src/, or its own name for a file at the top. */
function moduleOf(file: string): string {
  const parts = path.relative(src, file).split(path.sep);
  return parts.length > 1 ? parts[0]! : parts[0]!.replace(/(\.d)?\.ts$/, '');
}

interface Import {
  readonly from: string;
  readonly to: string;
  readonly typeOnly: boolean;
}

/** The relative imports of a file, resolved to files (`./x` -> x.ts or x/index.ts). */
function importsOf(file: string): Import[] {
  const text = readFileSync(file, 'utf8');
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const out: Import[] = [];
  const add = (spec: string, typeOnly: boolean): void => {
    if (!spec.startsWith('.')) return;
    const base = path.resolve(path.dirname(file), spec);
    const to = [`${base}.ts`, path.join(base, 'index.ts'), base].find((p) => {
      try {
        return statSync(p).isFile();
      } catch {
        return false;
      }
    });
    if (!to) throw new Error(`${path.relative(root, file)} imports ${spec}, which is no file`);
    out.push({ from: file, to, typeOnly });
  };
  const visit = (n: ts.Node): void => {
    if (ts.isImportDeclaration(n) && ts.isStringLiteral(n.moduleSpecifier))
      add(n.moduleSpecifier.text, !!n.importClause?.isTypeOnly);
    else if (ts.isExportDeclaration(n) && n.moduleSpecifier && ts.isStringLiteral(n.moduleSpecifier))
      add(n.moduleSpecifier.text, n.isTypeOnly);
    else if (
      ts.isCallExpression(n) &&
      n.expression.kind === ts.SyntaxKind.ImportKeyword &&
      n.arguments[0] &&
      ts.isStringLiteral(n.arguments[0])
    )
      add(n.arguments[0].text, false);
    ts.forEachChild(n, visit);
  };
  visit(sf);
  return out;
}

interface Use {
  /** Only type imports ("types only")... */
  readonly typesOnly: boolean;
  /** ...but for value imports of these files of the module ("values from `a.ts`, `b.ts`"). */
  readonly valuesFrom: ReadonlySet<string>;
}

interface Rule {
  /** Everything allowed ("everything"). */
  readonly any: boolean;
  /** Module -> how it may be used. */
  readonly uses: ReadonlyMap<string, Use>;
}

/** The module map of docs/ARCHITECTURE.md: module -> what it may use. */
function moduleTable(): Map<string, Rule> {
  const md = readFileSync(path.join(root, 'docs', 'ARCHITECTURE.md'), 'utf8');
  const section = md.slice(md.indexOf('## Module map'), md.indexOf('## Rules'));
  const table = new Map<string, Rule>();
  for (const line of section.split('\n')) {
    const cells = line.split('|').map((c) => c.trim());
    if (cells.length < 5 || !cells[1]!.startsWith('`')) continue;
    const names = [...cells[1]!.matchAll(/`([^`]+)`/g)].map((m) =>
      m[1]!.replace(/\/$/, '').replace(/\.ts$/, ''),
    );
    const mayUse = cells[3]!;
    const uses = new Map<string, Use>();
    if (mayUse !== 'everything' && !mayUse.startsWith('nothing'))
      // Commas inside parentheses explain; they do not separate.
      for (const token of mayUse.split(/,(?![^(]*\))/)) {
        const name = token.trim().split(/\s/)[0]!;
        const valuesFrom = /values from ([^)]*)\)/.exec(token)?.[1] ?? '';
        uses.set(name, {
          typesOnly: /\(types only\b/.test(token),
          valuesFrom: new Set([...valuesFrom.matchAll(/`([^`]+)`/g)].map((m) => m[1]!)),
        });
      }
    for (const n of names) table.set(n, { any: mayUse === 'everything', uses });
  }
  return table;
}

/** Imports of `imports` that the table does not allow, as "from -> to" paths under src/. */
function forbiddenImports(imports: readonly Import[], table: ReadonlyMap<string, Rule>): string[] {
  const forbidden = new Set<string>();
  for (const i of imports) {
    const from = moduleOf(i.from);
    const to = moduleOf(i.to);
    if (from === to) continue;
    const rule = table.get(from);
    if (!rule || rule.any) continue;
    const use = rule.uses.get(to);
    const target = path.relative(src, i.to);
    const valueAllowed = !use?.typesOnly || use.valuesFrom.has(path.relative(path.join(src, to), i.to));
    if (use === undefined || (!valueAllowed && !i.typeOnly))
      forbidden.add(
        `${path.relative(src, i.from)} -> ${target}${use?.typesOnly ? ' (types only allowed)' : ''}`,
      );
  }
  return [...forbidden];
}

/** The import cycles among `files` (Tarjan's strongly connected components of two or more files). */
function cyclesOf(files: readonly string[], imports: readonly Import[]): string[][] {
  const graph = new Map<string, string[]>(files.map((f) => [f, []]));
  for (const i of imports) graph.get(i.from)?.push(i.to);
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  const connect = (v: string): void => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        connect(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(path.relative(src, w));
      } while (w !== v);
      if (component.length > 1) cycles.push(component.sort());
    }
  };
  for (const f of files) if (!index.has(f)) connect(f);
  return cycles;
}

/**
 * Raw DICOM vocabulary in a file's string and template literals (comments are free): a tag written
 * as eight hex digits (one the dictionary names, or a private one), a "(GGGG,EEEE)" or a standard
 * UID. Each must be named through src/dicom (TAG, tagOf, formatTag, SOP_CLASS, TRANSFER_SYNTAX).
 */
function rawVocabulary(file: string, text = readFileSync(file, 'utf8')): string[] {
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const found: string[] = [];
  const where = (n: ts.Node) =>
    `${path.relative(root, file)}:${sf.getLineAndCharacterOfPosition(n.getStart()).line + 1}`;
  const check = (n: ts.Node, value: string): void => {
    const hex = /^[0-9A-Fa-f]{8}$/.test(value) ? value.toUpperCase() : undefined;
    const group = hex ? parseInt(hex.slice(0, 4), 16) : 0;
    if (hex && (entryOfTag(hex) || ((group & 1) === 1 && group < 0x1000)))
      found.push(`${where(n)} tag ${value}`);
    else if (/\([0-9A-Fa-f]{4},[0-9A-Fa-f]{4}\)/.test(value)) found.push(`${where(n)} "(GGGG,EEEE)"`);
    else if (value.includes('1.2.840.10008.')) found.push(`${where(n)} standard UID`);
  };
  const visit = (n: ts.Node): void => {
    if (ts.isStringLiteral(n) || ts.isNoSubstitutionTemplateLiteral(n)) check(n, n.text);
    else if (ts.isTemplateExpression(n))
      for (const part of [n.head, ...n.templateSpans.map((span) => span.literal)]) check(part, part.text);
    ts.forEachChild(n, visit);
  };
  visit(sf);
  return found;
}

const files = sourceFiles();
const imports = files.flatMap(importsOf);

describe('the architecture (docs/ARCHITECTURE.md) as the code keeps it', () => {
  it('has every module of src/ in the module table', () => {
    const table = moduleTable();
    expect(table.size).toBeGreaterThan(10);
    const missing = [...new Set(files.map(moduleOf))].filter((m) => !table.has(m));
    expect(missing).toEqual([]);
  });

  it('has no import the module table forbids (type imports included)', () => {
    expect(forbiddenImports(imports, moduleTable())).toEqual([]);
  });

  it('has no import cycle between files, type imports included', () => {
    expect(cyclesOf(files, imports)).toEqual([]);
  });

  it('names every tag, "(GGGG,EEEE)" and standard UID through src/dicom, in src/ and in the tests', () => {
    const vocabulary = path.join(src, 'dicom');
    const checked = [...files, ...sourceFiles(path.join(root, 'test'))].filter(
      (f) =>
        !f.startsWith(vocabulary + path.sep) &&
        !f.endsWith(path.join('deid', 'table.generated.ts')) &&
        f !== __filename,
    );
    expect(checked.length).toBeGreaterThan(100);
    expect(checked.flatMap((f) => rawVocabulary(f))).toEqual([]);
    // And it finds them: a made-up file with each kind (built here so that this file holds none).
    const made = [
      '"0010' + '0010"',
      '"(0010' + ',0010)"',
      '`1.2.840' + '.10008.1.2`',
      '"0009' + '1010"',
      '"2024' + '0115"',
    ];
    expect(rawVocabulary(path.join(src, 'made-up.ts'), made.map((m) => `f(${m});`).join('\n'))).toEqual([
      'src/made-up.ts:1 tag 00100010',
      'src/made-up.ts:2 "(GGGG,EEEE)"',
      'src/made-up.ts:3 standard UID',
      'src/made-up.ts:4 tag 00091010',
    ]);
  });

  it('reads and writes element headers in one place (src/dicom/elements.ts): no walker of its own elsewhere in src/', () => {
    // A header reader needs the long VRs (their 32-bit length) or the item group FFFE: outside
    // src/dicom, neither may appear.
    const own = files
      .filter((f) => !f.startsWith(path.join(src, 'dicom') + path.sep))
      .flatMap((f) => {
        const sf = ts.createSourceFile(f, readFileSync(f, 'utf8'), ts.ScriptTarget.Latest, true);
        const hits: string[] = [];
        const visit = (n: ts.Node): void => {
          if (ts.isIdentifier(n) && n.text === 'LONG_VRS') hits.push(`${path.relative(src, f)} LONG_VRS`);
          if (ts.isNumericLiteral(n) && /^0x(fffe|fffee000|fffee00d|fffee0dd)$/i.test(n.getText()))
            hits.push(`${path.relative(src, f)} ${n.getText()}`);
          ts.forEachChild(n, visit);
        };
        visit(sf);
        return hits;
      });
    expect(own).toEqual([]);
  });

  it('catches what it is for: a forbidden import, a value import where types only are allowed, and a cycle', () => {
    const table = moduleTable();
    const at = (p: string) => path.join(src, p);
    const made: Import[] = [
      { from: at('pixels/clean.ts'), to: at('store/db.ts'), typeOnly: true },
      { from: at('pixels/clean.ts'), to: at('deid/engine.ts'), typeOnly: false },
      { from: at('pixels/clean.ts'), to: at('deid/types.ts'), typeOnly: true },
      { from: at('app.ts'), to: at('store/db.ts'), typeOnly: false },
      // The gate may read the table's data, never the engine's decisions.
      { from: at('verify/table.ts'), to: at('deid/table.generated.ts'), typeOnly: false },
      { from: at('verify/conformance.ts'), to: at('deid/profile.ts'), typeOnly: false },
    ];
    expect(forbiddenImports(made, table)).toEqual([
      'pixels/clean.ts -> store/db.ts',
      'pixels/clean.ts -> deid/engine.ts (types only allowed)',
      'verify/conformance.ts -> deid/profile.ts (types only allowed)',
    ]);
    const a = at('deid/a.ts');
    const b = at('deid/b.ts');
    expect(
      cyclesOf(
        [a, b],
        [
          { from: a, to: b, typeOnly: true },
          { from: b, to: a, typeOnly: false },
        ],
      ),
    ).toEqual([['deid/a.ts', 'deid/b.ts']]);
  });
});
