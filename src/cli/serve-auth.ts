/**
 * `jobq serve`'s auth at start: JOBQ_ADMIN_TOKEN seeded as an admin token,
 * then the mode: open until the first token on loopback, always required on
 * any other address (and refused to start there with no token at all),
 * off with --insecure-no-auth. Never logs a secret.
 */
import type { Logger } from 'pino';
import type { Store } from '../contracts/store.js';
import type { AuthMode } from '../http/auth/auth-hook.js';
import { isLoopback } from '../http/auth/loopback.js';
import { ENV_ADMIN_NAME, TokenService } from '../http/auth/token-service.js';
import { StartupError } from './startup-error.js';

export interface AuthSettings {
  host: string;
  insecureNoAuth: boolean;
  adminToken: string | undefined;
}

export async function serveAuth(settings: AuthSettings, store: Store, logger: Logger): Promise<AuthMode> {
  if (settings.adminToken !== undefined) {
    let seeded: 'created' | 'kept' | 'revoked';
    try {
      seeded = await new TokenService(store).seedAdmin(settings.adminToken);
    } catch (err) {
      throw new StartupError(`cannot seed JOBQ_ADMIN_TOKEN: ${(err as Error).message}`);
    }
    if (seeded === 'revoked') logger.warn({ token: ENV_ADMIN_NAME }, 'JOBQ_ADMIN_TOKEN holds a secret that was revoked; it stays revoked (set a new one)');
    else logger.info({ token: ENV_ADMIN_NAME, seeded }, 'admin token from JOBQ_ADMIN_TOKEN in place');
  }
  if (settings.insecureNoAuth) {
    logger.warn({ host: settings.host }, 'API tokens are off (--insecure-no-auth): anyone who can reach this server can run and read jobs');
    return 'off';
  }
  if (isLoopback(settings.host)) return 'tokens';
  const live = await store.tokenList({ includeRevoked: false });
  if (live.length === 0) {
    throw new StartupError(
      `refusing to listen on ${settings.host} without API tokens (anyone who can reach it could run jobs): create one (jobq token create --name admin --scopes admin), set JOBQ_ADMIN_TOKEN, or pass --insecure-no-auth`,
    );
  }
  return 'required';
}
