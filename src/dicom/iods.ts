/**
 * What the IOD of a storage SOP class requires, read from the tables generated from PS3.3
 * (iods.generated.ts, scripts/gen-iod-types.mjs): its modules with their usage (M, C, U) and, per
 * module, the attributes of Type 1, 1C, 2 and 2C at every nesting level. A data lookup, no
 * decision: the engine resolves the profile's actions with it, and the gate reads it again apart
 * from the engine to check that the output is still a valid object of its IOD.
 */
import { IODS, MODULES, SOP_CLASS_IODS, type ModuleUsage, type RequiredType } from './iods.generated';
import type { Dataset } from './dataset';
import { TAG } from './tags';
import { str } from './values';

export type { ModuleUsage, RequiredType };
/** 1: a value is required; 2: the attribute is required, possibly empty; 3: optional, or not in the IOD. */
export type AttributeType = 1 | 2 | 3;

export interface IodModuleUse {
  readonly name: string;
  readonly usage: ModuleUsage;
  /** Required attributes by path: tags of the enclosing sequences and the attribute's, joined by "/". */
  readonly attributes: Readonly<Record<string, RequiredType>>;
  /** The module's top-level attributes, required or not known: whether the module is in a dataset. */
  readonly topLevel: readonly string[];
}

export interface Iod {
  readonly name: string;
  readonly modules: readonly IodModuleUse[];
  /** The strictest type any module of the IOD gives each path. */
  readonly types: ReadonlyMap<string, AttributeType>;
}

/** Repeating groups as the tables write them: overlays (60xx) and curves (50xx) under "XX". */
export function tableTag(tag: string): string {
  const group = parseInt(tag.slice(0, 4), 16);
  if ((group & 1) === 0 && group >= 0x6000 && group <= 0x601e) return `60XX${tag.slice(4)}`;
  if ((group & 1) === 0 && group >= 0x5000 && group <= 0x501e) return `50XX${tag.slice(4)}`;
  return tag;
}

const typeOf = (t: RequiredType): AttributeType => (t.startsWith('1') ? 1 : 2);

const cache = new Map<number, Iod>();

function build(index: number): Iod {
  const iod = IODS[index]!;
  const types = new Map<string, AttributeType>();
  const modules = iod.modules.map(([m, usage]) => {
    const mod = MODULES[m]!;
    for (const [p, t] of Object.entries(mod.attributes)) {
      const type = typeOf(t);
      if (type < (types.get(p) ?? 3)) types.set(p, type);
    }
    const topLevel = Object.keys(mod.attributes).filter((p) => !p.includes('/'));
    return { name: mod.name, usage, attributes: mod.attributes, topLevel };
  });
  return { name: iod.name, modules, types };
}

/** The IOD of a storage SOP class, when the generated tables know it. */
export function iodOf(sopClass: string): Iod | undefined {
  const index = SOP_CLASS_IODS[sopClass];
  if (index === undefined) return undefined;
  let iod = cache.get(index);
  if (!iod) cache.set(index, (iod = build(index)));
  return iod;
}

/**
 * The type the IOD of `sopClass` gives an attribute at `parents` (the tags of its enclosing
 * sequences, outermost first) and `tag`: the strictest of its modules (a 1C or 2C counts as 1 or 2:
 * an attribute the original holds met its condition); 3 where no module requires it; undefined when
 * the IOD is not known.
 */
export function attributeType(
  sopClass: string,
  parents: readonly string[],
  tag: string,
): AttributeType | undefined {
  const iod = iodOf(sopClass);
  if (!iod) return undefined;
  return iod.types.get([...parents, tag].map(tableTag).join('/')) ?? 3;
}

/**
 * The path of the attributes inside an item of the sequence `tag`: the sequence's own path, and
 * for a DICOMDIR record its Directory Record Type, since each kind of record requires other keys
 * (PS3.3 F.5): "00041220/STUDY/00200010" is a study record's Study ID.
 */
export function itemPath(parents: readonly string[], tag: string, item: Dataset): readonly string[] {
  if (tag !== TAG.DirectoryRecordSequence) return [...parents, tag];
  return [...parents, tag, str(item[TAG.DirectoryRecordType]).trim().toUpperCase()];
}
