/** Runs the same tests on both state stores: the embedded SQLite and a real PostgreSQL 15. */
import { openDatabase, type Db } from '../../src/store/db';
import { openPostgres } from '../../src/store/postgres';
import { TestPostgres } from './postgres';

export type StoreKind = 'sqlite' | 'postgres';

/**
 * Declares `body` once per store. `open()` gives an empty, migrated store of that kind (a fresh
 * database each time on PostgreSQL); everything opened is closed after each test.
 */
export function eachStore(body: (open: () => Promise<Db>, kind: StoreKind) => void): void {
  describe.each<StoreKind>(['sqlite', 'postgres'])('on %s', (kind) => {
    let pg: TestPostgres | undefined;
    const opened: Db[] = [];
    beforeAll(async () => {
      if (kind === 'postgres') pg = await new TestPostgres().start();
    });
    afterEach(async () => {
      for (const db of opened.splice(0)) await db.close();
    });
    afterAll(() => pg?.stop());
    body(async () => {
      const db =
        kind === 'sqlite'
          ? openDatabase(':memory:')
          : await openPostgres({ url: await pg!.freshDatabase(), password: pg!.password });
      opened.push(db);
      return db;
    }, kind);
  });
}
