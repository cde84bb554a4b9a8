export type CheckName =
  'conformance' | 'residual-phi' | 'correspondence' | 'marking' | 'study' | 'pixel-policy' | 'clean-pixels';

/** One failed check. Names the check and the tag (and where it sits), never a value. */
export interface CheckFailure {
  readonly check: CheckName;
  /** "(GGGG,EEEE)" */
  readonly tag: string;
  /** Sequence path to the element, e.g. "(0040,0275)[0]"; empty at the top level. */
  readonly path: string;
  readonly detail: string;
}

export function formatTag(tag: string): string {
  return `(${tag.slice(0, 4)},${tag.slice(4)})`;
}

export function describeFailure(f: CheckFailure): string {
  const where = f.path ? `${f.path}.${f.tag}` : f.tag;
  return `${f.check}: ${where} ${f.detail}`;
}
