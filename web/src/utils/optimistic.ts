// Optimistic changes over an entity adapter: what people did shows at once, on top of the
// latest confirmed entity; a failure drops the change (the rollback), a success or any later
// event replaces what it confirms.
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

export function optimisticUpdates<T>(adapter: EntityAdapter<T, string>) {
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
      if (fromEvent) pending.events += 1;
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
        operations: [],
      });
      pending.operations.push({ requestId, label, patch, eventsAtStart: pending.events });
      show(state, name);
    },

    /**
     * Ends an operation. Failed (`answer` undefined): its patch goes, the rollback, leaving the
     * latest confirmed entity. Succeeded: `answer` (null: deleted) becomes the confirmed
     * entity, reconciled with what events confirmed meanwhile.
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
        pending.base =
          answer === null ? null : reconcile(answer, pending.base, pending.events > operation.eventsAtStart);
      }
      show(state, name);
    },
  };
}

/** The label of the newest operation in flight on `name`, if any. */
export function pendingLabel<T>(state: OptimisticEntityState<T>, name: string): PendingLabel | undefined {
  return state.pending[name]?.operations.at(-1)?.label;
}
