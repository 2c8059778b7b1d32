// What the support API answers, as zod schemas of the values the routes return: the OpenAPI document's response
// schemas (a Date is sent as an ISO date-time string). Objects are strict in the document, so a field the schema
// does not name (a password hash, say) fails the contract test.
import { z } from 'zod';
import { MAIL_KINDS } from '../../engines/mail';
import { CERTIFICATE_STATES, PROFILES, REQUEST_STATUSES, REVOCATION_REASONS, type RequestKind, type RequestStatus } from '../../workflows/definitions';
import { component } from './contract';
import { REQUEST_ID, USER_ID } from './schemas';

// A Record so that a kind added to RequestKind and not here fails to compile.
const KINDS: Record<RequestKind, true> = { new: true, renewal: true, reissue: true };

const userId = z.string().regex(USER_ID);
const requestId = z.string().regex(REQUEST_ID);
const profile = component('Profile', z.enum(PROFILES));
const requestStatus = component('RequestStatus', z.enum(REQUEST_STATUSES as [RequestStatus, ...RequestStatus[]]));
const revocationReason = component('RevocationReason', z.enum(REVOCATION_REASONS).describe('RFC 5280 CRLReason'));
const requestKind = z.enum(Object.keys(KINDS) as [RequestKind, ...RequestKind[]]);
const isoString = z.iso.datetime({ offset: true });

export const certificateStatusSchema = component(
  'CertificateStatus',
  z
    .object({
      requestId,
      profile,
      userId,
      kind: requestKind,
      state: z.enum(CERTIFICATE_STATES),
      guideExpiresAt: isoString,
      downloadDeadline: isoString.optional(),
      serial: z.string().optional(),
      notBefore: isoString.optional(),
      notAfter: isoString.optional(),
      revocationReason: revocationReason.optional(),
      predecessorWorkflowId: z.string().optional(),
      successorWorkflowId: z.string().optional(),
      renewalNoticesSent: z.array(z.number().int()),
      refusalReason: z.string().optional().describe('why a relying portal would refuse this certificate now; absent when it would admit it'),
    })
    .describe("the certificate workflow's own status (its status query)"),
);

export const requestViewSchema = component(
  'Request',
  z
    .object({
      requestId,
      userId,
      profile,
      kind: requestKind,
      workflowId: z.string(),
      status: requestStatus,
      predecessorRequestId: requestId.optional(),
      successorRequestId: requestId.optional(),
      serial: z.string().optional(),
      guideExpiresAt: z.date().optional(),
      downloadDeadline: z.date().optional(),
      notBefore: z.date().optional(),
      notAfter: z.date().optional(),
      revocationReason: revocationReason.optional(),
      createdAt: z.date(),
      updatedAt: z.date(),
      enrollmentPasswordSet: z.boolean().describe('whether an enrollment password is set; the hash never leaves the database'),
    })
    .describe('a request as the projection (the database) holds it'),
);

export const requestWithLiveSchema = component(
  'RequestWithLive',
  requestViewSchema.extend({ live: certificateStatusSchema.optional().describe('while the workflow runs') }),
);

export const userViewSchema = component(
  'User',
  z.object({
    userId,
    profile,
    email: z.string(),
    idAdminEmail: z.string(),
    organization: z.string(),
    organizationalUnits: z.array(z.string()),
    subscriberId: z.string(),
    currentRequestId: requestId.optional(),
    failedLogins: z.number().int().min(0),
    lockedUntil: z.date().optional(),
    createdAt: z.date(),
    requests: z.array(requestViewSchema),
  }),
);

export const failedMailSchema = component(
  'FailedMail',
  z.object({
    key: z.string(),
    kind: z.enum(MAIL_KINDS),
    recipient: z.string(),
    subject: z.string(),
    status: z.enum(['pending', 'sent', 'failed']).describe('always failed in this list'),
    messageId: z.string(),
    attempts: z.number().int(),
    smtpResponse: z.string().nullable(),
    lastError: z.string().nullable().describe("the relay's refusal"),
    createdAt: z.date(),
    updatedAt: z.date(),
    sentAt: z.date().nullable(),
  }),
);

export const registeredSchema = z.object({ userId, profile, requestId, workflowId: z.string() });
export const startedSchema = z.object({ requestId, workflowId: z.string() });
export const enrollmentPassword = z.string().describe('shown this once, to read out by phone; only its hash is stored');
export const reissuedSchema = startedSchema.extend({ enrollmentPassword });
export const revokedSchema = z.object({
  requestId,
  workflowId: z.string(),
  status: certificateStatusSchema,
  alsoRevokedRequestIds: z.array(requestId).describe('renewed predecessors whose certificates were still valid, revoked with it'),
});
export const unlockedSchema = z.object({ userId });
export const passwordResetSchema = z.object({ requestId, enrollmentPassword });
