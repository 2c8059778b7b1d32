// The support API's audit routes: verification of the tamper-evident trail (`npm run cli -- audit verify`).
import { z } from 'zod';
import { verifyAuditChain } from '../../domain';
import { component, defineRoute, type SupportRoute } from './contract';

const hash = z.string().regex(/^[0-9a-f]{64}$/);

export const auditChainReportSchema = component(
  'AuditChainReport',
  z
    .object({
      intact: z.boolean().describe('every row links to the one before it and the last one is the chain head'),
      checked: z.number().int().min(0).describe('rows read, up to and including the first broken one'),
      head: z.object({ id: z.number().int(), hash }).strict().optional().describe('the last row the chain head records; keep it outside the database to detect a rewrite of the whole trail'),
      firstBroken: z
        .object({ id: z.number().int().describe('the row (audit event ID) where the chain breaks'), problem: z.string() })
        .strict()
        .optional()
        .describe('absent when intact'),
    })
    .strict(),
);

export const auditRoutes: SupportRoute[] = [
  defineRoute({
    operationId: 'verifyAuditChain',
    method: 'get',
    path: '/audit/verify',
    role: 'admin',
    tag: 'audit',
    summary: 'Verify the audit trail: each row chained to the previous one by an HMAC',
    description: 'Answers 200 whether or not the chain holds; `intact` says which and `firstBroken` names the first row whose link does not hold (an edited row, the row after a removed one, an inserted row, or the head after rows removed at the end).',
    answers: { 200: { description: 'the chain as found', schema: auditChainReportSchema } },
    run: async ({ deps }) => ({ status: 200, body: await verifyAuditChain(deps) }),
  }),
];
