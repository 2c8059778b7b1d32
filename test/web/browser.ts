// Debian's Chromium driven by playwright-core, with its own HOME (NSS database) and a managed policy that
// auto-selects certflow's client certificates for the TLS listener.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
const POLICY_DIR = '/etc/chromium/policies/managed';

/** Installs Debian's chromium and NSS tools when missing (scripts/setup.sh --test does the same). */
export function ensureBrowserTools(): void {
  const missing = [CHROMIUM, '/usr/bin/certutil', '/usr/bin/pk12util'].filter((f) => !fs.existsSync(f));
  if (missing.length === 0) return;
  execFileSync('apt-get', ['install', '-y', '--no-install-recommends', 'chromium', 'libnss3-tools'], { stdio: 'inherit' });
}

export interface TestBrowser {
  home: string;
  nssDb: string;
  browser: Browser;
  context: BrowserContext;
  close(): Promise<void>;
}

/** The NSS database Chromium on Linux reads client certificates from: $HOME/.pki/nssdb. */
export function createNssDb(home: string): string {
  const nssDb = path.join(home, '.pki', 'nssdb');
  fs.mkdirSync(nssDb, { recursive: true });
  execFileSync('certutil', ['-N', '--empty-password', '-d', `sql:${nssDb}`]);
  return nssDb;
}

export function importPkcs12(nssDb: string, file: string, password: string): void {
  execFileSync('pk12util', ['-i', file, '-d', `sql:${nssDb}`, '-W', password], { stdio: 'pipe' });
}

/** Writes the AutoSelectCertificateForUrls policy for the listener; returns the function that removes it. */
export function installAutoSelectPolicy(tlsUrl: string, issuerCommonName: string): () => void {
  return installAutoSelectPolicies([{ url: tlsUrl, issuerCommonName }]);
}

// Chromium takes one AutoSelectCertificateForUrls value from the policy folder however many files set it, so every test
// process (jest's workers, another run on the machine) keeps its rules in one shared file, each under its PID.
const SHARED_POLICY = path.join(POLICY_DIR, 'certflow-test.json');
// Beside the policy folder, not in it: Chromium would read any file there.
const SHARED_RULES = path.join(os.tmpdir(), 'certflow-chromium-policy-rules.json');
const POLICY_LOCK = path.join(os.tmpdir(), 'certflow-chromium-policy.lock');

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Changes this process's rules in the shared file under a lock (a directory: mkdir is atomic); dead processes' rules go. */
function updateSharedRules(own: string[] | undefined): void {
  fs.mkdirSync(POLICY_DIR, { recursive: true });
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      fs.mkdirSync(POLICY_LOCK);
      break;
    } catch {
      // A lock older than the deadline was left by a killed process.
      if (Date.now() > deadline) fs.rmSync(POLICY_LOCK, { recursive: true, force: true });
      else Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
    }
  }
  try {
    const byPid = (fs.existsSync(SHARED_RULES) ? JSON.parse(fs.readFileSync(SHARED_RULES, 'utf8')) : {}) as Record<string, string[]>;
    for (const pid of Object.keys(byPid)) if (!alive(Number(pid))) delete byPid[pid];
    if (own) byPid[process.pid] = own;
    else delete byPid[process.pid];
    fs.writeFileSync(SHARED_RULES, JSON.stringify(byPid));
    // Written aside and renamed: Chromium, watching the folder, never reads half a file.
    const next = path.join(os.tmpdir(), `certflow-test-policy-${process.pid}.json`);
    fs.writeFileSync(next, JSON.stringify({ AutoSelectCertificateForUrls: Object.values(byPid).flat() }));
    fs.copyFileSync(next, `${SHARED_POLICY}.tmp`);
    fs.renameSync(`${SHARED_POLICY}.tmp`, SHARED_POLICY);
    fs.rmSync(next, { force: true });
  } finally {
    fs.rmSync(POLICY_LOCK, { recursive: true, force: true });
  }
}

/** Several AutoSelectCertificateForUrls rules at once, e.g. one client certificate per host name of the same listener. */
export function installAutoSelectPolicies(rules: Array<{ url: string; issuerCommonName: string; subjectCommonName?: string }>): () => void {
  const encoded = rules.map((r) =>
    JSON.stringify({ pattern: r.url, filter: { ISSUER: { CN: r.issuerCommonName }, ...(r.subjectCommonName ? { SUBJECT: { CN: r.subjectCommonName } } : {}) } }),
  );
  updateSharedRules(encoded);
  return () => updateSharedRules(undefined);
}

export async function launchChromium(home = fs.mkdtempSync(path.join(os.tmpdir(), 'certflow-chromium-home-'))): Promise<TestBrowser> {
  const nssDb = fs.existsSync(path.join(home, '.pki', 'nssdb')) ? path.join(home, '.pki', 'nssdb') : createNssDb(home);
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    env: { ...process.env, HOME: home },
  });
  const context = await browser.newContext({ ignoreHTTPSErrors: true, acceptDownloads: true, locale: 'ja-JP' });
  return {
    home,
    nssDb,
    browser,
    context,
    async close() {
      await context.close();
      await browser.close();
    },
  };
}
