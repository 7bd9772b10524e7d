/**
 * Cron arithmetic through croner (time zones and DST handled there, never by
 * a parser of ours): validation with errors that name the field, the next
 * slot after a time, and the slots between two times.
 */
import { Cron } from 'croner';
import { JobqError } from '../../contracts/errors.js';

function bad(field: string, message: string): JobqError {
  return new JobqError('invalid_request', `${field} ${message}`, { details: { field } });
}

/** Throws invalid_request naming `cron` or `tz` and why. */
export function checkCron(cron: unknown, tz: unknown): Cron {
  if (typeof tz !== 'string' || tz.length === 0) throw bad('tz', 'must be an IANA time zone such as "Europe/Berlin" or "UTC"');
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
  } catch {
    throw bad('tz', `"${tz}" is not an IANA time zone (such as "Europe/Berlin" or "UTC")`);
  }
  if (typeof cron !== 'string' || cron.trim().length === 0 || cron.length > 200) throw bad('cron', 'must be a cron expression such as "*/5 * * * *"');
  try {
    return new Cron(cron, { timezone: tz, paused: true });
  } catch (err) {
    throw bad('cron', `"${cron}" is not a valid cron expression: ${(err as Error).message.replace(/^CronPattern: /, '')}`);
  }
}

/** The first slot strictly after `after`, or null when the expression has no more. */
export function nextSlot(cron: Cron, after: number): number | null {
  return cron.nextRun(new Date(after))?.getTime() ?? null;
}

/** Slots in [from, to], oldest first, at most `max` (the most recent ones when there are more). */
export function slotsBetween(cron: Cron, from: number, to: number, max: number): { slots: number[]; skipped: number } {
  const slots: number[] = [];
  let skipped = 0;
  for (let t: number | null = from; t !== null && t <= to; t = nextSlot(cron, t)) {
    slots.push(t);
    if (slots.length > max) {
      slots.shift();
      skipped++;
    }
  }
  return { slots, skipped };
}
