/**
 * An engine test double: the real engine with `decide` flipped for the attributes in `flipped`
 * (and nothing else changed), so a test shows the gate stops an engine that reads one row wrong.
 * A test file mocks the profile module with it:
 *
 *   jest.mock('../../src/deid/profile', () => jest.requireActual('../helpers/flippedEngine').flippedProfile());
 */
import type { Decision } from '../../src/deid/profile';

/** Tag -> the action the flipped engine takes for it, whatever the table says. */
export const flipped = new Map<string, Decision['action']>();

export function flippedProfile(): Record<string, unknown> {
  const actual = jest.requireActual('../../src/deid/profile');
  return {
    ...actual,
    decide: (tag: string, ...rest: unknown[]): Decision => {
      const action = flipped.get(tag);
      return action ? { action } : actual.decide(tag, ...rest);
    },
  };
}
