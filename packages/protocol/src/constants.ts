/**
 * Protocol version 1, the base every client and server speaks: a `hello`
 * with it is answered in version 1 frames. See {@link LATEST_PROTOCOL_VERSION}.
 */
export const PROTOCOL_VERSION = 1

/** The WebSocket subprotocol name of protocol version 1. */
export const PROTOCOL_NAME = 'lensync.v1'

/**
 * Every WebSocket close code the client and the sync hub use, defined once.
 * Clients reconnect after every code but `UNAUTHENTICATED` and `FORBIDDEN`
 * (and their own `close()`).
 */
export const CloseCodes = Object.freeze({
  /** 1000: a normal close. */
  NORMAL: 1000,
  /** 1001: the server is shutting down; clients reconnect. */
  GOING_AWAY: 1001,
  /** 1002: `hello` with a protocol version the server does not speak. */
  PROTOCOL_ERROR: 1002,
  /** 1006: the connection dropped without a close frame (never sent, only observed). */
  ABNORMAL: 1006,
  /** 1008: policy: too many unusable or refused envelopes, or rate-limited too often. */
  POLICY: 1008,
  /** 1009: a message over the server's `maxFrameSize`. */
  TOO_BIG: 1009,
  /** 1011: an internal error (storage failed, a handler threw, a ping timed out). */
  INTERNAL_ERROR: 1011,
  /** 1012: the server node lost its change feed; clients reconnect and catch up. */
  SERVICE_RESTART: 1012,
  /** 1013: a slow consumer: more unsent than the server holds for one connection. */
  TRY_AGAIN_LATER: 1013,
  /** 4401: authentication missing, refused or expired; clients do not reconnect. */
  UNAUTHENTICATED: 4401,
  /** 4403: the connection is not allowed (origin, principal, revoked); clients do not reconnect. */
  FORBIDDEN: 4403,
} as const)

/** Keys that are never accepted in a path or a value: they could reach an object's prototype. */
export const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype'])

/**
 * The deepest nesting a value may have: objects, arrays, Maps and Sets
 * inside one another, counting the outermost (`{}` is 1 deep, `{ a: [] }` 2).
 * Deeper values are refused by the server (`BAD_FIELD`) and skipped by the
 * client (`BAD_MESSAGE`), so no recursive walk over a value can exhaust the stack.
 */
export const MAX_VALUE_DEPTH = 100

/** The most steps a field path may have (in `patch`, `change` and `unset`). */
export const MAX_PATH_DEPTH = 64

/** The longest resource name, entity id, client id or string op id. */
export const MAX_NAME_LENGTH = 256

/**
 * The newest protocol version this package speaks. A client offers it in
 * `hello.v`; a server answers with the highest version both speak (an
 * older server closes with `PROTOCOL_ERROR`, and the client comes back with
 * the newest version the close reason names, else version 1). Version 2 is version 1 plus compact forms of the frequent
 * messages; version 3 is version 2 plus the short patch and the short change,
 * an edit's write and its broadcast as JSON arrays `[handle, base, path,
 * value, …]` and `[handle, rev, path, value, …]` (see docs/protocol.md).
 */
export const LATEST_PROTOCOL_VERSION = 3

/**
 * The most entity handles a server gives on one version 2 connection; past
 * it, entities are named by `[resource, id]`. Handles are never reused on a
 * connection, so this bounds what a connection makes either end hold.
 */
export const MAX_ENTITY_HANDLES = 1024
