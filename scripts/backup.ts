// `npm run backup` / `npm run restore`: the embedded default's data folder (var/) copied while certflow runs, and put
// back into a fresh data folder. README "Backups" has the procedure, PostgreSQL's included.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';

/** What this script uses of better-sqlite3 (the driver knex runs SQLite on; the project has no type package for it). */
interface SqliteConnection {
  backup(file: string, options: { progress: () => number }): Promise<unknown>;
  pragma(source: string, options: { simple: true }): unknown;
  close(): void;
}
const Database = require('better-sqlite3') as new (file: string, options?: { readonly?: boolean; fileMustExist?: boolean }) => SqliteConnection;

const USAGE = `usage: npm run backup -- [--data-dir dir] [--out dir]
         a consistent copy of the data folder while certflow runs, into <out>/certflow-backup-<UTC time>/ (mode 0700)
       npm run restore -- <backup folder> [--data-dir dir]
         the copy into a data folder that holds no certflow data yet; then npm start (same CERTFLOW_DATA_DIR)

  --data-dir  default $CERTFLOW_DATA_DIR or var
  --out       default backups`;

/**
 * The SQLite databases, in the order they are copied: Temporal's before the application's. A workflow step completed
 * between the two copies is then in the application's copy but not Temporal's, and Temporal runs it again after a
 * restore; every activity is idempotent (issuance and mails are keyed), so that re-run changes nothing. The other
 * order could restore a workflow past a step whose row the application's copy lacks.
 */
const DATABASES = ['temporal.sqlite', 'certflow.sqlite'] as const;
/** Keys and secrets kept as files: the generated secrets (CA passphrase, data key, API tokens), the TLS listener's certificate, a CA from before CAs lived in the database. */
const FILES = ['dev-secrets.json'] as const;
const FOLDERS = ['tls', 'ca'] as const;
const MANIFEST = 'manifest.json';

interface Manifest {
  createdAt: string;
  dataDir: string;
  files: Array<{ path: string; bytes: number; sha256: string }>;
  notes: string[];
}

function fail(message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(2);
}

const sha256 = (file: string) => crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');

/** Every file under `dir`, relative to it. */
function filesUnder(dir: string, prefix = ''): string[] {
  return fs.readdirSync(path.join(dir, prefix), { withFileTypes: true }).flatMap((entry) => {
    const relative = path.join(prefix, entry.name);
    return entry.isDirectory() ? filesUnder(dir, relative) : entry.isFile() ? [relative] : [];
  });
}

/**
 * SQLite's online backup through a read-only connection: the copy is one snapshot of the database as of a commit,
 * however the server writes meanwhile (in WAL mode the read transaction sees its snapshot and the writer is not held
 * up; a source written by another connection between steps makes SQLite start the copy again). Copying all pages in
 * one step keeps that read transaction short and the copy from restarting.
 */
async function backupSqlite(source: string, target: string): Promise<void> {
  const db = new Database(source, { readonly: true, fileMustExist: true });
  try {
    await db.backup(target, { progress: () => 0x7fffffff });
  } finally {
    db.close();
  }
  const copy = new Database(target, { readonly: true });
  try {
    const check = copy.pragma('integrity_check', { simple: true });
    if (check !== 'ok') throw new Error(`the copy of ${source} fails SQLite's integrity check: ${String(check)}`);
  } finally {
    copy.close();
  }
}

