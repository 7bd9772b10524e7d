/**
 * Issue #14, item 4: GET /v1/jobs filters by type, key and creation time on
 * the server (ISO 8601 times, as the API writes createdAt), pages through
 * them with the same cursor as the other filters, and answers a bad value
 * with a 400 in the API's error shape, never a 5xx. The library and the
 * HTTP client take the same filters.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { JobqClient } from '../../src/client/jobq-client.js';
import { isJobqError } from '../../src/contracts/errors.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { http, startTestServer, type TestServer } from '../helpers/http-server.js';

const T0 = Date.UTC(2030, 0, 1);
const iso = (ms: number) => new Date(ms).toISOString();

describe('GET /v1/jobs with type, key and time filters', () => {
  let s: TestServer;
  const clock = new FakeClock(T0);
  /** Ids by how each was enqueued: minute m (0..5), type a or b, key k<m> on type a. */
  const made: { id: string; minute: number; type: string; key: string | null }[] = [];

  before(async () => {
    s = await startTestServer({ workers: false, jobq: { clock } });
    for (let minute = 0; minute < 6; minute++) {
      for (const type of ['a', 'b']) {
        const key = type === 'a' ? `k${minute}` : null;
        const res = await http(s.url, 'POST', '/v1/jobs', { type, queue: minute % 2 === 0 ? 'even' : 'odd', ...(key && { key }) });
        assert.equal(res.status, 201, res.text);
        made.push({ id: res.body.id, minute, type, key });
      }
      await clock.advance(60_000);
    }
  });
  after(async () => s?.close());

  /** Every page of a listing, following nextCursor. */
  async function all(query: string): Promise<{ ids: string[]; pages: number }> {
    const ids: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res = await http(s.url, 'GET', `/v1/jobs?${query}${cursor ? `&cursor=${cursor}` : ''}`);
      assert.equal(res.status, 200, res.text);
      ids.push(...res.body.jobs.map((j: { id: string }) => j.id));
      cursor = res.body.nextCursor;
      pages++;
    } while (cursor);
    return { ids, pages };
  }
  const ids = (pick: (m: (typeof made)[number]) => boolean) => made.filter(pick).map((m) => m.id);

  it('filters by type, key and creation time, alone and with a queue or status, across pages', async () => {
    assert.deepEqual((await all('type=a&limit=2')).ids, ids((m) => m.type === 'a'));
    assert.deepEqual((await all('key=k3')).ids, ids((m) => m.key === 'k3'));
    assert.deepEqual((await all(`createdAfter=${iso(T0 + 120_000)}&limit=3`)).ids, ids((m) => m.minute >= 2));
    assert.deepEqual((await all(`createdBefore=${iso(T0 + 120_000)}`)).ids, ids((m) => m.minute < 2));
    // After is inclusive, before exclusive: [minute 1, minute 3).
    assert.deepEqual((await all(`createdAfter=${iso(T0 + 60_000)}&createdBefore=${iso(T0 + 180_000)}&limit=1`)).ids, ids((m) => m.minute === 1 || m.minute === 2));
    assert.deepEqual((await all(`queue=odd&status=pending&type=b&limit=1`)).ids, ids((m) => m.minute % 2 === 1 && m.type === 'b'));
    assert.deepEqual((await all(`queue=even&type=a&createdAfter=${encodeURIComponent('2030-01-01T01:02:00+01:00')}`)).ids, ids((m) => m.minute % 2 === 0 && m.type === 'a' && m.minute >= 2));
    const none = await http(s.url, 'GET', '/v1/jobs?type=nobody');
    assert.deepEqual(none.body, { jobs: [], nextCursor: null });
  });

  it('the library and the HTTP client take the same filters', async () => {
    const page = await s.jobq.list({ type: 'b', createdAfter: T0 + 240_000 });
    assert.deepEqual(page.jobs.map((j) => j.id), ids((m) => m.type === 'b' && m.minute >= 4));
    const client = new JobqClient({ url: s.url });
    const viaClient = await client.list({ type: 'a', key: 'k5', createdAfter: new Date(T0), createdBefore: iso(T0 + 600_000) });
    assert.deepEqual(viaClient.jobs.map((j) => j.id), ids((m) => m.key === 'k5'));
    const epoch = await client.list({ queue: 'odd', createdBefore: T0 + 120_000 });
    assert.deepEqual(epoch.jobs.map((j) => j.id), ids((m) => m.minute === 1));
  });

  it('answers a bad filter with 400 invalid_request naming the field', async () => {
    const bad: [string, string, RegExp][] = [
      ['type=a%20b', 'type', /^type must be 1 to 128 letters/],
      [`key=${'k'.repeat(256)}`, 'key', /^key must be a string of 1 to 255 characters$/],
      ['key=', 'key', /^key must be a string of 1 to 255 characters$/],
      ['key=a%00b', 'key', /^key must be a string of 1 to 255 characters$/],
      ['createdAfter=yesterday', 'createdAfter', /^createdAfter must be an ISO 8601 date-time with a time zone/],
      ['createdAfter=2030-01-01', 'createdAfter', /^createdAfter must be an ISO 8601 date-time with a time zone/],
      ['createdAfter=2030-01-01T00:00:00', 'createdAfter', /^createdAfter must be an ISO 8601 date-time with a time zone/],
      ['createdBefore=1893456000000', 'createdBefore', /^createdBefore must be an ISO 8601 date-time with a time zone/],
      ['createdBefore=2030-02-30T00:00:00Z', 'createdBefore', /^createdBefore must be an ISO 8601 date-time with a time zone/],
      ['createdBefore=2030-12-31T23:59:60Z', 'createdBefore', /^createdBefore must be an ISO 8601 date-time with a time zone/],
      [`createdAfter=${iso(T0)}&createdBefore=${iso(T0)}`, 'createdBefore', /^createdBefore must be later than createdAfter$/],
      ['createdAfter=a&createdAfter=b', 'createdAfter', /^createdAfter must be an ISO 8601 date-time/],
    ];
    for (const [query, field, message] of bad) {
      const res = await http(s.url, 'GET', `/v1/jobs?${query}`);
      assert.equal(res.status, 400, `${query}: ${res.text}`);
      assert.equal(res.body.error.code, 'invalid_request', query);
      assert.equal(res.body.error.details?.field, field, query);
      assert.match(res.body.error.message, message, query);
    }
  });

  it('the library refuses the same bad filters with invalid_request', async () => {
    const refused = async (params: Parameters<typeof s.jobq.list>[0], field: string) =>
      assert.rejects(s.jobq.list(params), (e) => isJobqError(e, 'invalid_request') && (e as { details?: { field?: string } }).details?.field === field);
    await refused({ type: 'a b' }, 'type');
    await refused({ key: '' }, 'key');
    await refused({ key: 'x'.repeat(256) }, 'key');
    await refused({ createdAfter: 1.5 }, 'createdAfter');
    await refused({ createdBefore: Number.NaN }, 'createdBefore');
    await refused({ createdAfter: T0, createdBefore: T0 - 1 }, 'createdBefore');
  });

  it('the OpenAPI document lists the filters with their formats', async () => {
    const doc = (await http(s.url, 'GET', '/openapi.json')).body;
    const params = doc.paths['/v1/jobs'].get.parameters as { name: string; in: string; schema: { format?: string; maxLength?: number } }[];
    const byName = new Map(params.map((p) => [p.name, p]));
    for (const name of ['type', 'key', 'createdAfter', 'createdBefore']) assert.equal(byName.get(name)?.in, 'query', name);
    assert.equal(byName.get('createdAfter')!.schema.format, 'date-time');
    assert.equal(byName.get('key')!.schema.maxLength, 255);
    assert.match(doc.paths['/v1/jobs'].get.description, /10000 jobs at most per page/);
  });
});
