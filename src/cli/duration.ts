/** Durations as people write them in flags: `30s`, `15m`, `12h`, `7d`, plain milliseconds, or `forever` (null). */
const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** Milliseconds, null for forever, undefined when not a duration. */
export function parseDuration(raw: string): number | null | undefined {
  const text = raw.trim().toLowerCase();
  if (text === 'forever' || text === 'never') return null;
  const m = /^(\d+)(ms|s|m|h|d|w)?$/.exec(text);
  if (!m) return undefined;
  const n = Number(m[1]) * UNITS[m[2] ?? 'ms']!;
  return Number.isSafeInteger(n) && n > 0 ? n : undefined;
}

export function formatDuration(msValue: number | null): string {
  if (msValue === null) return 'forever';
  for (const unit of ['d', 'h', 'm', 's'] as const) if (msValue % UNITS[unit]! === 0) return `${msValue / UNITS[unit]!}${unit}`;
  return `${msValue}ms`;
}
