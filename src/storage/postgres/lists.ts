/**
 * Listings on Postgres: each filter walks its own index (storage/list-order.ts).
 * With payloads or results included, the page is read in two steps — first the
 * light columns and the sizes of the heavy ones, then the heavy columns of the
 * rows that fit the byte budget — so a page over 1 MiB payloads never moves
 * hundreds of megabytes from the server.
 */
import type pg from 'pg';
import type { JobListPage, JobListParams, ListedJob } from '../../contracts/store.js';
import { walkFiltered, type WalkRange } from '../filtered-walk.js';
import { LIGHT_COLUMNS, rowSortValues, rowToListedJob, SORT_COLUMNS, type JobRow, type SortRow } from '../job-row.js';
import { decodeCursor, encodeCursor, listOrder, type KeyValue, type ListOrder } from '../list-order.js';
import { filteredHitsSql, listQueryParts, rangeCountSql, rangeRowAtSql, residualCondition, tableRows, type ListQueryPart, type RangeRows } from '../sql-keyset.js';

type Query = <R extends pg.QueryResultRow>(text: string, values: unknown[]) => Promise<pg.QueryResult<R>>;

type LightRow = Omit<JobRow, 'payload' | 'result'> & { heavy_bytes: number };

export async function listJobs(query: Query, s: string, p: JobListParams): Promise<JobListPage> {
  const order = listOrder(p.queue, p.status);
  const after = decodeCursor(order, p.cursor);
  const heavy = [p.include.payload ? 'COALESCE(octet_length(payload::text), 0)' : '0', p.include.result ? 'COALESCE(octet_length(result::text), 0)' : '0'].join(' + ');
  const parts = listQueryParts(order, p.queue === undefined ? [] : [p.queue], after, (n) => `$${n}`);
  const range = p.status === undefined && p.queue !== undefined ? queueOrderRows(`${s}.jobs`) : tableRows(`${s}.jobs`);
  if (residualCondition(p, () => '') !== null) return listFiltered(query, s, p, order, parts, range, heavy);
  const rows: LightRow[] = [];
  for (const part of parts) {
    const need = p.limit + 1 - rows.length;
    if (need <= 0) break;
    const { rows: got } = await query<LightRow>(range(part, `${LIGHT_COLUMNS}, ${heavy} AS heavy_bytes`, `$${part.values.length + 1}`), [...part.values, need]);
    rows.push(...got);
  }
  // Take rows while the page has room and the budget is not spent (always at least one).
  let bytes = 0;
  let take = 0;
  while (take < rows.length && take < p.limit && (take === 0 || bytes < p.maxBytes)) bytes += Number(rows[take++]!.heavy_bytes);
  const page = rows.slice(0, take);
  const more = rows.length > take;
  const jobs = await withHeavy(query, s, p, page);
  const last = page[page.length - 1];
  return { jobs, nextCursor: more && last ? encodeCursor(order, rowSortValues(order, last) as KeyValue[]) : null };
}

/**
 * A queue's jobs in the order it received them (a queue filter, no status). Processing jobs are
 * left out of jobs_list (migration 10: a claim adds no entry to it), so the range is read from
 * that index and from the processing jobs, few, through jobs_leases, each in order and cut at the
 * same limit, then merged. Written out per branch: a UNION ALL whose branches have their own
 * WHERE is planned without the outer ORDER BY, and Postgres sorted a full scan instead.
 * (Everything, no filter at all, is read in id order from the primary key, which holds every job.)
 */
function queueOrderRows(table: string): RangeRows {
  return (part, cols, limit, offset) => {
    const take = offset === undefined ? limit : `(${limit})::bigint + (${offset})::bigint`;
    const branch = (status: string) => `(SELECT * FROM ${table} WHERE ${status} AND ${part.where} ORDER BY ${part.orderBy} LIMIT ${take})`;
    return (
      `SELECT ${cols} FROM (${branch(`status <> 'processing'`)} UNION ALL ${branch(`status = 'processing'`)}) AS jobs ` +
      `ORDER BY ${part.orderBy} LIMIT ${limit}${offset === undefined ? '' : ` OFFSET ${offset}`}`
    );
  };
}

/** The page's jobs, with their payloads and results when included (read only for the rows that made the page). */
async function withHeavy(query: Query, s: string, p: JobListParams, page: LightRow[]): Promise<ListedJob[]> {
  const jobs: ListedJob[] = page.map((r) => rowToListedJob(r));
  if ((p.include.payload || p.include.result) && page.length > 0) {
    const cols = [p.include.payload ? 'payload' : null, p.include.result ? 'result' : null].filter(Boolean).join(', ');
    const { rows: full } = await query<{ id: string; payload?: string; result?: string | null }>(`SELECT id, ${cols} FROM ${s}.jobs WHERE id = ANY($1::uuid[])`, [page.map((r) => r.id)]);
    const byId = new Map(full.map((r) => [r.id, r]));
    page.forEach((r, i) => {
      const f = byId.get(r.id);
      const job = jobs[i]!;
      if (p.include.payload) job.payload = f?.payload === undefined ? null : (JSON.parse(f.payload) as unknown);
      if (p.include.result) job.result = f?.result == null ? null : (JSON.parse(f.result) as unknown);
    });
  }
  return jobs;
}

/** With residual filters (see filtered-walk.ts): only the matches' light columns leave the server. */
async function listFiltered(query: Query, s: string, p: JobListParams, order: ListOrder, parts: ListQueryPart[], range: RangeRows, heavy: string): Promise<JobListPage> {
  const ranges = parts.map((part): WalkRange<LightRow> => {
    // Placeholders: the range's values, then the filters' values, then the statement's own.
    const values: unknown[] = [...part.values];
    const match = residualCondition(p, (v) => (values.push(v), `$${values.length}`))!;
    const own = (n: number) => `$${n}`;
    const hits = filteredHitsSql(part, range, match, { inner: '*', outer: `${LIGHT_COLUMNS}, ${heavy} AS heavy_bytes` }, own(values.length + 1), own(values.length + 2));
    const count = rangeCountSql(part, range, own(part.values.length + 1));
    const rowAt = rangeRowAtSql(part, range, SORT_COLUMNS, own(part.values.length + 1));
    return {
      hits: async (within, max) => (await query<LightRow>(hits, [...values, within, max])).rows,
      count: async (upTo) => Number((await query<{ n: number }>(count, [...part.values, upTo])).rows[0]!.n),
      keyAt: async (at) => rowSortValues(order, (await query<SortRow>(rowAt, [...part.values, at])).rows[0]!),
    };
  });
  const { jobs: page, nextCursor } = await walkFiltered({
    order,
    limit: p.limit,
    maxBytes: p.maxBytes,
    maxScan: p.maxScan,
    ranges,
    key: (row) => rowSortValues(order, row),
    take: (row) => ({ job: row, bytes: Number(row.heavy_bytes) }),
  });
  return { jobs: await withHeavy(query, s, p, page), nextCursor };
}
