/** The seed's simulated work: sleeps `payload.ms` (default 1000), so a fresh server visibly does something. */
import type { Handler } from './handler.js';

export const DEMO_TYPE = 'demo';
const MAX_DEMO_MS = 600_000;

export const demoHandler: Handler<{ ms?: number } | null> = async (job, ctx) => {
  const requested = job.payload?.ms;
  const ms = typeof requested === 'number' && requested >= 0 ? Math.min(requested, MAX_DEMO_MS) : 1000;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    ctx.signal.addEventListener('abort', () => {
      clearTimeout(timer);
      reject(new Error(`demo job interrupted: ${String(ctx.signal.reason)}`));
    }, { once: true });
  });
  return { sleptMs: ms };
};
