/** Opaque list cursors: clients pass back what they were given, nothing else. */
import { JobqError } from '../core/errors.js';

export function encodeCursor(seq: number): string {
  return Buffer.from(`s:${seq}`, 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string | undefined): number {
  if (cursor === undefined || cursor === '') return 0;
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  const match = /^s:(\d{1,15})$/.exec(text);
  if (!match) throw new JobqError('invalid_request', 'cursor is not one this server issued', { details: { field: 'cursor' } });
  return Number(match[1]);
}
