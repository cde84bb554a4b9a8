/**
 * The IOD check: the output is as valid an object of its IOD as the original was (issue 28). Read
 * from the generated PS3.3 tables (dicom/iods.ts), apart from the engine: for every module of the
 * IOD that the output holds (a mandatory one always), each attribute the module requires, at every
 * nesting level, that the original held at the same place:
 *
 * - Type 1 or 2, missing from the output: the instance fails;
 * - Type 1, present but empty in the output where the original had a value: the instance fails.
 *
 * An attribute the original lacked is not the bridge's to add, and a module the output does not
 * hold at all (an optional overlay removed whole) is not checked. Conditional types (1C, 2C) are
 * not checked: de-identification may remove what the condition depends on. The failure names the
 * attribute, its type and its module, never a value.
 */
import type { Dataset, DicomElement } from '../dicom/dataset';
import { entryOfTag } from '../dicom/dictionary';
import type { DicomFile } from '../dicom/file';
import { sopClassOf } from '../dicom/file';
import { iodOf, itemPath, tableTag, type Iod, type RequiredType } from '../dicom/iods';
import { formatTag } from '../dicom/tags';
import type { Fail } from './conformance';
import { textOf } from './values';

/** A module's required attributes grouped by the path of the dataset that holds them. */
interface ModuleTree {
  readonly name: string;
  readonly at: ReadonlyMap<string, ReadonlyArray<readonly [string, RequiredType]>>;
  /** Every path of a sequence with required attributes somewhere inside it. */
  readonly inside: ReadonlySet<string>;
}

const trees = new WeakMap<Iod, ModuleTree[]>();

function treesOf(iod: Iod): ModuleTree[] {
  let out = trees.get(iod);
  if (out) return out;
  out = iod.modules.map((m) => {
    const at = new Map<string, Array<readonly [string, RequiredType]>>();
    const inside = new Set<string>();
    for (const [p, type] of Object.entries(m.attributes)) {
      const cut = p.lastIndexOf('/');
      const parent = cut < 0 ? '' : p.slice(0, cut);
      const list = at.get(parent) ?? [];
      list.push([p.slice(cut + 1), type]);
      at.set(parent, list);
      const steps = p.split('/');
      for (let k = 1; k < steps.length; k++) inside.add(steps.slice(0, k).join('/'));
    }
    return { name: m.name, at, inside };
  });
  trees.set(iod, out);
  return out;
}

function empty(el: DicomElement): boolean {
  if (el.vr === 'SQ') return (el.Value ?? []).length === 0;
  const bytes = (el.Value ?? []).some((v) => v instanceof ArrayBuffer && v.byteLength > 0);
  return !bytes && textOf(el).every((v) => v.trim() === '');
}

/** Which tags of `ds` a table tag names: itself, or each overlay/curve group of a repeating one. */
function present(ds: Dataset, tag: string): string[] {
  if (!tag.includes('XX')) return ds[tag] ? [tag] : [];
  return Object.keys(ds).filter((t) => tableTag(t) === tag);
}

/**
 * Checks `output` against `original`. `replaced(tag)`: whether the profile replaces a sequence whole
 * with dummy items; their items are new and are not compared with the original's (dciodvfy, in the
 * suite, judges the dummies).
 */
export function checkIod(
  original: DicomFile,
  output: DicomFile,
  replaced: (tag: string) => boolean,
  fail: Fail,
): void {
  const iod = iodOf(sopClassOf(original));
  if (!iod) return;
  treesOf(iod).forEach((tree, i) => {
    const use = iod.modules[i]!;
    const held = use.usage === 'M' || use.topLevel.some((t) => present(output.dict, t).length > 0);
    if (held) walk({ tree, replaced, fail }, original.dict, output.dict, [], '');
  });
}

interface Walk {
  readonly tree: ModuleTree;
  readonly replaced: (tag: string) => boolean;
  readonly fail: Fail;
}

function walk(w: Walk, orig: Dataset, out: Dataset, parents: readonly string[], path: string): void {
  const { tree, fail } = w;
  for (const [tableTagOf, type] of tree.at.get(parents.join('/')) ?? []) {
    for (const tag of present(orig, tableTagOf)) {
      const o = orig[tag]!;
      const el = out[tag];
      const name = entryOfTag(tag)?.keyword ?? formatTag(tag);
      if (type === '1' || type === '2') {
        if (!el) {
          fail(tag, path, `${name} is Type ${type} in the ${tree.name} module and missing from the output`);
          continue;
        }
        if (type === '1' && empty(el) && !empty(o))
          fail(tag, path, `${name} is Type 1 in the ${tree.name} module and empty in the output`);
      }
    }
  }
  // Into every sequence both hold that has required attributes inside, item by item.
  for (const [tag, el] of Object.entries(out)) {
    const o = orig[tag];
    if (el.vr !== 'SQ' || o?.vr !== 'SQ' || w.replaced(tag)) continue;
    if (!tree.inside.has([...parents, tag].join('/'))) continue;
    const before = o.Value ?? [];
    (el.Value ?? []).forEach((item, k) => {
      if (k >= before.length) return;
      walk(
        w,
        before[k] as Dataset,
        item as Dataset,
        itemPath(parents, tag, item as Dataset),
        `${path ? path + '.' : ''}${formatTag(tag)}[${k}]`,
      );
    });
  }
}
