// Polls a condition until it holds, failing with what was awaited after a deadline: for states that arrive on
// their own (a connection's handshake, a server coming back).
import { setTimeout as sleep } from 'node:timers/promises'

// `what` may be a function, to say what the state was when the wait gave up.
export async function until (condition: () => boolean | Promise<boolean>, what: string | (() => string),
  { timeoutMs = 15_000, everyMs = 20 } = {}): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${typeof what === 'string' ? what : what()}`)
    await sleep(everyMs)
  }
}
