// Shared set-up for the PKI tests: a temp SQLite file (where the CAs live) and legacy CA folder per test file, and the
// real consumers' CLIs.
import crypto from 'node:crypto';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { createDb, migrateToLatest, type Db } from '../../infra/db';
import { buildProfiles, createCertificateAuthority, createPkiStore, type PkiStore, type ProfileOverrides } from '../../engines/pki';
import type { Profile } from '../../workflows/definitions';

const exec = promisify(execFile);

export const CA_PASSPHRASE = 'test passphrase for the CA keys';
export const NOW = new Date('2026-11-25T01:00:00Z');
export const THREE_YEARS_LATER = new Date('2029-11-25T01:00:00Z');

export interface PkiFixture {
  dir: string;
  db: Db;
  /** The PKI store over `db`, shared by every authority the fixture builds. */
  store: PkiStore;
  dataKey: Buffer;
  caDir: string;
  authority(overrides?: ProfileOverrides): ReturnType<typeof createCertificateAuthority>;
  /** A PKI store over a new, migrated, empty database in the fixture's folder (closed with the fixture): no CA yet. */
  emptyStore(): Promise<PkiStore>;
  close(): Promise<void>;
}

export async function createPkiFixture(name: string): Promise<PkiFixture> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `certflow-${name}-`));
  const db = createDb({ client: 'sqlite', connection: path.join(dir, 'certflow.sqlite') });
  await migrateToLatest(db);
  const dataKey = crypto.randomBytes(32);
  const caDir = path.join(dir, 'ca');
  const store = createPkiStore(db);
  const others: Db[] = [];
  return {
    dir,
    db,
    store,
    dataKey,
    caDir,
    authority: (overrides = {}) =>
      createCertificateAuthority({
        store,
        caDir,
        caPassphrase: CA_PASSPHRASE,
        dataKey,
        profiles: buildProfiles({ publicUrl: 'https://certflow.example.jp', overrides: { kdanshinnet: overrides, nissay: overrides, operators: overrides } }),
      }),
    async emptyStore() {
      const other = createDb({ client: 'sqlite', connection: path.join(dir, `empty-${others.length}.sqlite`) });
      others.push(other);
      await migrateToLatest(other);
      return createPkiStore(other);
    },
    async close() {
      for (const other of others) await other.destroy();
      await db.destroy();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function subjectOf(userId: string, profile: Profile = 'kdanshinnet') {
  return {
    profile,
    userId,
    organizationalUnits: ['div1-1-1', 'div1-1', 'div1'],
    organization: 'sampleCompany',
    country: 'JP',
    email: `email.${userId}@sampleCompany.com`,
    subscriberId: userId,
  };
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a consumer CLI; never throws on a non-zero exit so tests can assert refusals. */
export async function run(command: string, args: string[], options: { cwd?: string } = {}): Promise<RunResult> {
  try {
    const { stdout, stderr } = await exec(command, args, { cwd: options.cwd, encoding: 'utf8', maxBuffer: 16 << 20 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

export function write(dir: string, name: string, content: string | Buffer): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, content);
  return file;
}
