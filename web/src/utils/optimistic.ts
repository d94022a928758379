// Optimistic changes over an entity adapter: what people did shows at once, on top of the
// latest confirmed entity; a failure drops the change (the rollback), a success or any later
// event replaces what it confirms. The stream is the last word: an answer that an event
// already confirmed (or overtook) changes nothing.
import type { EntityAdapter, EntityState } from "@reduxjs/toolkit";

/** What an optimistic operation does to one entity until the server answers. */
export type Patch<T> =
  | { kind: "create"; entity: T }
  | { kind: "update"; changes: Partial<T> }
  | { kind: "remove" };

/** What the UI says about an entity while its operation is in flight. */
export type PendingLabel = "creating" | "saving" | "starting" | "stopping" | "deleting" | "updating";

export interface PendingOperation<T> {
  requestId: string;
  label: PendingLabel;
  patch: Patch<T>;
  /** `PendingEntity.events` when the operation began. */
  eventsAtStart: number;
}

/** An entity with operations in flight. */
export interface PendingEntity<T> {
  /** The latest confirmed entity (from a list, an answer or an event); null when none. */
  base: T | null;
  /** How many events confirmed `base` while operations were in flight. */
  events: number;
  /** The version (etag) of what each of those events confirmed, in order; "" for none. */
  versions: string[];
  operations: PendingOperation<T>[];
}

export interface OptimisticEntityState<T> extends EntityState<T, string> {
  pending: Record<string, PendingEntity<T>>;
}

/**
 * How an answer meets the entity the stream confirmed meanwhile: `eventSince` says whether an
 * event confirmed `base` after the operation began. The default takes the answer.
 */
export type Reconcile<T> = (answer: T, base: T | null, eventSince: boolean) => T;

export interface OptimisticOptions<T> {
  /**
   * The entity's version (its etag), "" when it has none: an answer whose version an event
   * confirmed since the operation began is already in `base`, which may be newer still.
   */
  version?: (entity: T) => string;
}

export function optimisticUpdates<T>(adapter: EntityAdapter<T, string>, options: OptimisticOptions<T> = {}) {
  const versionOf = (entity: T | null) => (entity === null ? "" : (options.version?.(entity) ?? ""));

  const show = (state: OptimisticEntityState<T>, name: string) => {
    const pending = state.pending[name];
    if (pending === undefined) return;
    let value: T | null = pending.base;
    for (const { patch } of pending.operations) {
      if (patch.kind === "create") value = value ?? patch.entity;
      else if (patch.kind === "update") value = value === null ? null : { ...value, ...patch.changes };
      else value = null;
    }
    if (value === null) adapter.removeOne(state, name);
    else adapter.setOne(state, value);
    if (pending.operations.length === 0) delete state.pending[name];
  };

  return {
    /**
     * The confirmed entity (null: it is gone) from an answer, a Get or an event
     * (`fromEvent`): shown at once, or under the operations still in flight.
     */
    confirm(state: OptimisticEntityState<T>, name: string, entity: T | null, fromEvent = false): void {
      const pending = state.pending[name];
      if (pending === undefined) {
        if (entity === null) adapter.removeOne(state, name);
        else adapter.setOne(state, entity);
        return;
      }
      pending.base = entity;
      if (fromEvent) {
        pending.events += 1;
        pending.versions.push(versionOf(entity));
      }
      show(state, name);
    },

    /** Every confirmed entity, from a full list: what is not in it is gone. */
    confirmAll(state: OptimisticEntityState<T>, entities: T[]): void {
      const byName = new Map(entities.map((entity) => [adapter.selectId(entity) as string, entity]));
      const names = Object.keys(state.pending);
      adapter.setAll(
        state,
        entities.filter((entity) => state.pending[adapter.selectId(entity) as string] === undefined),
      );
      for (const name of names) {
        state.pending[name].base = byName.get(name) ?? null;
        show(state, name);
      }
    },

    /**
     * An event brought an entity new here, which a create in flight under a provisional name
     * (the server picks the name) may have made: the first such create whose provisional entity
     * `matches` counts as answered, and that entity goes, so that the new one does not show
     * twice until the answer comes. True when one went.
     */
    claimProvisional(
      state: OptimisticEntityState<T>,
      isProvisional: (name: string) => boolean,
      matches: (provisional: T) => boolean,
    ): boolean {
      for (const [name, pending] of Object.entries(state.pending)) {
        if (!isProvisional(name)) continue;
        const create = pending.operations.find((op) => op.patch.kind === "create");
        if (create?.patch.kind === "create" && matches(create.patch.entity)) {
          delete state.pending[name];
          adapter.removeOne(state, name);
          return true;
        }
      }
      return false;
    },

    /** Starts an optimistic operation: its patch shows until `settle`. */
    begin(
      state: OptimisticEntityState<T>,
      name: string,
      requestId: string,
      label: PendingLabel,
      patch: Patch<T>,
    ): void {
      const pending = (state.pending[name] ??= {
        base: (state.entities[name] as T | undefined) ?? null,
        events: 0,
        versions: [],
        operations: [],
      });
      pending.operations.push({ requestId, label, patch, eventsAtStart: pending.events });
      show(state, name);
    },

    /**
     * Ends an operation. Failed (`answer` undefined): its patch goes, the rollback, leaving the
     * latest confirmed entity. Succeeded: `answer` (null: deleted) becomes the confirmed
     * entity, reconciled with what events confirmed meanwhile; unless an event since the
     * operation began already confirmed it (its version) or deleted the entity: then the
     * stream's `base` stands.
     */
    settle(
      state: OptimisticEntityState<T>,
      name: string,
      requestId: string,
      answer?: T | null,
      reconcile: Reconcile<T> = (value) => value,
    ): void {
      const pending = state.pending[name];
      if (pending === undefined) return;
      const operation = pending.operations.find((op) => op.requestId === requestId);
      if (operation === undefined) return;
      pending.operations = pending.operations.filter((op) => op !== operation);
      if (answer !== undefined) {
        const eventSince = pending.events > operation.eventsAtStart;
        const version = versionOf(answer);
        const confirmed =
          eventSince &&
          (pending.base === null ||
            (version !== "" && pending.versions.slice(operation.eventsAtStart).includes(version)));
        if (answer === null) pending.base = null;
        else if (!confirmed) pending.base = reconcile(answer, pending.base, eventSince);
      }
      show(state, name);
    },
  };
}

/** The label of the newest operation in flight on `name`, if any. */
export function pendingLabel<T>(state: OptimisticEntityState<T>, name: string): PendingLabel | undefined {
  return state.pending[name]?.operations.at(-1)?.label;
}
