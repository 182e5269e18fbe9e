import { createHash } from 'node:crypto'

/**
 * @internal
 * A Lua script run with EVALSHA (loaded when the bus starts). Each runs
 * atomically, so a room's hash, the event sequence and the published event
 * always agree: a snapshot taken at sequence `S` holds exactly the events
 * numbered up to `S`.
 */
export interface _PresenceScript {
  readonly lua: string
  readonly sha: string
}

function script(lua: string): _PresenceScript {
  return { lua, sha: createHash('sha1').update(lua).digest('hex') }
}

// A room's hash maps client → `<joined>|<node>|<state>`: `joined` is the
// sequence number of the member's first join (joining order survives
// updates and moves between nodes), `node` its node, `state` the JSON text
// of its envelope. A node's members hash lists `["room","client"]` → 1 for
// every place it holds, so whoever finds the node dead can remove them.
// Events are published as `<seq>|<header JSON>\n<state JSON or nothing>`.

/**
 * @internal
 * A member of this node joined or changed. KEYS: sequence, room hash, this
 * node's members hash. ARGV: node, client, state, member field, channel,
 * event header, members-hash key prefix. Returns the event's number.
 */
export const _UPSERT = script(`
local seq = redis.call('INCR', KEYS[1])
local old = redis.call('HGET', KEYS[2], ARGV[2])
local joined = tostring(seq)
if old then
  local j, owner = string.match(old, '^(%d+)|([^|]*)|')
  joined = j
  if owner ~= ARGV[1] then redis.call('HDEL', ARGV[7] .. owner, ARGV[4]) end
end
redis.call('HSET', KEYS[2], ARGV[2], joined .. '|' .. ARGV[1] .. '|' .. ARGV[3])
redis.call('HSET', KEYS[3], ARGV[4], '1')
redis.call('PUBLISH', ARGV[5], seq .. '|' .. ARGV[6] .. '\\n' .. ARGV[3])
return seq
`)

/**
 * @internal
 * A member of this node left. Only removes the place when this node still
 * holds it (the client may have come back on another node). KEYS:
 * sequence, room hash, this node's members hash. ARGV: node, client, member
 * field, channel, event header. Returns the event's number, 0 when nothing
 * was removed.
 */
export const _LEAVE = script(`
local old = redis.call('HGET', KEYS[2], ARGV[2])
redis.call('HDEL', KEYS[3], ARGV[3])
if not old then return 0 end
if string.match(old, '^%d+|([^|]*)|') ~= ARGV[1] then return 0 end
redis.call('HDEL', KEYS[2], ARGV[2])
local seq = redis.call('INCR', KEYS[1])
redis.call('PUBLISH', ARGV[4], seq .. '|' .. ARGV[5] .. '\\n')
return seq
`)

/**
 * @internal
 * A room's members and the sequence number they are consistent with.
 * KEYS: sequence, room hash. Returns `[seq, [client, value, …]]`.
 */
export const _SNAPSHOT = script(`
return { redis.call('GET', KEYS[1]) or '0', redis.call('HGETALL', KEYS[2]) }
`)

/**
 * @internal
 * Refreshes this node's heartbeat key. KEYS: the key. ARGV: TTL (ms).
 * Returns 1 when the key was still there, 0 when it had expired (or the
 * node just started).
 */
export const _HEARTBEAT = script(`
local existed = redis.call('EXISTS', KEYS[1])
redis.call('SET', KEYS[1], '1', 'PX', ARGV[1])
return existed
`)

/**
 * @internal
 * Which nodes are alive. KEYS: their heartbeat keys. Returns 1 or 0 per key.
 */
export const _ALIVE = script(`
local out = {}
for i, key in ipairs(KEYS) do out[i] = redis.call('EXISTS', key) end
return out
`)

/**
 * @internal
 * Removes a dead node's members from every room and publishes a leave for
 * each, unless its heartbeat came back. Idempotent: every node that finds
 * the node dead may run it. KEYS: sequence, the dead node's members hash,
 * its heartbeat key. ARGV: the dead node, channel, room-hash key prefix.
 * Returns how many members were removed.
 */
export const _CLEANUP = script(`
if redis.call('EXISTS', KEYS[3]) == 1 then return 0 end
local removed = 0
for _, field in ipairs(redis.call('HKEYS', KEYS[2])) do
  local place = cjson.decode(field)
  local key = ARGV[3] .. place[1]
  local old = redis.call('HGET', key, place[2])
  if old and string.match(old, '^%d+|([^|]*)|') == ARGV[1] then
    redis.call('HDEL', key, place[2])
    local seq = redis.call('INCR', KEYS[1])
    local header = cjson.encode({ n = ARGV[1], k = 'leave', r = place[1], c = place[2] })
    redis.call('PUBLISH', ARGV[2], seq .. '|' .. header .. '\\n')
    removed = removed + 1
  end
end
redis.call('DEL', KEYS[2])
return removed
`)

/** @internal Every script, loaded when the bus starts. */
export const _PRESENCE_SCRIPTS: readonly _PresenceScript[] = [
  _UPSERT,
  _LEAVE,
  _SNAPSHOT,
  _HEARTBEAT,
  _ALIVE,
  _CLEANUP,
]
