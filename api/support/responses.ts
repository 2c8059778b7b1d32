// What the support API answers, as zod schemas of the values the routes return: the OpenAPI document's response
// schemas (a Date is sent as an ISO date-time string). Objects are strict in the document, so a field the schema
// does not name (a password hash, say) fails the contract test.
import { z } from 'zod';
import { MAIL_KINDS } from '../../engines/mail';
import { CERTIFICATE_STATES, PROFILES, REQUEST_STATUSES, REVOCATION_REASONS, type RequestKind, type RequestStatus } from '../../workflows/definitions';
import { IMPORT_KINDS } from '../../workflows/import-definitions';
import { component } from './contract';
import { REQUEST_ID, USER_ID } from './schemas';

// A Record so that a kind added to RequestKind and not here fails to compile.
const KINDS: Record<RequestKind, true> = { new: true, renewal: true, reissue: true, imported: true };

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

// ---- the support console's finds, lists, timeline, diagnosis and resend ----

const searchRowSchema = component(
  'SupportRow',
  z
    .object({
      userId,
      profile,
      requestId,
      kind: requestKind,
      status: requestStatus,
      serial: z.string().optional(),
      notBefore: z.date().optional(),
      notAfter: z.date().optional(),
      guideExpiresAt: z.date().optional(),
      createdAt: z.date(),
      email: z.string(),
      organization: z.string(),
    })
    .describe('a request with the user fields a result list shows'),
);
export const supportRowsSchema = component('SupportRows', z.array(searchRowSchema));

export const auditEntrySchema = component(
  'AuditEntry',
  z.object({
    id: z.number().int(),
    at: z.date(),
    agent: z.string(),
    role: z.string(),
    action: z.string().describe('the operationId of the call, e.g. reissue, resendMail'),
    target: z.string().describe('e.g. `user:emp002`, `request:202611250000001`, `mail:<key>`, `operator:<agentId>`'),
    outcome: z.enum(['ok', 'rejected', 'failed']),
    detail: z.record(z.string(), z.unknown()).optional().describe('IDs and reasons (a refusal: its status and reason); never a password'),
  }),
);

const mailKind = z.enum(MAIL_KINDS);
const successorSchema = z.object({ requestId, kind: requestKind, status: requestStatus });

export const profileTimelineSchema = component(
  'ProfileTimeline',
  z.object({
    profile,
    user: userViewSchema.omit({ requests: true }),
    currentRequestId: requestId.optional(),
    requests: z
      .array(
        z.object({
          requestId,
          kind: requestKind,
          status: requestStatus,
          workflowId: z.string(),
          createdAt: z.date(),
          guideExpiresAt: z.date().optional(),
          downloadDeadline: z.date().optional(),
          serial: z.string().optional(),
          notBefore: z.date().optional(),
          notAfter: z.date().optional(),
          revokedAt: z.date().optional(),
          revocationReason: revocationReason.optional(),
          predecessorRequestId: requestId.optional(),
          successorRequestId: requestId.optional(),
          mails: z.array(
            z.object({
              key: z.string(),
              event: z.string().describe('the event part of the outbox key, e.g. `acquisition-guide`, `acquisition-guide:resend`'),
              kind: mailKind,
              recipient: z.string(),
              status: z.enum(['pending', 'unconfirmed', 'sent', 'failed']).describe('unconfirmed: the body went out and the relay never answered; it may have arrived'),
              attempts: z.number().int(),
              lastError: z.string().nullable(),
              createdAt: z.date(),
              sentAt: z.date().nullable(),
            }),
          ),
        }),
      )
      .describe('oldest first: new → renewal → reissue …'),
    audit: z.array(auditEntrySchema).describe('about the user or one of these requests, newest first'),
    portal: z
      .union([
        z.object({ admitted: z.literal(true), serial: z.string(), requestId }),
        z.object({ admitted: z.literal(false), reason: z.string(), requestId: requestId.optional() }),
      ])
      .describe('would a relying portal admit the user now, with which certificate, or why not'),
  }),
);

