/**
 * `jobq token create|list|revoke`: API tokens, straight from the store (like
 * migrate and prune; how the first token is made), or through a running
 * server's admin routes with --url (and an admin --token). `create` prints
 * the secret alone on stdout, once: `TOKEN=$(jobq token create …)` works.
 */
import type { TokenJson } from '../client/token-client.js';
import { TokenService, type TokenView } from '../http/auth/token-service.js';
import { EXIT } from './exit-codes.js';
import { print, table } from './format.js';
import { reach, serverClient } from './client-commands.js';
import { createLogger } from './logger.js';
import { openStore } from './open-store.js';
import type { ServerSettings } from './settings.js';
import { SettingsError } from './settings.js';

export interface TokenFlags {
  /** Ask this server instead of opening the store. */
  url?: string;
  token?: string;
  json?: boolean;
}

type Row = TokenView | TokenJson;

const when = (v: number | string | null) => (v === null ? '—' : new Date(v).toISOString().replace(/\.\d+Z$/, 'Z').replace('T', ' '));

function list(csv: string | undefined, flag: string): string[] | undefined {
  if (csv === undefined) return undefined;
  const items = csv.split(',').map((s) => s.trim()).filter(Boolean);
  if (items.length === 0) throw new SettingsError(`invalid ${flag}: name at least one`);
  return items;
}

async function withService<T>(settings: ServerSettings, fn: (s: TokenService) => Promise<T>): Promise<T> {
  const { logger } = createLogger(settings.logLevel);
  const store = await openStore(settings, logger);
  try {
    return await fn(new TokenService(store));
  } finally {
    await store.close();
  }
}

function client(flags: TokenFlags) {
  return serverClient(flags.url!, flags.token);
}

export async function tokenCreateCommand(settings: ServerSettings, flags: TokenFlags & { name: string; scopes: string; queues?: string }): Promise<number> {
  const input = { name: flags.name, scopes: list(flags.scopes, '--scopes') ?? [], queues: list(flags.queues, '--queues') ?? null };
  const created = flags.url !== undefined ? await reach(flags.url, () => client(flags).tokens.create(input)) : await withService(settings, (s) => s.create(input));
  if (flags.json) {
    print(true, created, () => '');
    return EXIT.ok;
  }
  const t = created.token;
  process.stderr.write(`jobq: created token "${t.name}" (scopes ${t.scopes.join(',')}; ${t.queues ? `queues ${t.queues.join(',')}` : 'every queue'}); its secret, below, is shown this once\n`);
  process.stdout.write(`${created.secret}\n`);
  return EXIT.ok;
}

export async function tokenListCommand(settings: ServerSettings, flags: TokenFlags & { all?: boolean }): Promise<number> {
  const includeRevoked = flags.all === true;
  const tokens: Row[] = flags.url !== undefined ? await reach(flags.url, () => client(flags).tokens.list({ includeRevoked })) : await withService(settings, (s) => s.list({ includeRevoked }));
  print(!!flags.json, { tokens }, () =>
    tokens.length === 0
      ? 'no tokens'
      : table(
          ['NAME', 'SCOPES', 'QUEUES', 'CREATED', 'LAST USED', ...(includeRevoked ? ['REVOKED'] : [])],
          tokens.map((t) => [t.name, t.scopes.join(','), t.queues?.join(',') ?? '(all)', when(t.createdAt), when(t.lastUsedAt), ...(includeRevoked ? [when(t.revokedAt)] : [])]),
        ),
  );
  return EXIT.ok;
}

export async function tokenRevokeCommand(settings: ServerSettings, name: string, flags: TokenFlags): Promise<number> {
  const t: Row = flags.url !== undefined ? await reach(flags.url, () => client(flags).tokens.revoke(name)) : await withService(settings, (s) => s.revoke(name));
  print(!!flags.json, t, () => `revoked token "${t.name}"; every server refuses it within a second`);
  return EXIT.ok;
}
