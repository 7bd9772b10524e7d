/**
 * A TCP proxy between jobq and Postgres that can lose a reply on purpose.
 *
 * Bytes from the client go to the server unchanged. Bytes from the server are
 * split into Postgres protocol messages (1-byte type, 4-byte length); when an
 * armed rule matches a CommandComplete ('C') message, the proxy does not
 * forward that reply: it RESETs the client side (socket.resetAndDestroy()) and
 * closes the server side. The statement has run and (outside a transaction)
 * committed on the server; the client only sees ECONNRESET.
 *
 * What a rule sees: the command tag ("UPDATE 10", "INSERT 0 1", "SELECT 1"),
 * the SQL text of the statement (from the client's last Query or Parse
 * message on that connection) and the column names of the reply's
 * RowDescription, if any.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';

export interface ReplyInfo {
  /** CommandComplete tag, e.g. "UPDATE 10". */
  tag: string;
  /** SQL text the client sent for this statement ('' if not seen). */
  sql: string;
  /** Column names of the RowDescription that came with this reply ([] when none). */
  fields: string[];
}

export interface ResetRule {
  /** The tag must start with this word, e.g. "UPDATE". */
  tag: string;
  /** Further condition; default: any reply with that tag. */
  when?: (r: ReplyInfo) => boolean;
  /** How many replies to lose. @defaultValue 1 */
  times?: number;
}

export interface TcpProxy {
  port: number;
  /** postgres://… URL of `target` with host and port replaced by the proxy's. */
  url(targetUrl: string): string;
  /**
   * Loses the next matching reply(s). Resolves when the last one was lost;
   * rejects after `timeoutMs` (default 10 s) naming the replies it saw instead.
   */
  arm(rule: ResetRule, timeoutMs?: number): Promise<ReplyInfo[]>;
  /** The last 50 replies that went through (for failure messages). */
  readonly seen: ReplyInfo[];
  /** Replies lost so far. */
  readonly lost: ReplyInfo[];
  /** Open client connections. */
  readonly connections: number;
  close(): Promise<void>;
}

interface Armed {
  rule: ResetRule;
  left: number;
  hits: ReplyInfo[];
  resolve: (hits: ReplyInfo[]) => void;
}

/** Postgres message parsing state for one direction. */
class MessageSplitter {
  private buf: Buffer = Buffer.alloc(0);
  constructor(private readonly startup: boolean) {}
  private sawStartup = false;

  /** Returns complete messages; keeps a partial one for the next chunk. */
  push(chunk: Buffer): { type: string; body: Buffer; raw: Buffer }[] {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    const out: { type: string; body: Buffer; raw: Buffer }[] = [];
    for (;;) {
      if (this.startup && !this.sawStartup) {
        // The client's first message (StartupMessage / SSLRequest) has no type byte.
        if (this.buf.length < 4) break;
        const len = this.buf.readUInt32BE(0);
        if (this.buf.length < len) break;
        const raw = this.buf.subarray(0, len);
        this.buf = this.buf.subarray(len);
        this.sawStartup = true;
        out.push({ type: '', body: raw.subarray(4), raw });
        continue;
      }
      if (this.buf.length < 5) break;
      const len = this.buf.readUInt32BE(1);
      if (this.buf.length < 1 + len) break;
      const raw = this.buf.subarray(0, 1 + len);
      this.buf = this.buf.subarray(1 + len);
      out.push({ type: String.fromCharCode(raw[0]!), body: raw.subarray(5), raw });
    }
    return out;
  }
}

function cString(b: Buffer, at = 0): string {
  const end = b.indexOf(0, at);
  return b.subarray(at, end < 0 ? b.length : end).toString('utf8');
}

function rowDescriptionNames(body: Buffer): string[] {
  const n = body.readUInt16BE(0);
  const names: string[] = [];
  let at = 2;
  for (let i = 0; i < n; i++) {
    const end = body.indexOf(0, at);
    names.push(body.subarray(at, end).toString('utf8'));
    at = end + 1 + 18; // table oid 4, column 2, type oid 4, size 2, modifier 4, format 2
  }
  return names;
}

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const armed: Armed[] = [];
  const lost: ReplyInfo[] = [];
  const seen: ReplyInfo[] = [];
  const sockets = new Set<Socket>();

  const server: Server = createServer((client) => {
    sockets.add(client);
    const upstream = connect(target.port, target.host);
    sockets.add(upstream);
    const fromClient = new MessageSplitter(true);
    const fromServer = new MessageSplitter(false);
    /** SQL of the queries sent and not yet answered (one per Query or Sync), oldest first. */
    const pendingSql: string[] = [];
    let lastParse = '';
    let fields: string[] = [];
    let dead = false;
    const kill = () => {
      if (dead) return;
      dead = true;
      client.resetAndDestroy();
      upstream.destroy();
    };
    client.on('data', (chunk: Buffer) => {
      for (const m of fromClient.push(chunk)) {
        if (m.type === 'Q') pendingSql.push(cString(m.body));
        else if (m.type === 'P') lastParse = cString(m.body, m.body.indexOf(0) + 1); // name\0 query\0 …
        else if (m.type === 'S') pendingSql.push(lastParse);
      }
      if (!dead) upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (dead) return;
      const forward: Buffer[] = [];
      for (const m of fromServer.push(chunk)) {
        if (m.type === 'T') fields = rowDescriptionNames(m.body);
        if (m.type === 'C') {
          const info: ReplyInfo = { tag: cString(m.body), sql: pendingSql[0] ?? '', fields };
          fields = [];
          seen.push(info);
          if (seen.length > 50) seen.shift();
          const a = armed.find((x) => info.tag.startsWith(x.rule.tag) && (x.rule.when?.(info) ?? true));
          if (a) {
            a.left--;
            a.hits.push(info);
            lost.push(info);
            if (a.left <= 0) {
              armed.splice(armed.indexOf(a), 1);
              a.resolve(a.hits);
            }
            // Whatever came before this reply in the chunk is dropped too: the client sees a reset.
            kill();
            return;
          }
        }
        if (m.type === 'Z') {
          // ReadyForQuery ends the answer to one Query or Sync.
          pendingSql.shift();
          fields = [];
        }
        forward.push(m.raw);
      }
      if (forward.length > 0) client.write(forward.length === 1 ? forward[0]! : Buffer.concat(forward));
    });
    const done = () => {
      sockets.delete(client);
      sockets.delete(upstream);
      if (!dead) {
        dead = true;
        client.destroy();
        upstream.destroy();
      }
    };
    client.on('close', done);
    upstream.on('close', done);
    client.on('error', () => {});
    upstream.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;

  return {
    port,
    url(targetUrl: string) {
      const u = new URL(targetUrl);
      u.hostname = '127.0.0.1';
      u.port = String(port);
      return u.toString();
    },
    arm(rule, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const entry: Armed = {
          rule,
          left: rule.times ?? 1,
          hits: [],
          resolve: (hits) => {
            clearTimeout(timer);
            resolve(hits);
          },
        };
        const timer = setTimeout(() => {
          armed.splice(armed.indexOf(entry), 1);
          const recent = seen.slice(-10).map((r) => `${r.tag} [${r.fields.length} cols] ${r.sql.replace(/\s+/g, ' ').slice(0, 60)}`);
          reject(new Error(`no reply matching ${rule.tag || 'any tag'}${rule.when ? ' + predicate' : ''} within ${timeoutMs} ms; last replies:\n${recent.join('\n')}`));
        }, timeoutMs);
        armed.push(entry);
      });
    },
    lost,
    seen,
    get connections() {
      return [...sockets].length / 2;
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
