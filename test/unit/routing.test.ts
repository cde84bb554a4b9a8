import type { RouteConfig } from '../../src/config';
import { ageFromDates, chooseRoute, parseAge, type StudyFacts } from '../../src/pipeline/routing';

const facts = (f: Partial<StudyFacts> = {}): StudyFacts => ({
  modalities: ['CT'],
  studyDescription: 'CT THORAX',
  sourceAets: ['CTROOM7'],
  patientAgeYears: 54,
  explorerRequested: false,
  ...f,
});
const route = (name: string, match: RouteConfig['match']): RouteConfig => ({
  name,
  match,
  profile: 'default',
  destinations: ['research'],
});

describe('routing rules', () => {
  const routes = [
    route('mammo-screening', { modalities: ['MG'], minPatientAgeYears: 40, maxPatientAgeYears: 75 }),
    route('thorax-from-ct7', { studyDescription: 'thorax', sourceAets: ['CTROOM7'] }),
    route('asked-for', { explorerRequested: true }),
  ];

  it('takes the first rule whose every criterion holds', () => {
    expect(chooseRoute(routes, facts())?.name).toBe('thorax-from-ct7');
    expect(chooseRoute(routes, facts({ modalities: ['MG', 'SR'] }))?.name).toBe('mammo-screening');
    expect(chooseRoute(routes, facts({ sourceAets: ['OTHER'], explorerRequested: true }))?.name).toBe(
      'asked-for',
    );
  });

  it('matches no rule when a criterion fails, an age is unknown or out of range', () => {
    expect(chooseRoute(routes, facts({ sourceAets: ['OTHER'] }))).toBeUndefined();
    expect(
      chooseRoute(routes, facts({ modalities: ['MG'], patientAgeYears: 30, studyDescription: 'x' })),
    ).toBeUndefined();
    expect(
      chooseRoute(routes, facts({ modalities: ['MG'], patientAgeYears: null, studyDescription: 'x' })),
    ).toBeUndefined();
  });

  it('reads DICOM ages and derives an age from dates', () => {
    expect(parseAge('054Y')).toBe(54);
    expect(parseAge('006M')).toBe(0.5);
    expect(parseAge('54')).toBeNull();
    expect(ageFromDates('19700615', '20240614')).toBe(53);
    expect(ageFromDates('19700615', '20240615')).toBe(54);
    expect(ageFromDates('', '20240615')).toBeNull();
  });
});
