/**
 * Writes synthetic studies (CT series and four-view mammography) with identifying values planted
 * in names, IDs, dates, addresses, free text, sequences and a private group.
 *
 *   ts-node scripts/make-sample-study.ts --out DIR [--patients 3] [--ct-slices 8] [--size 64]
 *                                        [--mammo-rows 96 --mammo-columns 80] [--upload http://127.0.0.1:8042]
 *
 * With ORTHANC_USER and ORTHANC_PASSWORD_FILE set, the upload authenticates (scripts/orthanc.sh).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { makeCtStudy, makeMammoStudy, samplePatients, type SampleInstance } from '../test/fixtures/studies';

function upload(url: string, bytes: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      `${url}/instances`,
      {
        method: 'POST',
        headers: { 'Content-Type': 'application/dicom', 'Content-Length': bytes.length },
        auth: process.env.ORTHANC_PASSWORD_FILE
          ? `${process.env.ORTHANC_USER ?? 'bridge'}:${readFileSync(process.env.ORTHANC_PASSWORD_FILE, 'utf8').trim()}`
          : undefined,
      },
      (res) => {
        res.resume();
        res.on('end', () =>
          res.statusCode === 200 ? resolve() : reject(new Error(`upload answered ${res.statusCode}`)),
        );
      },
    );
    req.on('error', reject);
    req.end(bytes);
  });
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      out: { type: 'string' },
      patients: { type: 'string', default: '3' },
      'ct-slices': { type: 'string', default: '8' },
      size: { type: 'string', default: '64' },
      'mammo-rows': { type: 'string', default: '96' },
      'mammo-columns': { type: 'string', default: '80' },
      upload: { type: 'string' },
    },
  });
  if (!values.out && !values.upload) throw new Error('give --out DIR and/or --upload URL');
  const patients = samplePatients(Number(values.patients));
  let files = 0;
  let bytes = 0;
  for (const [pi, p] of patients.entries()) {
    const studies: Array<[string, SampleInstance[]]> = [
      [
        'ct',
        makeCtStudy(p, {
          studyIndex: 1,
          studyDate: `2024011${pi % 10}`,
          slices: Number(values['ct-slices']),
          size: Number(values.size),
        }),
      ],
      [
        'mammo',
        makeMammoStudy(p, {
          studyIndex: 2,
          studyDate: `2024030${1 + (pi % 9)}`,
          mammoRows: Number(values['mammo-rows']),
          mammoColumns: Number(values['mammo-columns']),
        }),
      ],
    ];
    for (const [kind, instances] of studies) {
      for (const [i, inst] of instances.entries()) {
        if (values.out) {
          const dir = path.join(values.out, `patient${pi + 1}`, kind);
          mkdirSync(dir, { recursive: true });
          writeFileSync(path.join(dir, `${String(i + 1).padStart(4, '0')}.dcm`), inst.bytes);
        }
        if (values.upload) await upload(values.upload.replace(/\/+$/, ''), inst.bytes);
        files++;
        bytes += inst.bytes.length;
      }
    }
  }
  console.log(
    `make-sample-study: ${patients.length} patients, ${files} instances, ${(bytes / 1e6).toFixed(1)} MB${values.out ? ` in ${values.out}` : ''}${values.upload ? ` uploaded to ${values.upload}` : ''}`,
  );
}

main().catch((err: unknown) => {
  console.error(`make-sample-study: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
