/**
 * Messages between `jobq serve`'s primary and its HTTP processes. Either
 * side may exit between a look at the channel and the write; a send with no
 * callback then reports the closed channel (EPIPE, ERR_IPC_CHANNEL_CLOSED)
 * as an 'error' event nobody handles, and that ended the primary with exit
 * code 1 when a scrape's answer was sent to an HTTP process that had just
 * drained. A process gone is nothing to report: its exit is handled where
 * exits are.
 */
import type { Serializable } from 'node:child_process';

/** One end of the channel: a cluster Worker in the primary, `process` in an HTTP process. */
interface ChannelEnd {
  send?(message: Serializable, sendHandle: undefined, options: undefined, callback: (error: Error | null) => void): boolean;
}

const gone = (): void => {};

/** Sends `message` if the other side is still there; never throws or emits for a closed channel. */
export function sendOnChannel(end: ChannelEnd, message: Serializable): void {
  end.send?.(message, undefined, undefined, gone);
}
