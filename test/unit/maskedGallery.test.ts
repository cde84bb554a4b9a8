/** The masked-images gallery pages in the store: 500 entries, 24 a page, newest first, never all loaded. */
import { openDatabase } from '../../src/store/db';
import { maskedInstances, recordPushed } from '../../src/store/instances';

describe('the masked-images gallery in the store', () => {
  it('pages 500 masked instances newest first, keeping where the masks are, and counts them all', async () => {
    const db = openDatabase(':memory:');
    try {
      for (let i = 0; i < 520; i++)
        await recordPushed(db, {
          sourceId: `src-${String(i).padStart(3, '0')}`,
          destination: 'research',
          studyId: 'study',
          jobId: 1,
          researchId: `res-${i}`,
          researchStudyId: 'rs',
          md5: 'x',
          fingerprint: 'f',
          pseudonym: 'RB1',
          metadata: {},
          // Every 26th instance went unchanged: not in the gallery.
          masked:
            i % 26 === 0 ? undefined : { regions: 1, area: 40, share: 0.01, boxes: [[0, i, 2, 30, 10]] },
        });
      const all = await db.all<{ source_id: string }>('SELECT source_id FROM instances');
      expect(all).toHaveLength(520);
      const first = await maskedInstances(db, { since: '2000-01-01', limit: 24, offset: 0 });
      expect(first.total).toBe(500);
      expect(first.rows).toHaveLength(24);
      expect(first.rows[0]!.boxes).toEqual([[0, Number(first.rows[0]!.sourceId.slice(4)), 2, 30, 10]]);
      const last = await maskedInstances(db, { since: '2000-01-01', limit: 24, offset: 24 * 20 });
      expect(last.rows).toHaveLength(20);
      const times = first.rows.map((r) => r.updatedAt);
      expect([...times].sort().reverse()).toEqual(times);
    } finally {
      await db.close();
    }
  });
});
