/** Whether a listen address is reachable only from this machine (auth may then wait for the first token). */
import { isIP } from 'node:net';

export function isLoopback(host: string): boolean {
  const h = host.trim().toLowerCase().replace(/^\[|\]$/g, '');
  if (h === 'localhost' || h === '::1') return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (h.startsWith('::ffff:')) return isLoopback(h.slice('::ffff:'.length));
  // Any other name, 0.0.0.0 and :: (every interface) may be reachable from elsewhere.
  return false;
}
