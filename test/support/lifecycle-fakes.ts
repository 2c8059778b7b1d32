// Test doubles for the workflow's outer ports: a CA that counts signatures and a mailer that records deliveries.
// Both fail on demand, so retries can be proven to yield exactly one certificate and one mail.
import type { IssuingAuthority, LifecycleMailer } from '../../activities/certificate-activities';
import type { LifecycleMail } from '../../workflows/definitions';

export class CountingCa implements IssuingAuthority {
  issued = new Map<string, { serial: string; notBefore: Date; notAfter: Date }>();
  signatures = 0;
  destroyedKeys: string[] = [];
  revoked: Array<{ serial: string; reason: string; revokedAt: Date }> = [];
  /** The next n calls sign (or find) the certificate and then lose the answer, as a timed-out activity would. */
  loseNextAnswers = 0;
  private nextSerial = 1;

  async issue(r: Parameters<IssuingAuthority['issue']>[0]) {
    let cert = this.issued.get(r.issuanceKey);
    if (!cert) {
      this.signatures += 1;
      cert = { serial: (this.nextSerial++).toString(16).padStart(16, '0'), notBefore: r.notBefore, notAfter: r.notAfter };
      this.issued.set(r.issuanceKey, cert);
    }
    if (this.loseNextAnswers > 0) {
      this.loseNextAnswers -= 1;
      throw new Error('signing service timed out');
    }
    return cert;
  }
  async destroyKey(key: string) {
    if (!this.destroyedKeys.includes(key)) this.destroyedKeys.push(key);
  }
  async revoke(r: { serial: string; reason: string; revokedAt: Date }) {
    if (!this.revoked.some((x) => x.serial === r.serial)) this.revoked.push(r);
  }
}

export interface RecordedMail {
  key: string;
  to: string;
  requestId: string;
  kind: LifecycleMail['kind'];
  mail: LifecycleMail;
  at: number;
}

export class RecordingMailer implements LifecycleMailer {
  delivered: RecordedMail[] = [];
  failNextSends = 0;
  constructor(private readonly clock: () => number = Date.now) {}

  async send(d: Parameters<LifecycleMailer['send']>[0]) {
    if (this.failNextSends > 0) {
      this.failNextSends -= 1;
      throw new Error('SMTP connection refused');
    }
    if (!this.delivered.some((m) => m.key === d.key)) {
      this.delivered.push({ key: d.key, to: d.to, requestId: d.requestId, kind: d.mail.kind, mail: d.mail, at: this.clock() });
    }
    return { status: 'sent' as const };
  }
  kinds(requestId: string): string[] {
    return this.delivered.filter((m) => m.requestId === requestId).map((m) => m.kind);
  }
}
