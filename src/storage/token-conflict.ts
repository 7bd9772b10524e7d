/** The one error every backend raises when a token's name or secret is taken. */
import { JobqError } from '../contracts/errors.js';

export function tokenTaken(name: string, cause?: unknown): JobqError {
  return new JobqError('conflict', `a token named "${name}" exists (revoke it first), or its secret is another token's`, {
    ...(cause !== undefined && { cause }),
    details: { field: 'name' },
  });
}
