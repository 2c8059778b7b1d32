// The domain's one way of saying no: a code and a reason, no HTTP status and no Japanese (entry points translate both).
import type { StateRefusalCode } from '../workflows/definitions';

export type RefusalCode =
  /** The request's state does not allow the action (the workflow's own codes). */
  | StateRefusalCode
  /** Input the domain cannot accept; `field` names it. */
  | 'invalid'
  /** The caller may not do this. */
  | 'forbidden'
  | 'notFound'
  /** Registered already. */
  | 'duplicate'
  /** Another call changed the same thing, or the state does not allow it (a reason says which). */
  | 'conflict'
  /** Temporal or another dependency did not answer; nothing was kept. */
  | 'unavailable'
  /** A request ID that is not one of the caller's own requests of this kind (reads as unknown, never as someone else's). */
  | 'requestUnknown'
  | 'nothingToDownload'
  | 'downloadDeadlinePassed'
  | 'certificateNotIssued';

export interface RefusalDetail {
  field?: string;
  /** renewalNotOpen: when renewal opens, and how many days before expiry that is. */
  opensAt?: Date;
  windowDays?: number;
}

export class Refusal extends Error {
  constructor(
    readonly code: RefusalCode,
    reason: string,
    readonly detail: RefusalDetail = {},
  ) {
    super(reason);
    this.name = 'Refusal';
  }

  get reason(): string {
    return this.message;
  }

  static invalid(reason: string, field?: string): Refusal {
    return new Refusal('invalid', reason, field ? { field } : {});
  }
  static notFound(reason: string): Refusal {
    return new Refusal('notFound', reason);
  }
  static conflict(reason: string): Refusal {
    return new Refusal('conflict', reason);
  }
}
