// Minimal typings for the parts of dcmjs the bridge uses (dcmjs ships no types).
declare module 'dcmjs' {
  type Element = { vr: string; Value?: unknown[]; _rawValue?: unknown };
  type Dict = Record<string, Element>;
  class DicomDict {
    constructor(meta: Dict);
    meta: Dict;
    dict: Dict;
    write(options?: Record<string, unknown>): ArrayBuffer;
  }
  const data: {
    DicomDict: typeof DicomDict;
    DicomMessage: {
      readFile(
        buffer: ArrayBuffer,
        options?: {
          ignoreErrors?: boolean;
          untilTag?: string;
          includeUntilTagValue?: boolean;
          noCopy?: boolean;
          forceStoreRaw?: boolean;
        },
      ): DicomDict;
    };
    DicomMetaDictionary: {
      dictionary: Record<string, { tag: string; vr: string; vm: string; name: string }>;
      nameMap: Record<string, { tag: string; vr: string; vm: string; name: string } | undefined>;
      naturalizeDataset(dict: Dict): Record<string, unknown>;
      denaturalizeDataset(ds: Record<string, unknown>): Dict;
      uid(): string;
    };
  };
  const log: { setLevel(level: string): void; getLogger?(name: string): { setLevel(level: string): void } };
  const dcmjs: { data: typeof data; log: typeof log };
  export default dcmjs;
  export { data, log };
}
