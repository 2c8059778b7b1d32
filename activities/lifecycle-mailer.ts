// Turns the workflow's lifecycle events into the mail module's requests: recipients, links and service names.
import type { CertificateProfile } from '../engines/pki';
import type { MailRequest, SendMailResult } from '../engines/mail';
import type { LifecycleMailer } from './certificate-activities';
import type { Profile } from '../workflows/definitions';

export interface LifecycleMailerDeps {
  sendMail(request: MailRequest): Promise<SendMailResult>;
  profiles: Record<Profile, CertificateProfile>;
  /** Where users log in to retrieve their key (plain HTTPS/HTTP). */
  publicUrl: string;
  /** Where renewal runs under TLS client authentication. */
  tlsPublicUrl: string;
}

export function enrollmentUrl(publicUrl: string, profile: Profile): string {
  return `${publicUrl}/enroll/${profile}/login`;
}

export function renewalUrl(tlsPublicUrl: string, profile: Profile): string {
  return `${tlsPublicUrl}/renew/${profile}/`;
}

export function createLifecycleMailer({ sendMail, profiles, publicUrl, tlsPublicUrl }: LifecycleMailerDeps): LifecycleMailer {
  return {
    async send({ key, to, user, requestId, mail }) {
      const profile = profiles[user.profile];
      const base = { key, to, service: { serviceName: profile.serviceName, subjectPrefix: profile.mailSubjectPrefix } };
      const acquisitionUrl = enrollmentUrl(publicUrl, user.profile);
      const request: MailRequest = (() => {
        switch (mail.kind) {
          case 'userIdNotice':
            return { ...base, kind: mail.kind, params: { userId: user.userId, userEmail: user.email } };
          case 'enrollmentPassword':
            return { ...base, kind: mail.kind, params: { enrollmentPasswordRef: mail.passwordRef } };
          case 'acquisitionGuide':
            return { ...base, kind: mail.kind, params: { acquisitionUrl, requestId, userId: user.userId, validUntil: mail.guideExpiresAt } };
          case 'reissueReady':
            return { ...base, kind: mail.kind, params: { acquisitionUrl, requestId, validUntil: mail.guideExpiresAt } };
          case 'renewalNotice':
            return {
              ...base,
              kind: mail.kind,
              params: {
                renewalUrl: renewalUrl(tlsPublicUrl, user.profile),
                userId: user.userId,
                notBefore: mail.notBefore,
                notAfter: mail.notAfter,
                daysLeft: mail.daysBefore,
              },
            };
          case 'requestExpired':
            return { ...base, kind: mail.kind, params: { requestId, userId: user.userId, expiredAt: mail.expiredAt } };
          case 'certificateRevoked':
            return { ...base, kind: mail.kind, params: { userId: user.userId, requestId, reason: mail.reason, revokedAt: mail.revokedAt } };
          case 'loginAttempts':
            return { ...base, kind: mail.kind, params: { userId: user.userId, failures: mail.failures, at: mail.at } };
        }
      })();
      const result = await sendMail(request);
      return { status: result.status };
    },
  };
}
