// Key generation for the key pool in a thread of its own at the lowest CPU priority, one key at a time, so a refill
// never takes a core from activities, web requests or a key a user is waiting for.
import { createPrivateKey, type KeyObject } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import { KEY_PARAMETERS } from './key-generation';
import type { KeyAlgorithm } from './profiles';

// Plain JavaScript evaluated in the thread (no TypeScript loader there). Linux nice values are per thread: the thread
// lowers its own through its TID (/proc/thread-self); elsewhere it stays at normal priority.
const THREAD_SOURCE = `
const { parentPort } = require('node:worker_threads');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
let niced = false;
try { os.setPriority(Number(fs.readlinkSync('/proc/thread-self').split('/').pop()), 19); niced = true; } catch {}
parentPort.postMessage({ niced });
parentPort.on('message', ({ id, type, options }) => {
  try {
    const der = crypto.generateKeyPairSync(type, options).privateKey.export({ format: 'der', type: 'pkcs8' });
    parentPort.postMessage({ id, der });
    der.fill(0);
  } catch (err) {
    parentPort.postMessage({ id, error: String((err && err.message) || err) });
  }
});
`;

export interface BackgroundKeyGenerator {
  generate(algorithm: KeyAlgorithm): Promise<KeyObject>;
  /** Whether the thread runs at the lowest priority (false where the OS would not let it). */
  lowPriority: Promise<boolean>;
  close(): Promise<void>;
}

export function startBackgroundKeyGenerator(): BackgroundKeyGenerator {
  const thread = new Worker(THREAD_SOURCE, { eval: true });
  // The refill never keeps a process alive that has finished everything else.
  thread.unref();
  const pending = new Map<number, { resolve(key: KeyObject): void; reject(err: Error): void }>();
  let nextId = 0;
  let failure: Error | undefined;
  let reportPriority: (niced: boolean) => void;
  const lowPriority = new Promise<boolean>((resolve) => (reportPriority = resolve));

  const failAll = (err: Error) => {
    failure = err;
    reportPriority(false);
    for (const { reject } of pending.values()) reject(err);
    pending.clear();
  };
  thread.on('message', (message: { niced?: boolean; id?: number; der?: Uint8Array; error?: string }) => {
    if (message.id === undefined) return reportPriority(message.niced === true);
    const waiting = pending.get(message.id);
    pending.delete(message.id);
    if (!waiting) return;
    if (message.error || !message.der) return waiting.reject(new Error(`key generation failed: ${message.error}`));
    const der = Buffer.from(message.der.buffer, message.der.byteOffset, message.der.byteLength);
    try {
      waiting.resolve(createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }));
    } finally {
      der.fill(0);
    }
  });
  thread.on('error', failAll);
  thread.on('exit', () => failAll(failure ?? new Error('the key generation thread has stopped')));

  return {
    generate(algorithm) {
      if (failure) return Promise.reject(failure);
      const [type, options] = KEY_PARAMETERS[algorithm];
      const id = nextId++;
      return new Promise((resolve, reject) => {
        pending.set(id, { resolve, reject });
        thread.postMessage({ id, type, options });
      });
    },
    lowPriority,
    async close() {
      await thread.terminate();
    },
  };
}
