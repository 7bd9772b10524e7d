/**
 * The live tokens of the cluster, held in memory so a request's check is a
 * hash and a map lookup (no store call on the hot path). The set is read
 * again every `refreshMs` (500 ms: a token revoked on any node stops working
 * everywhere within about half a second), and at once when an unknown
 * secret shows up (a token created on another node works here at once);
 * those reads are coalesced, so a flood of bad secrets costs one read at a
 * time. Uses are recorded in memory and written every `touchFlushMs`.
 *
 * A keep-alive connection sends the same Authorization header with every
 * request: once it proved a token, that connection's later requests are
 * checked against the header it proved (a constant-time comparison, 0.1 µs)
 * rather than hashed again (SHA-256 and the lookup, 1.5 µs), until the live
 * set is read again or a token is revoked here.
 */
import type { ApiToken, Store } from '../../contracts/store.js';
import { timingSafeEqual } from 'node:crypto';
import { hashBytes } from './secrets.js';

export interface TokenCacheOptions {
  /** @defaultValue 500 */
  refreshMs?: number;
  /** How often lastUsedAt is written. @defaultValue 10_000 */
  touchFlushMs?: number;
  now?: () => number;
  /** A failed read or write of the tokens (the last known set stays in force). */
  onError?: (err: unknown) => void;
}

interface Entry {
  token: ApiToken;
  /** The hash's bytes, for the constant-time comparison. */
  bytes: Buffer;
}

/** What a connection proved: its Authorization header's bytes and the token they hold, under the live set of `generation`. */
interface Proof {
  header: Buffer;
  entry: Entry;
  generation: number;
}

export class TokenCache {
  /** Live tokens by the hex of their hash. */
  private byHash = new Map<string, Entry>();
  /** Bumped by every read of the live set and every local revocation: a proof made under an older one is checked again. */
  private generation = 0;
  /** By connection (a socket): the last header that proved a token on it. */
  private readonly proofs = new WeakMap<object, Proof>();
  private loadedOnce = false;
  private reloading: Promise<void> | null = null;
  private refreshTimer: NodeJS.Timeout | null = null;
  private touchTimer: NodeJS.Timeout | null = null;
  private readonly used = new Set<string>();
  private readonly revokedListeners = new Set<(ids: ReadonlySet<string>) => void>();
  private readonly refreshMs: number;
  private readonly touchFlushMs: number;
  private readonly now: () => number;
  private readonly onError: (err: unknown) => void;

  constructor(
    private readonly store: Store,
    options: TokenCacheOptions = {},
  ) {
    this.refreshMs = options.refreshMs ?? 500;
    this.touchFlushMs = options.touchFlushMs ?? 10_000;
    this.now = options.now ?? Date.now;
    this.onError = options.onError ?? (() => {});
  }

  /** Reads the tokens once and keeps them fresh until stop(). Resolves after the first read (which may fail: see `ready`). */
  async start(): Promise<void> {
    if (!this.refreshTimer) {
      this.refreshTimer = setInterval(() => void this.reload().catch(this.onError), this.refreshMs);
      this.refreshTimer.unref();
      this.touchTimer = setInterval(() => void this.flushUses(), this.touchFlushMs);
      this.touchTimer.unref();
    }
    await this.reload().catch(this.onError);
  }

  async stop(): Promise<void> {
    if (this.refreshTimer) clearInterval(this.refreshTimer);
    if (this.touchTimer) clearInterval(this.touchTimer);
    this.refreshTimer = this.touchTimer = null;
    await this.flushUses();
  }

  /** True once the tokens were read at least once (until then nobody knows whether auth applies). */
  get ready(): boolean {
    return this.loadedOnce;
  }

  /** Live tokens known now. */
  get size(): number {
    return this.byHash.size;
  }

  /** Reads the live tokens now (joins a read already under way). */
  reload(): Promise<void> {
    this.reloading ??= (async () => {
      try {
        const live = await this.store.tokenList({ includeRevoked: false });
        const before = this.byHash;
        this.byHash = new Map(live.map((t) => [t.hash, { token: t, bytes: Buffer.from(t.hash, 'hex') }]));
        this.generation++;
        this.loadedOnce = true;
        const gone = new Set([...before.values()].filter((e) => !this.byHash.has(e.token.hash)).map((e) => e.token.id));
        if (gone.size > 0) this.revoked(gone);
      } finally {
        this.reloading = null;
      }
    })();
    return this.reloading;
  }

  /** A revocation made by this node takes effect here at once. */
  forget(name: string): void {
    const gone = new Set<string>();
    for (const [hash, e] of this.byHash) {
      if (e.token.name !== name) continue;
      this.byHash.delete(hash);
      gone.add(e.token.id);
    }
    this.generation++;
    if (gone.size > 0) this.revoked(gone);
  }

  /**
   * Called with the ids of tokens that stopped being live (revoked here or
   * on another node), so requests that hold on (a long poll, an event
   * stream) can end now rather than at their own pace. Returns how to stop.
   */
  onRevoked(listener: (ids: ReadonlySet<string>) => void): () => void {
    this.revokedListeners.add(listener);
    return () => this.revokedListeners.delete(listener);
  }

  private revoked(ids: ReadonlySet<string>): void {
    for (const l of this.revokedListeners) {
      try {
        l(ids);
      } catch {
        // A listener's bug must not stop the others.
      }
    }
  }

  /**
   * The token `conn` proved with this very header (see `lookup`), while the
   * live set is the one it was proved under; undefined otherwise (then
   * `lookup`). The request path of a keep-alive connection: a weak-map
   * read and a constant-time comparison of the header's bytes (the last
   * header proved on a connection behind a proxy may be another client's).
   */
  recall(conn: object | undefined | null, header: string): ApiToken | undefined {
    const p = conn ? this.proofs.get(conn) : undefined;
    if (!p || p.generation !== this.generation || p.header.length !== header.length) return undefined;
    if (!timingSafeEqual(p.header, Buffer.from(header, 'latin1'))) return undefined;
    this.used.add(p.entry.token.id);
    return p.entry.token;
  }

  /**
   * The live token with this secret as known now; undefined when the secret
   * is not known (then `find` reads the tokens again). One hash, one map
   * lookup, one constant-time comparison, no promise. Given the connection
   * and the header the secret came in, remembers the proof for `recall`.
   */
  lookup(secret: string, proof?: { conn: object | undefined | null; header: string }): ApiToken | undefined {
    const bytes = hashBytes(secret);
    const e = this.byHash.get(bytes.toString('hex'));
    if (!e || !timingSafeEqual(e.bytes, bytes)) return undefined;
    this.used.add(e.token.id);
    // Node's header values are latin1 strings: their bytes are exactly what was sent.
    if (proof?.conn) this.proofs.set(proof.conn, { header: Buffer.from(proof.header, 'latin1'), entry: e, generation: this.generation });
    return e.token;
  }

  /** The live token with this secret, or null; an unknown secret makes it read the tokens again first. */
  async find(secret: string): Promise<ApiToken | null> {
    const known = this.lookup(secret);
    if (known) return known;
    await this.reload();
    return this.lookup(secret) ?? null;
  }

  private async flushUses(): Promise<void> {
    if (this.used.size === 0) return;
    const ids = [...this.used];
    this.used.clear();
    try {
      await this.store.tokenTouch({ ids, now: this.now() });
    } catch (err) {
      this.onError(err);
    }
  }
}
