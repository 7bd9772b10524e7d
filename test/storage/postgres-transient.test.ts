import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isTransient, withTransientRetry } from '../../src/storage/postgres/transient.js';

describe('Postgres transient errors', () => {
  it('knows which failures are worth retrying', () => {
    for (const code of ['40001', '40P01', '57P01', '08006', 'ECONNREFUSED', 'ECONNRESET']) assert.equal(isTransient({ code }), true, code);
    assert.equal(isTransient(new Error('Connection terminated unexpectedly')), true);
    for (const code of ['23505', '42P01', '22P02']) assert.equal(isTransient({ code }), false, code);
    assert.equal(isTransient(null), false);
  });

  it('retries transient failures with backoff, and gives up on others at once', async () => {
    let calls = 0;
    const out = await withTransientRetry(
      async () => {
        if (++calls < 3) throw Object.assign(new Error('deadlock'), { code: '40P01' });
        return 'ok';
      },
      { attempts: 5, baseDelayMs: 1, maxDelayMs: 2 },
    );
    assert.equal(out, 'ok');
    assert.equal(calls, 3);
    let permanent = 0;
    await assert.rejects(
      withTransientRetry(async () => {
        permanent++;
        throw Object.assign(new Error('dup'), { code: '23505' });
      }),
      /dup/,
    );
    assert.equal(permanent, 1);
    let exhausted = 0;
    await assert.rejects(
      withTransientRetry(
        async () => {
          exhausted++;
          throw Object.assign(new Error('down'), { code: 'ECONNREFUSED' });
        },
        { attempts: 3, baseDelayMs: 1, maxDelayMs: 1 },
      ),
      /down/,
    );
    assert.equal(exhausted, 3);
  });
});
