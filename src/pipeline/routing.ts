import type { RouteConfig } from '../config';
import type { OrthancClient } from '../orthanc/client';

/** What routing rules look at. Held in memory only: never logged (descriptions and ages are PHI). */
export interface StudyFacts {
  readonly modalities: readonly string[];
  readonly studyDescription: string;
  readonly sourceAets: readonly string[];
  readonly patientAgeYears: number | null;
  readonly explorerRequested: boolean;
}

/** "054Y" -> 54, "006M" -> 0.5, "010W", "003D"; null when not an Age String. */
export function parseAge(value: string): number | null {
  const m = /^(\d{3})([DWMY])$/.exec(value.trim());
  if (!m) return null;
  const n = Number(m[1]);
  return m[2] === 'Y' ? n : m[2] === 'M' ? n / 12 : m[2] === 'W' ? (n * 7) / 365.25 : n / 365.25;
}

/** Whole years between a birth date and a study date (YYYYMMDD), or null. */
export function ageFromDates(birth: string, study: string): number | null {
  const b = /^(\d{4})(\d{2})(\d{2})$/.exec(birth.trim());
  const s = /^(\d{4})(\d{2})(\d{2})$/.exec(study.trim());
  if (!b || !s) return null;
  let years = Number(s[1]) - Number(b[1]);
  if (Number(s[2]) * 100 + Number(s[3]) < Number(b[2]) * 100 + Number(b[3])) years--;
  return years >= 0 ? years : null;
}

function matches(route: RouteConfig, f: StudyFacts): boolean {
  const m = route.match;
  if (m.modalities && !m.modalities.some((x) => f.modalities.includes(x))) return false;
  if (m.studyDescription !== undefined && !new RegExp(m.studyDescription, 'i').test(f.studyDescription))
    return false;
  if (m.sourceAets && !m.sourceAets.some((a) => f.sourceAets.includes(a))) return false;
  if (
    m.minPatientAgeYears !== undefined &&
    (f.patientAgeYears === null || f.patientAgeYears < m.minPatientAgeYears)
  )
    return false;
  if (
    m.maxPatientAgeYears !== undefined &&
    (f.patientAgeYears === null || f.patientAgeYears > m.maxPatientAgeYears)
  )
    return false;
  if (m.explorerRequested !== undefined && m.explorerRequested !== f.explorerRequested) return false;
  return true;
}

/** The first rule whose every criterion holds, or undefined: such a study is skipped. */
export function chooseRoute(routes: readonly RouteConfig[], facts: StudyFacts): RouteConfig | undefined {
  return routes.find((r) => matches(r, facts));
}

/** Whether any rule looks at more than nothing (the implicit default rule needs no facts). */
function needsFacts(routes: readonly RouteConfig[]): boolean {
  return routes.some((r) => Object.keys(r.match).length > 0);
}

interface SeriesInfo {
  MainDicomTags?: { Modality?: string };
  Instances?: string[];
}

/** Reads what the rules need from the clinical Orthanc: study tags, series modalities, sender AET, age, Explorer flag. */
export async function studyFacts(
  source: OrthancClient,
  studyId: string,
  routes: readonly RouteConfig[],
  explorerKey: number,
): Promise<StudyFacts> {
  const empty: StudyFacts = {
    modalities: [],
    studyDescription: '',
    sourceAets: [],
    patientAgeYears: null,
    explorerRequested: false,
  };
  if (!needsFacts(routes)) return empty;
  const study = await source.getJson<{
    MainDicomTags?: Record<string, string>;
    PatientMainDicomTags?: Record<string, string>;
  }>(`/studies/${encodeURIComponent(studyId)}`);
  const series = await source.getJson<SeriesInfo[]>(`/studies/${encodeURIComponent(studyId)}/series`);
  const modalities = [...new Set(series.map((s) => s.MainDicomTags?.Modality ?? '').filter(Boolean))];
  const firstInstance = series.find((s) => s.Instances && s.Instances.length > 0)?.Instances?.[0];
  let sourceAets: string[] = [];
  let age: number | null = null;
  if (firstInstance) {
    const aet = await source.metadata('instances', firstInstance, 'RemoteAET');
    if (aet) sourceAets = [aet.trim()];
    const rawAge = await source.instanceTag(firstInstance, '0010-1010');
    if (rawAge) age = parseAge(rawAge);
  }
  age ??= ageFromDates(
    study.PatientMainDicomTags?.PatientBirthDate ?? '',
    study.MainDicomTags?.StudyDate ?? '',
  );
  const flag = await source.metadata('studies', studyId, explorerKey);
  return {
    modalities,
    studyDescription: study.MainDicomTags?.StudyDescription ?? '',
    sourceAets,
    patientAgeYears: age,
    explorerRequested: flag !== undefined && flag.trim() !== '' && flag.trim() !== '0',
  };
}
