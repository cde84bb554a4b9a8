import http from 'node:http';
import type { AddressInfo } from 'node:net';
import nock from 'nock';
import { OrthancClient } from '../../src/orthanc/client';

const URL = 'http://127.0.0.1:18998';
const client = (url = URL): OrthancClient => new OrthancClient({ url, timeoutMs: 500, label: 'source' });

beforeAll(() => nock.disableNetConnect());
// nock intercepts every request of the process while active: restored for the test files after this one.
afterAll(() => {
  nock.enableNetConnect();
  nock.restore();
});
afterEach(() => nock.cleanAll());

describe('Orthanc client faults', () => {
  it('treats 5xx, bad JSON and a missing ID as transient, and 4xx as permanent', async () => {
    nock(URL).post('/instances').reply(503, 'busy');
    await expect(client().storeInstance(Buffer.from('x'))).rejects.toMatchObject({
      code: 'ORTHANC_HTTP_503',
      retryable: true,
    });
    nock(URL).post('/instances').reply(200, '{"ID": ', { 'Content-Type': 'application/json' });
    await expect(client().storeInstance(Buffer.from('x'))).rejects.toMatchObject({ retryable: true });
    nock(URL).post('/instances').reply(200, { Status: 'Success' });
    await expect(client().storeInstance(Buffer.from('x'))).rejects.toMatchObject({ retryable: true });
    nock(URL).post('/instances').reply(400, { Message: 'Bad file format' });
    await expect(client().storeInstance(Buffer.from('x'))).rejects.toMatchObject({
      code: 'ORTHANC_HTTP_400',
      retryable: false,
    });
    nock(URL).post('/instances').reply(200, { ID: 'a', Status: 'Failure' });
    await expect(client().storeInstance(Buffer.from('x'))).rejects.toMatchObject({
      code: 'ORTHANC_STORE_FAILED',
      retryable: false,
    });
  });

  it('never puts a response body in an error message', async () => {
    nock(URL).get('/instances/i1/file').reply(500, 'Doe^Jane was here');
    const err = (await client()
      .instanceFile('i1')
      .catch((e: unknown) => e)) as Error;
    expect(err.message).toBe('source Orthanc GET /instances/i1/file answered 500');
  });

  it('refuses a file that claims or sends more than Orthanc listed, before holding it in memory', async () => {
    nock.enableNetConnect('127.0.0.1');
    let written = 0;
    const server = http.createServer((req, res) => {
      if (req.url?.endsWith('/big/file')) {
        // Claims 1 GiB: refused on the announcement, nothing allocated.
        res.writeHead(200, { 'Content-Type': 'application/dicom', 'Content-Length': String(1 << 30) });
        res.write(Buffer.alloc(1024));
        return;
      }
      // No length announced (chunked), then more than listed.
      res.writeHead(200, { 'Content-Type': 'application/dicom' });
      const timer = setInterval(() => {
        written += 65536;
        if (!res.write(Buffer.alloc(65536)) && written > 10 << 20) clearInterval(timer);
      }, 1);
      res.on('close', () => clearInterval(timer));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      await expect(client(url).instanceFile('big', 1000)).rejects.toMatchObject({
        code: 'ORTHANC_TOO_LARGE',
        retryable: true,
      });
      await expect(client(url).instanceFile('chunked', 200_000)).rejects.toMatchObject({
        code: 'ORTHANC_TOO_LARGE',
      });
      expect(written).toBeLessThan(10 << 20); // the reader stopped the stream, far before 10 MiB
    } finally {
      server.closeAllConnections();
      server.close();
      nock.disableNetConnect();
    }
  });

  it('detects a file body cut short of its announced length (a real socket, cut mid-transfer)', async () => {
    nock.enableNetConnect('127.0.0.1');
    const server = http.createServer((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/dicom', 'Content-Length': '1000' });
      res.write(Buffer.alloc(100));
      setImmediate(() => res.socket?.destroy());
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      await expect(client(url).instanceFile('i2')).rejects.toMatchObject({ retryable: true });
    } finally {
      server.close();
      nock.disableNetConnect();
    }
  });

  it('times out a peer that accepts the connection and then stalls', async () => {
    nock.enableNetConnect('127.0.0.1');
    const server = http.createServer(() => {
      /* never answers */
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      await expect(client(url).changes(0, 10)).rejects.toMatchObject({
        code: 'ORTHANC_ECONNABORTED',
        retryable: true,
      });
    } finally {
      server.closeAllConnections();
      server.close();
      nock.disableNetConnect();
    }
  });

  it('times out a peer that stalls in the middle of a file', async () => {
    nock.enableNetConnect('127.0.0.1');
    const server = http.createServer((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/dicom', 'Content-Length': '1000' });
      res.write(Buffer.alloc(100)); // and then nothing
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      await expect(client(url).instanceFile('i3')).rejects.toMatchObject({ retryable: true });
    } finally {
      server.closeAllConnections();
      server.close();
      nock.disableNetConnect();
    }
  });
});
