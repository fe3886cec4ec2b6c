// When to ask for the next Microsoft Entra ID token, as pure functions of the current one and the clock.
// Azure closes a connection whose token expires unless it has sent a newer one by AUTH, and asks for that
// to happen at least three minutes before expiry, with jitter between connections.

/** Azure's floor: a new token is on its connections this long before the old one expires. */
export const AZURE_MARGIN_MS = 3 * 60_000
/** The fixed margin we aim for, with room above Azure's floor for retries and the spread of AUTHs. */
export const REFRESH_MARGIN_MS = 5 * 60_000
/** Refresh after 75–80% of a token's lifetime, jittered so that replicas do not ask in lockstep. */
const LIFETIME_FRACTION = 0.75
const FRACTION_JITTER = 0.05
/** Never ask sooner than this after a token arrived (short-lived tokens in tests), to spare the endpoint. */
export const MIN_REFRESH_DELAY_MS = 250

export interface TokenTimes {
  expiresOnTimestamp: number
  refreshAfterTimestamp?: number | undefined
}

/**
 * Milliseconds until the next refresh of a token just received: the earliest of a fraction of its lifetime,
 * the fixed margin before expiry, Azure's 3-minute floor, and the credential's own refreshAfterTimestamp.
 * A lifetime too short for a margin (seconds, in tests) falls back to the fraction alone.
 */
export function refreshDelay (token: TokenTimes, now: number, random = Math.random): number {
  const lifetime = token.expiresOnTimestamp - now
  const candidates = [lifetime * (LIFETIME_FRACTION + FRACTION_JITTER * random())]
  for (const margin of [REFRESH_MARGIN_MS, AZURE_MARGIN_MS]) {
    if (lifetime > margin) candidates.push(lifetime - margin)
  }
  if (token.refreshAfterTimestamp !== undefined && token.refreshAfterTimestamp > now) {
    candidates.push(token.refreshAfterTimestamp - now)
  }
  // Whole milliseconds, rounded down: a refresh a fraction of a millisecond late would break the margin.
  return Math.floor(Math.max(Math.min(...candidates), Math.min(MIN_REFRESH_DELAY_MS, lifetime / 2)))
}

/**
 * The credential returned a cached copy (no later expiry than the token we hold). Ask again after a third of
 * the time left before Azure's floor, between 1 s and 5 min, so that a few tries still land before it; once
 * inside the floor (or for short tokens), after a quarter of the remaining lifetime.
 */
export function cachedCopyRetryDelay (current: TokenTimes, now: number): number {
  const slack = current.expiresOnTimestamp - AZURE_MARGIN_MS - now
  if (slack > 3000) return clamp(slack / 3, 1000, 5 * 60_000)
  return clamp((current.expiresOnTimestamp - now) / 4, MIN_REFRESH_DELAY_MS, 30_000)
}

export interface BackoffOptions {
  baseDelayMs: number
  maxDelayMs: number
}

/** Exponential backoff with full jitter between half and all of the step: attempt 1 waits about the base. */
export function retryDelay (attempt: number, { baseDelayMs, maxDelayMs }: BackoffOptions, random = Math.random)
  : number {
  const step = Math.min(baseDelayMs * 2 ** (attempt - 1), maxDelayMs)
  return step / 2 + (step / 2) * random()
}

function clamp (value: number, min: number, max: number): number {
  return Math.min(Math.max(value, min), max)
}
