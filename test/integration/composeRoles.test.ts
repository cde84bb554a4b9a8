/**
 * docker-compose's PostgreSQL (issue 22, row 9): the review found one superuser shared by the
 * clinical Orthanc's index, the research Orthanc's index and the bridge's state, so that whoever
 * took the research container could read the clinical index. Here the compose file is read for who
 * gets which credentials, and docker/postgres-init.sh is run, as the postgres image runs it, on a
 * real PostgreSQL 15 server: each party's role reaches its own database only, none is a superuser,
 * and the bridge's migrations run under its role.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { parse } from 'yaml';
import { openPostgres } from '../../src/store/postgres';
import { postgresAvailable, TestPostgres } from '../helpers/postgres';

const root = path.join(__dirname, '..', '..');

interface Service {
  environment?: Record<string, string>;
  secrets?: Array<string | { source: string; target?: string }>;
}
const compose = parse(readFileSync(path.join(root, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
  services: Record<string, Service>;
};
const secretsOf = (s: Service): string[] =>
  (s.secrets ?? []).map((x) => (typeof x === 'string' ? x : x.source));

describe('docker-compose: one PostgreSQL role per party', () => {
  it('gives the superuser password to the postgres container only, and each party a role of its own', () => {
    const { services } = compose;
    for (const [name, s] of Object.entries(services))
      if (name !== 'postgres')
        expect({ name, secrets: secretsOf(s) }).not.toMatchObject({
          secrets: expect.arrayContaining(['postgres_password']),
        });
    const users = ['clinical', 'research'].map(
      (n) => services[n]!.environment!.ORTHANC__POSTGRESQL__USERNAME,
    );
    expect(users).toEqual(['orthanc_clinical', 'orthanc_research']);
    // Each Orthanc's password is its own secret, at the name the orthancteam image reads.
    expect(services.clinical!.secrets).toContainEqual({
      source: 'pg_clinical_password',
      target: 'ORTHANC__POSTGRESQL__PASSWORD',
    });
    expect(services.research!.secrets).toContainEqual({
      source: 'pg_research_password',
      target: 'ORTHANC__POSTGRESQL__PASSWORD',
    });
    for (const n of ['clinical', 'research'])
      expect(Object.keys(services[n]!.environment!)).not.toContain('ORTHANC__POSTGRESQL__PASSWORD');
    for (const n of ['bridge-1', 'bridge-2']) {
      const env = services[n]!.environment!;
      expect(env.BRIDGE_STATE_URL).toBe('postgres://research_bridge@postgres:5432/bridge');
      expect(env.BRIDGE_STATE_PASSWORD_FILE).toBe('/run/secrets/pg_bridge_password');
      expect(secretsOf(services[n]!)).toContain('pg_bridge_password');
    }
  });

  const real = postgresAvailable() ? it : it.skip;
  real(
    'docker/postgres-init.sh makes roles that reach their own database only, none a superuser',
    async () => {
      const pg = await new TestPostgres().start();
      const secrets = mkdtempSync(path.join(os.tmpdir(), 'bridge-secrets-'));
      const pw = { clinical: 'clinical-pw-1', research: 'research-pw-2', bridge: 'bridge-pw-3' };
      try {
        for (const [k, v] of Object.entries(pw))
          writeFileSync(path.join(secrets, `pg_${k}_password`), `${v}\n`);
        // As the image does: POSTGRES_DB exists, then the script runs as the superuser.
        const admin = pg.client();
        await admin.connect();
        await admin.query('CREATE DATABASE bridge');
        await admin.end();
        const run = spawnSync('sh', [path.join(root, 'docker', 'postgres-init.sh')], {
          encoding: 'utf8',
          timeout: 60_000,
          env: {
            PATH: `/usr/lib/postgresql/15/bin:${process.env.PATH}`,
            PGHOST: '127.0.0.1',
            PGPORT: String(pg.port),
            PGPASSWORD: pg.password,
            POSTGRES_USER: 'bridge', // the test cluster's superuser
            POSTGRES_DB: 'bridge',
            SECRETS_DIR: secrets,
          },
        });
        expect(run.stderr).toBe('');
        expect(run.status).toBe(0);

        const as = (user: string, password: string, database: string) =>
          new Client({ host: '127.0.0.1', port: pg.port, user, password, database });
        const reaches = async (user: string, password: string, database: string): Promise<boolean> => {
          const c = as(user, password, database);
          try {
            await c.connect();
            await c.query('SELECT 1');
            return true;
          } catch (err) {
            expect((err as Error).message).toMatch(/permission denied for database/);
            return false;
          } finally {
            await c.end().catch(() => undefined);
          }
        };
        const parties = [
          ['orthanc_clinical', pw.clinical, 'orthanc_clinical'],
          ['orthanc_research', pw.research, 'orthanc_research'],
          ['research_bridge', pw.bridge, 'bridge'],
        ] as const;
        for (const [user, password, own] of parties)
          for (const db of ['orthanc_clinical', 'orthanc_research', 'bridge', 'postgres'])
            expect({ user, db, reaches: await reaches(user, password, db) }).toEqual({
              user,
              db,
              reaches: db === own,
            });

        const check = pg.client();
        await check.connect();
        const roles = await check.query(
          `SELECT rolname, rolsuper, rolcreatedb, rolcreaterole FROM pg_roles WHERE rolname = ANY($1) ORDER BY rolname`,
          [parties.map((p) => p[0])],
        );
        await check.end();
        expect(roles.rows).toEqual(
          ['orthanc_clinical', 'orthanc_research', 'research_bridge'].map((rolname) => ({
            rolname,
            rolsuper: false,
            rolcreatedb: false,
            rolcreaterole: false,
          })),
        );

        // The bridge's own migrations run under its role, in its database.
        const store = await openPostgres({
          url: `postgres://research_bridge@127.0.0.1:${pg.port}/bridge`,
          password: pw.bridge,
        });
        try {
          const tables = await store.all<{ n: number }>(
            `SELECT count(*)::int AS n FROM information_schema.tables WHERE table_schema = 'public'`,
          );
          expect(tables[0]!.n).toBeGreaterThan(5);
        } finally {
          await store.close();
        }
      } finally {
        rmSync(secrets, { recursive: true, force: true });
        pg.stop();
      }
    },
  );
});
