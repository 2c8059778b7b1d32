// The domain over a real database, stores, CA, outbox and sealed secrets, for use-case tests without Temporal: the
// certificate gateway is a fake whose live statuses the test sets.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { CertificateGateway, DomainDeps } from '../../domain';
import { createLifecycleMailer } from '../../activities/lifecycle-mailer';
import { createMailActivities, createMailOutboxStore, createMailRenderer, createSealedSecrets, createSmtpTransport, type MailOutboxStore } from '../../engines/mail';
import { buildProfiles, createCertificateAuthority, createPkiStore, createPreviousCas } from '../../engines/pki';
import type { Db } from '../../infra/db';
import { createStores, deriveAuditKey, type Stores } from '../../stores';
import { startTestMailbox, support, type TestMailbox } from '../mail/support';
import { certificateWorkflowId, type CertificateStatus, type Profile, type RequestKind, type RequestSnapshot } from '../../workflows/definitions';

export interface DomainFixture {
  deps: DomainDeps;
  stores: Stores;
  outbox: MailOutboxStore;
  /** The SMTP listener the mail engine sends to (refuse a recipient with `mailbox.refused.add`). */
  mailbox: TestMailbox;
  /** The business clock's time; tests move it. */
  now: Date;
  /** What the fake gateway answers for a running workflow (absent: the workflow has closed). */
  live: Map<string, CertificateStatus>;
  /** A user row and its first request, with the snapshot applied when given. */
  addUser(userId: string, o?: { profile?: Profile; email?: string; organization?: string }): Promise<void>;
  addRequest(o: { userId: string; requestId: string; profile?: Profile; kind?: RequestKind; predecessorRequestId?: string; createdAt?: Date; snapshot?: Omit<RequestSnapshot, 'requestId'> }): Promise<{ workflowId: string }>;
  close(): Promise<void>;
}

export async function createDomainFixture(db: Db, now = new Date('2026-11-25T01:00:00Z')): Promise<DomainFixture> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'certflow-domain-'));
  const dataKey = crypto.randomBytes(32);
  const stores = createStores(db, { auditKey: deriveAuditKey(dataKey) });
  const profiles = buildProfiles({ publicUrl: 'https://certflow.example.jp' });
  const ca = createCertificateAuthority({ store: createPkiStore(db), caDir: path.join(dir, 'ca'), caPassphrase: 'domain fixture passphrase', dataKey, profiles });
  await ca.ensureCas(now);
  const outbox = createMailOutboxStore(db);
  const sealedSecrets = createSealedSecrets({ db, dataKey });
  const mailbox = await startTestMailbox();
  const transport = createSmtpTransport({ host: '127.0.0.1', port: mailbox.port, secure: false });
  const mail = createMailActivities({ outbox, secrets: sealedSecrets, transport, renderer: await createMailRenderer(), from: 'certflow@certflow.example.jp', support });
  const mailer = createLifecycleMailer({ sendMail: mail.sendMail, profiles, publicUrl: 'https://certflow.example.jp', tlsPublicUrl: 'https://certflow.example.jp:8443' });
  const live = new Map<string, CertificateStatus>();
  const unused = (name: string) => () => Promise.reject(new Error(`the domain fixture's gateway does not ${name}`));
  const certificates: CertificateGateway = {
    start: unused('start'),
    update: unused('update') as CertificateGateway['update'],
    withSuccessor: unused('withSuccessor') as CertificateGateway['withSuccessor'],
    confirmDownload: unused('confirmDownload'),
    liveStatus: async (workflowId) => live.get(workflowId),
    currentState: async (request) => live.get(request.workflowId)?.state ?? (await stores.requests.find(request.requestId))?.status,
  };
  const fixture: DomainFixture = {
    stores,
    outbox,
    mailbox,
    now,
    live,
    deps: {
      stores,
      certificates,
      importWorkflows: { start: unused('start'), liveProgress: async () => undefined },
      ca,
      previousCas: createPreviousCas(db),
      profiles,
      sealedSecrets,
      mailOutbox: outbox,
      mailer,
      clock: () => fixture.now,
      dataKey,
    },
    async addUser(userId, o = {}) {
      await stores.users.insert({
        userId,
        profile: o.profile ?? 'kdanshinnet',
        email: o.email ?? `${userId}@bank.example.co.jp`,
        idAdminEmail: `id-admin.${userId}@bank.example.co.jp`,
        organization: o.organization ?? 'sampleCompany',
        organizationalUnits: ['div1-1-1', 'div1-1', 'div1'],
        subscriberId: `S-${userId}`,
        createdAt: fixture.now,
      });
    },
    async addRequest(o) {
      const profile = o.profile ?? 'kdanshinnet';
      const workflowId = certificateWorkflowId(profile, o.requestId);
      await stores.requests.insert(
        { requestId: o.requestId, userId: o.userId, profile, kind: o.kind ?? 'new', workflowId, predecessorRequestId: o.predecessorRequestId },
        o.createdAt ?? fixture.now,
      );
      if (o.snapshot) await stores.requests.applySnapshot({ requestId: o.requestId, ...o.snapshot }, o.createdAt ?? fixture.now);
      await stores.users.setCurrentRequest(o.userId, profile, o.requestId);
      return { workflowId };
    },
    async close() {
      transport.close();
      await mailbox.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  return fixture;
}

/** A certificate really signed by the fixture's CA for a request, as the issuance activity does. */
export async function issueFor(f: DomainFixture, o: { userId: string; requestId: string; profile?: Profile; notBefore: Date; notAfter: Date }) {
  const profile = o.profile ?? 'kdanshinnet';
  return f.deps.ca.issue({
    requestId: o.requestId,
    profile,
    userId: o.userId,
    organizationalUnits: ['div1-1-1', 'div1-1', 'div1'],
    organization: 'sampleCompany',
    country: 'JP',
    email: `${o.userId}@bank.example.co.jp`,
    subscriberId: `S-${o.userId}`,
    notBefore: o.notBefore,
    notAfter: o.notAfter,
  });
}
