// What every store shares, whatever it stores: the outcome of a conditional delete, the health check that readiness
// uses, and the two failures a store reports: its backend did not answer, or it has no room for new data.

export type DeleteResult = 'deleted' | 'not-found' | 'precondition-failed'

/** What readiness needs from a backend, whatever it stores. */
export interface StoreHealth {
  /** Resolves when the backend answers; rejects with StoreUnavailableError otherwise. */
  ping (): Promise<void>
}

/**
 * The backend did not answer in time, is down, or refused a command. The store knows nothing of HTTP: the error
 * handler finds this error's code in the table of error kinds (errors.ts), which says 503 with Retry-After.
 */
export class StoreUnavailableError extends Error {
  override readonly name = 'StoreUnavailableError'
  readonly code = 'CS_STORE_UNAVAILABLE'
}

/**
 * The backend has reached its memory limit and refuses to take more (Redis's OOM under `maxmemory-policy
 * noeviction`): nothing was written. Reads, deletes and sliding a session's expiry still work.
 */
export class StoreFullError extends Error {
  override readonly name = 'StoreFullError'
  readonly code = 'CS_STORE_FULL'
}