export async function backup(dataDir: string, outDir: string, now = new Date()): Promise<{ folder: string; manifest: Manifest }> {
  if (!fs.existsSync(dataDir)) fail(`backup: no data folder ${dataDir}`);
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  const folder = path.join(outDir, `certflow-backup-${stamp}`);
  fs.mkdirSync(outDir, { recursive: true });
  fs.mkdirSync(folder, { mode: 0o700 });
  const notes: string[] = [];
  const copied: string[] = [];
  for (const name of DATABASES) {
    const source = path.join(dataDir, name);
    if (!fs.existsSync(source)) {
      notes.push(`${name}: not in the data folder (${name === 'certflow.sqlite' ? 'PostgreSQL or CERTFLOW_DB_URL elsewhere: pg_dump it, README "Backups"' : 'an external Temporal: back up its database'})`);
      continue;
    }
    await backupSqlite(source, path.join(folder, name));
    copied.push(name);
  }
  for (const name of FILES) {
    if (!fs.existsSync(path.join(dataDir, name))) continue;
    fs.copyFileSync(path.join(dataDir, name), path.join(folder, name));
    copied.push(name);
  }
  for (const name of FOLDERS) {
    if (!fs.existsSync(path.join(dataDir, name))) continue;
    for (const file of filesUnder(path.join(dataDir, name))) {
      const relative = path.join(name, file);
      fs.mkdirSync(path.dirname(path.join(folder, relative)), { recursive: true, mode: 0o700 });
      fs.copyFileSync(path.join(dataDir, relative), path.join(folder, relative));
      copied.push(relative);
    }
  }
  for (const file of copied) fs.chmodSync(path.join(folder, file), 0o600);
  const manifest: Manifest = {
    createdAt: now.toISOString(),
    dataDir,
    files: copied.map((file) => ({ path: file, bytes: fs.statSync(path.join(folder, file)).size, sha256: sha256(path.join(folder, file)) })),
    notes,
  };
  fs.writeFileSync(path.join(folder, MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`, { mode: 0o600 });
  return { folder, manifest };
}

export function restore(folder: string, dataDir: string): Manifest {
  const manifestFile = path.join(folder, MANIFEST);
  if (!fs.existsSync(manifestFile)) fail(`restore: ${folder} is not a certflow backup (no ${MANIFEST})`);
  const manifest = JSON.parse(fs.readFileSync(manifestFile, 'utf8')) as Manifest;
  // Restoring over live data would mix two histories: the target must hold none of it.
  const present = [...DATABASES, ...FILES, ...FOLDERS].filter((name) => fs.existsSync(path.join(dataDir, name)));
  if (present.length) fail(`restore: ${dataDir} already holds ${present.join(', ')}; restore into a fresh data folder (move this one aside)`);
  for (const file of manifest.files) {
    if (sha256(path.join(folder, file.path)) !== file.sha256) fail(`restore: ${file.path} in ${folder} is not the file the backup wrote (its SHA-256 differs)`);
  }
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  fs.chmodSync(dataDir, 0o700);
  for (const file of manifest.files) {
    const target = path.join(dataDir, file.path);
    fs.mkdirSync(path.dirname(target), { recursive: true, mode: 0o700 });
    fs.copyFileSync(path.join(folder, file.path), target);
    fs.chmodSync(target, 0o600);
  }
  return manifest;
}

async function main(): Promise<void> {
  const [command, ...rest] = process.argv.slice(2);
  const { positionals, values } = parseArgs({ args: rest, allowPositionals: true, options: { 'data-dir': { type: 'string' }, out: { type: 'string' }, help: { type: 'boolean' } } });
  const dataDir = path.resolve(values['data-dir'] ?? process.env.CERTFLOW_DATA_DIR ?? 'var');
  if (values.help) return void process.stdout.write(`${USAGE}\n`);
  if (command === 'backup' && positionals.length === 0) {
    const { folder, manifest } = await backup(dataDir, path.resolve(values.out ?? 'backups'));
    process.stdout.write(`backed up ${dataDir} to ${folder}:\n${manifest.files.map((f) => `  ${f.path} (${f.bytes} bytes)`).join('\n')}\n`);
    for (const note of manifest.notes) process.stdout.write(`  not copied: ${note}\n`);
    return;
  }
  if (command === 'restore' && positionals.length === 1) {
    const manifest = restore(path.resolve(positionals[0]!), dataDir);
    process.stdout.write(`restored the backup of ${manifest.createdAt} into ${dataDir}; start certflow with CERTFLOW_DATA_DIR=${dataDir}\n`);
    return;
  }
  fail(USAGE);
}

if (require.main === module) {
  main().catch((err: Error) => {
    process.stderr.write(`${err.message}\n`);
    process.exit(1);
  });
}
