/**
 * Token secrets: 32 random bytes, shown once; only their SHA-256 is kept.
 * A presented secret is hashed and the hashes compared in constant time, so
 * neither the secret nor its hash leaks through timing.
 */
import * as crypto from 'node:crypto';
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** Every secret jobq makes starts with this, so a leaked one is easy to recognise (and to scan for). */
export const SECRET_PREFIX = 'jobq_';

/** A secret given from outside (JOBQ_ADMIN_TOKEN) must be at least this long. */
export const MIN_SECRET_LENGTH = 24;

export function newSecret(): string {
  return SECRET_PREFIX + randomBytes(32).toString('base64url');
}

/** Node's one-shot hash (20.12+): a third of createHash's cost per call, which every request pays. */
const oneShot = (crypto as { hash?: (algorithm: string, data: string, encoding: 'buffer') => Buffer }).hash;

/** SHA-256 of a secret as bytes. */
export function hashBytes(secret: string): Buffer {
  return oneShot ? oneShot('sha256', secret, 'buffer') : createHash('sha256').update(secret, 'utf8').digest();
}

/** SHA-256, lower-case hex: what the store keeps. */
export function hashSecret(secret: string): string {
  return hashBytes(secret).toString('hex');
}

/** Constant-time equality of two hashes (hex strings of the same length). */
export function sameHash(a: string, b: string): boolean {
  const x = Buffer.from(a, 'hex');
  const y = Buffer.from(b, 'hex');
  return x.length === y.length && x.length > 0 && timingSafeEqual(x, y);
}
