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
  fs.mkdirSync(POLICY_DIR, { recursive: true });
  const file = path.join(POLICY_DIR, `certflow-test-${process.pid}.json`);
  const rule = JSON.stringify({ pattern: tlsUrl, filter: { ISSUER: { CN: issuerCommonName } } });
  fs.writeFileSync(file, JSON.stringify({ AutoSelectCertificateForUrls: [rule] }));
  return () => fs.rmSync(file, { force: true });
}

/** Several AutoSelectCertificateForUrls rules at once, e.g. one client certificate per host name of the same listener. */
export function installAutoSelectPolicies(rules: Array<{ url: string; issuerCommonName: string; subjectCommonName?: string }>): () => void {
  fs.mkdirSync(POLICY_DIR, { recursive: true });
  const file = path.join(POLICY_DIR, `certflow-test-${process.pid}.json`);
  const encoded = rules.map((r) =>
    JSON.stringify({ pattern: r.url, filter: { ISSUER: { CN: r.issuerCommonName }, ...(r.subjectCommonName ? { SUBJECT: { CN: r.subjectCommonName } } : {}) } }),
  );
  fs.writeFileSync(file, JSON.stringify({ AutoSelectCertificateForUrls: encoded }));
  return () => fs.rmSync(file, { force: true });
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
