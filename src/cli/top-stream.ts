/**
 * A Server-Sent Events reader over Node's fetch, for the CLI's live views
 * (`jobq top`, `jobq status --wait`): sends the token, resumes with
 * Last-Event-ID after a dropped connection, and reports frames by event name.
 */
export interface StreamFrame {
  event: string;
  id?: string;
  data: unknown;
}

export interface StreamHandlers {
  frame(f: StreamFrame): void;
  /** Connected (again). */
  open?(): void;
  /** Lost; it reconnects by itself with backoff. */
  lost?(err: unknown): void;
}

/** Opens `url` (an /v1/events URL) until `signal` aborts. Resolves when aborted; rejects on 4xx (a bad token, a server without the stream). */
export async function followStream(url: string, token: string | undefined, handlers: StreamHandlers, signal: AbortSignal): Promise<void> {
  let lastId = '';
  let backoffMs = 250;
  while (!signal.aborted) {
    try {
      const res = await fetch(url, {
        headers: { accept: 'text/event-stream', ...(token && { authorization: `Bearer ${token}` }), ...(lastId && { 'last-event-id': lastId }) },
        signal,
      });
      if (res.status >= 400 && res.status < 500) {
        const body = (await res.json().catch(() => null)) as { error?: { code?: string; message?: string } } | null;
        throw Object.assign(new Error(body?.error?.message ?? `HTTP ${res.status}`), { code: body?.error?.code ?? `http_${res.status}`, status: res.status });
      }
      if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
      handlers.open?.();
      backoffMs = 250;
      const decoder = new TextDecoder();
      let buf = '';
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        buf += decoder.decode(chunk, { stream: true });
        let i;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const raw = buf.slice(0, i);
          buf = buf.slice(i + 2);
          let event = 'message';
          let data = '';
          let id: string | undefined;
          for (const line of raw.split('\n')) {
            if (line.startsWith('id: ')) id = line.slice(4);
            else if (line.startsWith('event: ')) event = line.slice(7);
            else if (line.startsWith('data: ')) data += line.slice(6);
          }
          if (id !== undefined) lastId = id;
          if (data) handlers.frame({ event, ...(id !== undefined && { id }), data: JSON.parse(data) as unknown });
        }
      }
      handlers.lost?.(new Error('the server ended the stream'));
    } catch (err) {
      if (signal.aborted) return;
      if ((err as { status?: number }).status !== undefined) throw err;
      handlers.lost?.(err);
    }
    await new Promise((r) => setTimeout(r, backoffMs));
    backoffMs = Math.min(backoffMs * 2, 5_000);
  }
}
