/**
 * A write based on a version that is no longer the stored one: another turn of the same
 * conversation wrote in between. Refused, so that no answer is silently lost.
 */
export class StaleWriteError extends Error {
  constructor() {
    super('stale write refused: the conversation changed since it was read');
    this.name = 'StaleWriteError';
  }
}

/** The eTag a new conversation is written with: "create, unless someone already has". */
export const NEW_ITEM_ETAG = '0';
