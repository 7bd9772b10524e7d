import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BufferGate } from '../../src/kafka/buffer-gate.js';

function gate(high: number, low: number) {
  const calls: string[] = [];
  const g = new BufferGate(high, low, { pause: () => calls.push('pause'), resume: () => calls.push('resume') });
  return { g, calls };
}

describe('BufferGate', () => {
  it('pauses once above the high mark and resumes once at the low mark', () => {
    const { g, calls } = gate(4, 2);
    for (let i = 0; i < 6; i++) g.add();
    assert.deepEqual(calls, ['pause']);
    g.remove();
    g.remove();
    g.remove();
    assert.deepEqual(calls, ['pause']);
    g.remove();
    assert.deepEqual(calls, ['pause', 'resume']);
    assert.equal(g.size, 2);
  });

  it('resumes when a rebalance drops records in bulk, with nothing left to finish (the consumer would stay paused for good)', () => {
    const { g, calls } = gate(4, 2);
    g.add(10);
    assert.deepEqual(calls, ['pause']);
    g.remove(10);
    assert.deepEqual(calls, ['pause', 'resume']);
    assert.equal(g.size, 0);
  });

  it('never resumes a consumer it did not pause', () => {
    const { g, calls } = gate(4, 2);
    g.add(3);
    g.remove(3);
    assert.deepEqual(calls, []);
  });
});
