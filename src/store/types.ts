// What every store shares, whatever it stores: the outcome of a conditional delete, the health check that readiness
// uses, and the one failure a store reports (its backend did not answer).

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
