// The key pool: key pairs generated ahead of key retrieval, so Submit does not wait for an RSA key. The pool lives in
// the database (every worker process shares it), each key sealed like a waiting key and claimed by one issuance only;
// worker processes refill it in the background at low priority, never beyond its size.
import { createPublicKey, randomUUID } from 'node:crypto';
import type { Logger } from '../../infra/logger';
import { startBackgroundKeyGenerator, type BackgroundKeyGenerator } from './background-keygen';
import type { KeyPair } from './key-generation';
import type { KeyAlgorithm } from './profiles';
import { openPooledKey, sealPooledKey } from './sealed-key';
import type { PkiStore } from './store';

export interface KeyPoolOptions {
  store: Pick<PkiStore, 'addPooledKey' | 'claimPooledKey' | 'countPooledKeys'>;
  /** config.dataKey: seals the waiting keys as it seals issued ones. */
  dataKey: Buffer;
  /** config.keyPool.size: unclaimed keys per algorithm the refill keeps; 0, no refill (keys already pooled are used up). */
  size: number;
  /** The key algorithms the profiles issue with. */
  algorithms: readonly KeyAlgorithm[];
  /** How often a started pool looks for keys other processes claimed (default 30 s); its own claims refill at once. */
  refillIntervalMs?: number;
}

export interface KeyPool {
  /**
   * The key pair of this issuance from the pool: the one it claimed before (a retried activity gets the same key),
   * else an unclaimed one, claimed now. Undefined when the pool has none: the caller generates the key.
   */
  claim(algorithm: KeyAlgorithm, issuanceKey: string): Promise<KeyPair | undefined>;
  /** Tops every algorithm up to the size, one key at a time in the low-priority thread; resolves with the keys added. */
  refill(): Promise<number>;
  /** Refills now, after each claim here and every refillIntervalMs, logging to `logger`, until stop(). Worker processes only. */
  start(logger?: Logger): void;
  stop(): Promise<void>;
}

export function createKeyPool(o: KeyPoolOptions): KeyPool {
  const { store, dataKey, size, algorithms } = o;
  let generator: BackgroundKeyGenerator | undefined;
  let running: Promise<number> | undefined;
  let again = false;
  let started = false;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let logger: Logger | undefined;
  let drained = false;
  let watched: Promise<number> | undefined;

  const waiting = async (algorithm: KeyAlgorithm) => (await store.countPooledKeys())[algorithm] ?? 0;

  async function topUp(): Promise<number> {
    let added = 0;
    for (const algorithm of new Set(algorithms)) {
      // Counted again before each key: other processes claim and refill meanwhile.
      while (!stopped && (await waiting(algorithm)) < size) {
        const thread = (generator ??= startBackgroundKeyGenerator());
        const privateKey = await thread.generate(algorithm).catch(async (err: unknown) => {
          // A thread that failed is replaced at the next refill rather than failing every one after it.
          if (generator === thread) generator = undefined;
          await thread.close();
          throw err;
        });
        const id = randomUUID();
        const sealedKey = sealPooledKey(dataKey, id, privateKey);
        if (!(await store.addPooledKey({ id, keyAlgorithm: algorithm, sealedKey, createdAt: new Date() }, size))) break;
        added += 1;
      }
    }
    return added;
  }

  function refill(): Promise<number> {
    if (running) {
      again = true;
      return running;
    }
    const startedAt = Date.now();
    running = (async () => {
      let added = 0;
      do {
        again = false;
        added += await topUp();
      } while (again && !stopped);
      if (added > 0) logger?.info({ added, pooled: await store.countPooledKeys(), ms: Date.now() - startedAt }, 'key pool refilled');
      return added;
    })().finally(() => (running = undefined));
    return running;
  }

  function schedule(): void {
    if (!started || stopped || size === 0) return;
    // Every caller of a running refill shares its promise: report its failure once, and not the one stop() causes.
    const current = refill();
    if (current === watched) return;
    watched = current;
    current.catch((err: unknown) => {
      if (!stopped) logger?.error({ err }, 'key pool refill failed; it is tried again later');
    });
  }

  return {
    async claim(algorithm, issuanceKey) {
      const pooled = await store.claimPooledKey(algorithm, issuanceKey, new Date());
      schedule();
      if (!pooled) {
        if (!drained && started) logger?.warn({ algorithm }, 'key pool empty: keys are generated on demand until it is refilled');
        drained = true;
        return undefined;
      }
      drained = false;
      const privateKey = openPooledKey(dataKey, pooled.id, pooled.sealedKey);
      return { privateKey, publicKey: createPublicKey(privateKey) };
    },
    refill,
    start(log) {
      if (started || size === 0) return;
      started = true;
      logger = log;
      timer = setInterval(schedule, o.refillIntervalMs ?? 30_000);
      timer.unref();
      schedule();
    },
    async stop() {
      stopped = true;
      clearInterval(timer);
      // Closing the thread first ends a key in progress; the refill waiting for it then stops.
      await generator?.close();
      await running?.catch(() => undefined);
    },
  };
}
