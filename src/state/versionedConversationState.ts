import { ConversationState, type StoreItem, type TurnContext } from 'botbuilder';
import { NEW_ITEM_ETAG } from './errors';

/**
 * ConversationState that saves with the version it read. botbuilder's BotState.saveChanges
 * overwrites the eTag with '*' (last writer wins, platform.md §5), so two turns of one user on two
 * instances could each save and one answer would vanish. Here the storage refuses the second
 * write (StaleWriteError) instead. Always saves (force): every turn refreshes the TTL.
 */
export class VersionedConversationState extends ConversationState {
  override async saveChanges(context: TurnContext, _force = true): Promise<void> {
    const state = this.get(context) as StoreItem | undefined;
    if (!state) return;
    const key = await this.storageKey(context);
    const expected = typeof state.eTag === 'string' && state.eTag !== '*' ? state.eTag : NEW_ITEM_ETAG;
    const change: StoreItem = { ...state, eTag: expected };
    await this.storage.write({ [key]: change });
    // The stored version now: a second save in the same turn builds on it.
    state.eTag = change.eTag;
  }
}
