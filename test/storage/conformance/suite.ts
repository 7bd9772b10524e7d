/**
 * The one behavioural suite every Store backend must pass unchanged. A backend
 * test file supplies only a factory (and, at most, skips that carry a reason).
 * The sections live beside this file, one noun each.
 */
import { afterEach, beforeEach, describe } from 'node:test';
import type { Store } from '../../../src/contracts/store.js';
import { clusterSection } from './cluster.js';
import { type Ctx } from './ctx.js';
import { feedSection } from './feeds.js';
import { flowSection } from './flow.js';
import { jobSection } from './jobs.js';
import { leaseSection } from './leases.js';
import { linkSection } from './links.js';
import { scheduleSection } from './schedules.js';
import { listSection } from './lists.js';
import { tokenSection } from './tokens.js';

export interface OpenedStore {
  store: Store;
  /** A second, independent handle on the same data (another connection), for shared stores. */
  openPeer?: () => Promise<Store>;
  /**
   * Makes the database fail under the store (a connection killed, a file
   * locked…) and returns how to undo it; for the driver-error mapping test.
   */
  induceOutage?: () => Promise<() => Promise<void>>;
  /** Runs `fn` inside a transaction of the backend's own client, for the *With methods. */
  inTransaction?: <T>(fn: (tx: unknown) => Promise<T>, commit: boolean) => Promise<T>;
  cleanup?: () => Promise<void>;
}

export interface StoreFactory {
  name: string;
  open(): Promise<OpenedStore>;
}

export function runStoreConformance(factory: StoreFactory): void {
  describe(`Store conformance: ${factory.name}`, () => {
    const peers: Store[] = [];
    const ctx = { peers } as unknown as Ctx;
    beforeEach(async () => {
      ctx.opened = await factory.open();
      ctx.store = ctx.opened.store;
    });
    afterEach(async () => {
      for (const p of peers.splice(0)) await p.close();
      await ctx.store.close();
      await ctx.opened.cleanup?.();
    });
    jobSection(ctx);
    leaseSection(ctx);
    listSection(ctx);
    linkSection(ctx);
    scheduleSection(ctx);
    clusterSection(ctx);
    flowSection(ctx);
    feedSection(ctx);
    tokenSection(ctx);
  });
}