export const diagnosisSchema = component(
  'Diagnosis',
  z.object({
    serial: z.string(),
    subject: z.string(),
    issuer: z.string(),
    notBefore: z.date(),
    notAfter: z.date(),
    issuedBy: z.union([z.object({ profile }), z.literal('notIssuedByCertflow')]).describe("which certflow CA signed it, or none of them"),
    owner: z
      .object({ userId, profile, requestId, kind: requestKind.optional(), status: requestStatus.optional(), workflowId: z.string().optional() })
      .optional()
      .describe("the user and request it was issued for, from the CA's records"),
    verdict: z
      .union([
        z.object({ admitted: z.literal(true), reason: z.string(), supersededBy: successorSchema.optional().describe('a renewal: this certificate still serves until its notAfter') }),
        z.object({
          admitted: z.literal(false),
          refusal: z.enum(['notIssuedByCertflow', 'expired', 'notYetValid', 'revoked', 'superseded']),
          reason: z.string(),
          revokedAt: z.date().optional(),
          revocationReason: revocationReason.optional(),
          supersededBy: successorSchema.optional(),
        }),
      ])
      .describe("the portal gate's verdict now, with its exact reason"),
  }),
);

export const resentMailSchema = component(
  'ResentMail',
  z.object({
    key: z.string().describe('the failed mail'),
    resendKey: z.string().describe("the resend's own outbox row"),
    kind: mailKind,
    recipient: z.string(),
    status: z.enum(['sent', 'failed']),
    reason: z.string().optional().describe('why the resend was refused too'),
    resentBy: z.string(),
  }),
);

// ---- imports (bulk registration, migration import) and previous CAs ----

const fieldProblemSchema = z.object({ field: z.string().describe('the bad field; empty for a registration refused as a whole'), message: z.string() });
const importIdString = z.string().describe('`<kind>-<SHA-256 of the file>`: the same file is the same import');

export const importReportSchema = component(
  'ImportReport',
  z
    .object({
      encoding: z.string().describe('utf-8, utf-8-bom or shift_jis'),
      total: z.number().int().describe('lines in the file, the header and blank lines aside'),
      valid: z.number().int(),
      refused: z.number().int(),
      refusedLines: z.array(z.object({ line: z.number().int(), label: z.string().optional(), errors: z.array(fieldProblemSchema) })).describe('each refused line with each bad field, in file order'),
    })
    .describe("the file's validation, every line checked before anything is imported"),
);

export const importProgressSchema = component(
  'ImportProgress',
  z.object({
    importId: importIdString,
    kind: z.enum(IMPORT_KINDS),
    status: z.enum(['running', 'finished']),
    total: z.number().int(),
    refused: z.number().int().describe('refused at validation: never imported'),
    done: z.number().int(),
    failed: z.number().int().describe('refused at registration (e.g. registered by someone else since the validation)'),
    remaining: z.number().int(),
    percent: z.number().int().min(0).max(100),
  }),
);

export const importReportOnlySchema = z.object({ importId: importIdString, started: z.literal(false), report: importReportSchema });
export const importStartedSchema = z.object({
  importId: importIdString,
  started: z.literal(true),
  existing: z.boolean().describe('the same file was imported before: this is its import, nobody is imported twice'),
  report: importReportSchema,
  progress: importProgressSchema,
});

export const importViewSchema = component(
  'Import',
  z.object({
    importId: importIdString,
    kind: z.enum(IMPORT_KINDS),
    encoding: z.string(),
    createdBy: z.string(),
    createdAt: z.date(),
    finishedAt: z.date().optional(),
    progress: importProgressSchema,
    failures: z
      .array(z.object({ line: z.number().int(), label: z.string().optional(), status: z.enum(['refused', 'failed']), errors: z.array(fieldProblemSchema) }))
      .describe('lines refused at validation or failed at registration, in file order'),
  }),
);

export const previousCaViewSchema = component(
  'PreviousCa',
  z
    .object({
      profile,
      fingerprint: z.string().describe("SHA-256 of the CA certificate's DER, hex"),
      subject: z.string(),
      notAfter: z.date(),
      crl: z.object({ thisUpdate: z.date(), revokedCount: z.number().int() }).optional().describe('the CRL registered last'),
    })
    .describe("a previous CA of the profile: the certificates imported from it are trusted for renewal only"),
);

export const importedCertificateSchema = component(
  'ImportedCertificate',
  z.object({
    userId,
    profile,
    requestId,
    workflowId: z.string(),
    serial: z.string(),
    notBefore: z.date(),
    notAfter: z.date(),
    issuer: z.string().describe("the previous CA's subject"),
    alreadyImported: z.boolean().describe('imported before: the same request, nothing new started'),
  }),
);
