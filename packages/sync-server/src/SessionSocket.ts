import type { Buffer } from 'node:buffer'
import { WebSocket } from 'ws'
import { _toFrame } from './frame.ts'
import type { Frame } from './types.ts'

/** @internal What a {@link _SessionSocket} hands its events to: its session. */
export interface _SocketSession {
  /** A frame arrived. */
  _received(frame: Frame): void
  /** A pong arrived, with this payload. */
  _ponged(payload: string): void
  /** ws reported an error. */
  _failed(error: Error): void
  /** The connection closed. */
  _ended(code: number, reason: Buffer): void
}

/** @internal A socket made by {@link _sessionSocketClass}: a `ws` WebSocket that knows its session. */
export type _SessionSocket = WebSocket & {
  /** The session the events go to, once it took the socket. */
  _session: _SocketSession | undefined
}

let sessionSocketClass: typeof WebSocket | undefined

/**
 * Pongs a socket may have waiting to be written before it is dropped: a
 * peer that pings but does not read would otherwise make the server queue
 * pongs without end. `ws`'s own default for `maxPendingAutoPongs`.
 */
const MAX_PENDING_PONGS = 60

/**
 * @internal
 * The app's `ws` WebSocket class (its server's `WebSocket` option): it hands
 * the events a session needs straight to that session, instead of to
 * listeners. Four listeners cost every connection an events table of a few
 * hundred bytes; a method on the class costs nothing per connection.
 * Listeners still hear every event (after the session did); other events,
 * and all events before a session took the socket, are emitted as usual (an
 * `'error'` without a session or listener still throws, as in `ws`).
 *
 * It answers pings itself (the app's server has `autoPong: false`): `ws`'s
 * automatic pong gives every socket a callback of its own, about 110 bytes
 * per connection, where this one makes a callback only per ping. The rules
 * are `ws`'s: a ping on an open socket is answered with its payload, and a
 * socket with {@link MAX_PENDING_PONGS} pongs still unwritten is dropped.
 *
 * Made at the first call, not when this module loads: where `ws` resolves to
 * its browser stub (a test's DOM environment importing the package), there
 * is no `WebSocket` to extend, and loading must not fail there.
 *
 * @returns The class.
 */
export function _sessionSocketClass(): typeof WebSocket {
  sessionSocketClass ??= class SessionSocket extends WebSocket {
    _session: _SocketSession | undefined = undefined
    /** Pongs sent and not written yet. */
    _pendingPongs = 0

    /** @param args - What `ws`'s server passes to its `WebSocket` class. */
    constructor(...args: unknown[]) {
      super(...(args as ConstructorParameters<typeof WebSocket>))
      // No listener is added to a session's socket, so it needs no events table:
      // Node's EventEmitter gives every emitter an empty `{ __proto__: null }`, a
      // dictionary of ~180 B; `undefined` is its state before the first `on()`,
      // which every EventEmitter method handles (an `on()` makes the table then).
      ;(this as unknown as { _events: object | undefined })._events = undefined
    }

    override emit(event: string | symbol, ...args: unknown[]): boolean {
      if (event === 'ping') this._pong(args[0] as Buffer)
      const session = this._session
      if (session === undefined || !sessionHandled(session, event, args)) return super.emit(event, ...args)
      if (this.listenerCount(event) > 0) super.emit(event, ...args)
      return true
    }

    /** Answers a ping, as `ws`'s `autoPong` would. */
    private _pong(payload: Buffer): void {
      if (this.readyState !== WebSocket.OPEN) return
      if (this._pendingPongs >= MAX_PENDING_PONGS) {
        this.terminate()
        return
      }
      this._pendingPongs++
      this.pong(payload, false, () => {
        this._pendingPongs--
      })
    }
  }
  return sessionSocketClass
}

/** Hands a socket event to its session; `false` for an event the session does not take. */
function sessionHandled(session: _SocketSession, event: string | symbol, args: unknown[]): boolean {
  switch (event) {
    case 'message':
      session._received(_toFrame(args[0] as Buffer | ArrayBuffer | Buffer[], args[1] as boolean))
      return true
    case 'pong':
      session._ponged((args[0] as Buffer).toString())
      return true
    case 'error':
      session._failed(args[0] as Error)
      return true
    case 'close':
      session._ended(args[0] as number, args[1] as Buffer)
      return true
    default:
      return false
  }
}
