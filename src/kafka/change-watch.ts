/**
 * A subscription to the store's change notifications that is turned on and
 * off as a node's role changes (the relay's leader, a flow-controlled
 * queue). On Postgres every notification costs Postgres work for each
 * listening connection, so nodes listen only while they act on it.
 */
import type { Store } from '../contracts/store.js';

export class ChangeWatch {
  private unwatch: (() => void) | null = null;

  constructor(
    private readonly store: Store,
    private readonly onChange: (queues?: readonly string[]) => void,
  ) {}

  set(on: boolean): void {
    if (on && !this.unwatch) this.unwatch = this.store.watchChanges?.(this.onChange) ?? null;
    else if (!on && this.unwatch) {
      this.unwatch();
      this.unwatch = null;
    }
  }
}
