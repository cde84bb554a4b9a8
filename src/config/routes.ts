/** Profiles (inline or files) and routing rules, checked against each other and the destinations. */
import path from 'node:path';
import { ConfigError } from '../errors';
import { formatIssue, readJson } from './layers';
import { buildProfile, findProfileFile, ProfileError, type ProfileConfig } from './profiles';
import { inlineProfile, profileBody, profileName, type FileConfig } from './schema';
import type { OrthancServerConfig, RouteConfig } from './types';

export function resolveProfilesAndRoutes(
  cfg: FileConfig,
  cwd: string,
  defaultsDir: string,
  origin: Map<string, string>,
  destinations: Readonly<Record<string, OrthancServerConfig>>,
): { profiles: Record<string, ProfileConfig>; mainProfile: string; routes: RouteConfig[] } {
  const profileDirs = [
    ...(cfg.profilesDir ? [path.resolve(cwd, cfg.profilesDir)] : []),
    path.join(defaultsDir, 'profiles'),
  ];
  const profiles: Record<string, ProfileConfig> = {};
  const guard = <T>(fn: () => T): T => {
    try {
      return fn();
    } catch (err) {
      if (err instanceof ProfileError) throw new ConfigError(err.message);
      throw err;
    }
  };
  /** A named profile: inline in `profiles`, else a file in the profile folders; undefined if none. */
  const profileByName = (name: string): ProfileConfig | undefined => {
    if (profiles[name]) return profiles[name];
    const inline = cfg.profiles[name];
    if (inline) return (profiles[name] = guard(() => buildProfile(name, inline, 'inline')));
    const file = findProfileFile(name, profileDirs);
    if (!file) return undefined;
    const parsed = profileBody.safeParse(readJson(file, `profile "${name}"`));
    if (!parsed.success)
      throw new ConfigError(
        `profile "${name}" (${file}) is invalid:\n  ` +
          parsed.error.issues.map((i) => formatIssue(i, new Map())).join('\n  '),
      );
    return (profiles[name] = guard(() => buildProfile(name, parsed.data, file)));
  };
  let mainProfile: string;
  const parsedMain = (typeof cfg.profile === 'string' ? profileName : inlineProfile).safeParse(cfg.profile);
  if (!parsedMain.success)
    throw new ConfigError(
      'invalid configuration:\n  ' +
        parsedMain.error.issues
          .map((i) => formatIssue({ ...i, path: ['profile', ...i.path] }, origin))
          .join('\n  '),
    );
  if (typeof parsedMain.data === 'string') {
    mainProfile = parsedMain.data;
    if (!profileByName(mainProfile))
      throw new ConfigError(
        `profile: no profile named "${mainProfile}" in ${profileDirs.join(' or ')} (nor under profiles)`,
      );
  } else {
    const { name, ...body } = parsedMain.data;
    mainProfile = name;
    if (cfg.profiles[name]) throw new ConfigError(`profiles.${name}: the main profile already has this name`);
    profiles[name] = guard(() => buildProfile(name, body, 'inline'));
  }
  for (const name of Object.keys(cfg.profiles)) profileByName(name);
  const routes: RouteConfig[] = (
    cfg.routes.length > 0 ? cfg.routes : [{ name: 'default', match: {}, destinations: ['research'] }]
  ).map((r, i) => {
    const profile = r.profile ?? mainProfile;
    if (!profileByName(profile))
      throw new ConfigError(`routes.${i}.profile: no profile named "${profile}" (inline or as a file)`);
    for (const d of r.destinations) {
      if (!destinations[d]) throw new ConfigError(`routes.${i}.destinations: no destination named "${d}"`);
    }
    const { minPatientAgeYears: lo, maxPatientAgeYears: hi } = r.match;
    if (lo !== undefined && hi !== undefined && lo > hi)
      throw new ConfigError(`routes.${i}.match: minPatientAgeYears is above maxPatientAgeYears`);
    return { name: r.name, match: r.match, profile, destinations: [...new Set(r.destinations)] };
  });
  const names = routes.map((r) => r.name);
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup) throw new ConfigError(`routes: two rules are named "${dup}"`);

  return { profiles, mainProfile, routes };
}
