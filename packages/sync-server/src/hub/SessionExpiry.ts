import { CloseCodes, encodeReauth } from '@lensync/protocol'
import type { _Delivery } from './Delivery.ts'
import type { HubClient } from './HubClient.ts'
import type { _ResolvedTimers } from './syncOptions.ts'

/** `reauth` goes out at most this long before the session expires (ms). */
const MAX_REAUTH_LEAD_MS = 30_000

/** The longest delay `setTimeout` keeps (about 24.8 days); longer waits are taken in steps. */
const MAX_TIMEOUT_MS = 2 ** 31 - 1

/**
 * What `authenticate` returns for a session that expires: the principal and
 * when its credential stops being valid. Recognised by its exact shape — a
 * plain object with exactly the two keys `principal` and `expiresAt`, the
 * latter a `Date` — so a principal object of your own is never mistaken for
 * one (give it a third key, or wrap it, if it happens to have just those two).
 */
export interface ExpiringSession<P = unknown> {
  /** Who the connection is (what `authorize` gets). */
  readonly principal: P
  /** When the credential expires; the client is asked for a fresh one before then. */
  readonly expiresAt: Date
}

/**
 * @internal
 * Whether an `authenticate` result is an {@link ExpiringSession}: a plain
 * object with exactly `principal` and `expiresAt` (a `Date`).
 */
export function _isExpiringSession(value: unknown): value is ExpiringSession {
  if (typeof value !== 'object' || value === null) return false
  const proto = Object.getPrototypeOf(value)
  if (proto !== Object.prototype && proto !== null) return false
  const keys = Object.keys(value)
  return (
    keys.length === 2 &&
    keys.includes('principal') &&
    (value as { expiresAt?: unknown }).expiresAt instanceof Date
  )
}

/**
 * @internal
 * When to ask for a fresh credential, in ms from now, for a session that
 * expires in `remaining` ms: `min(30 s, a third of the remaining time)`
 * before it expires.
 */
export function _reauthDelay(remaining: number): number {
  return remaining - Math.min(MAX_REAUTH_LEAD_MS, remaining / 3)
}

/** A timeout of any length: waits longer than `setTimeout` can are taken in steps. */
class LongTimeout {
  private _handle: unknown

  constructor(
    private readonly _timers: _ResolvedTimers,
    ms: number,
    private readonly _callback: () => void,
  ) {
    this._arm(ms)
  }

  clear(): void {
    this._timers.clearTimeout(this._handle)
  }

  private _arm(ms: number): void {
    const step = Math.min(Math.max(0, ms), MAX_TIMEOUT_MS)
    this._handle = this._timers.setTimeout(() => {
      if (ms > step) this._arm(ms - step)
      else this._callback()
    }, step)
  }
}

/** The two timers of a session that expires. */
interface Expiry {
  readonly reauth: LongTimeout
  readonly expire: LongTimeout
}

/**
 * @internal
 * The expiry of authenticated sessions: for a session with `expiresAt`, a
 * `reauth { expiresAt }` goes out `min(30 s, a third of the remaining time)`
 * before it, and at `expiresAt` the connection is closed with 4401 — unless
 * an `auth` with a fresh credential was accepted meanwhile (the handshake
 * calls {@link _SessionExpiry.start} again, or {@link _SessionExpiry.stop}
 * for a session that no longer expires). Timers are the hub's injected ones.
 */
export class _SessionExpiry {
  private readonly _sessions = new Map<HubClient, Expiry>()

  constructor(
    private readonly _timers: _ResolvedTimers,
    private readonly _delivery: _Delivery,
    private readonly _wallClock: () => number = Date.now,
  ) {}

  /**
   * Starts (or restarts) the expiry of a connection's session.
   *
   * @returns `false` when the session already expired (the connection is closed with 4401).
   */
  start(client: HubClient, expiresAt: Date): boolean {
    this.stop(client)
    const at = expiresAt.getTime()
    const remaining = at - this._wallClock()
    if (!(remaining > 0)) {
      client.close(CloseCodes.UNAUTHENTICATED, 'Session expired')
      return false
    }
    this._sessions.set(client, {
      reauth: new LongTimeout(this._timers, _reauthDelay(remaining), () => {
        this._delivery.send(client, encodeReauth(at))
      }),
      expire: new LongTimeout(this._timers, remaining, () => {
        this._sessions.delete(client)
        // Its accepted writes are still answered: they were made while the session was valid.
        client.close(CloseCodes.UNAUTHENTICATED, 'Session expired', true)
      }),
    })
    return true
  }

  /** Stops the expiry of a connection (its session no longer expires, or it is gone). */
  stop(client: HubClient): void {
    const expiry = this._sessions.get(client)
    if (!expiry) return
    this._sessions.delete(client)
    expiry.reauth.clear()
    expiry.expire.clear()
  }

  /** How many sessions have a running expiry (tests, metrics). */
  get size(): number {
    return this._sessions.size
  }
}
