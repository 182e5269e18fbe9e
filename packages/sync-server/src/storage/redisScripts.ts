import { createHash } from 'node:crypto'

/**
 * @internal
 * A Lua script run with EVALSHA (EVAL when Redis does not know it yet). A
 * script runs atomically: no other client's command runs in between, which
 * is what makes revision assignment, the compare-and-set and the feed entry
 * one step on every node.
 */
export interface _RedisScript {
  readonly lua: string
  readonly sha: string
}

function script(lua: string): _RedisScript {
  return { lua, sha: createHash('sha1').update(lua).digest('hex') }
}

/**
 * @internal
 * Commits a batch. KEYS: feed stream, feed sequence, resource revisions, then
 * per write the entity hash, the live-order zset and the revision zset of its
 * resource, the applied-writes hash of its client (any key of the prefix
 * for a write without an origin), the tombstone zset of its resource
 * (id → when deleted, ms; a delete adds the entity, any other write removes
 * it), and the field-revisions hash of its resource. ARGV: origin, feed
 * length, now (ms), dedup window (ms), then per write resource, id, expected
 * revision (`''`: builds on the previous write of the entity in this batch),
 * value (`''`: delete), change head, change tail, token, op key (`''`: no
 * origin), the record's `["resource","id"]`, and the field revisions (`''`:
 * none).
 *
 * An entity is stored in its resource's hash as `<rev>|<value>` (`<rev>|`: a
 * tombstone), its field revisions in the resource's field hash (id → JSON
 * text; none for a tombstone), each placeholder `\0<k>\0` replaced by the
 * revision of batch write `k` (see `StorageWrite.fields`); the feed entry
 * carries them as `f`. Returns one revision per write, `-1` for a conflict. Every
 * applied write takes the next revision of its resource and appends one
 * entry to the feed, numbered by the feed sequence, so a node can tell when
 * it missed one. Every check comes before the first write: a refused batch
 * changes nothing.
 *
 * An applied write with an origin is recorded in its client's hash as
 * op key → `<rev>|<at>|["resource","id"]` (the first record of an op is
 * kept), and the hash's TTL is set to the window: a client's records expire
 * together once it stopped writing for a window. While it goes on writing,
 * each commit sweeps a few of its fields (HSCAN, the cursor kept in field
 * `~`; a small hash is swept whole) and deletes those older than the window.
 */
export const _COMMIT = script(`#!lua
local origin = ARGV[1]
local feedLength = ARGV[2]
local now = ARGV[3]
local window = ARGV[4]
local cutoff = tonumber(now) - tonumber(window)
local count = (#KEYS - 3) / 6
local results = {}
local conflicted = {}
local swept = {}
local function sweep(applied)
  local found = redis.call('HSCAN', applied, redis.call('HGET', applied, '~') or '0', 'COUNT', 16)
  local fields = found[2]
  for j = 1, #fields, 2 do
    local at = tonumber(string.match(fields[j + 1], '^%d+|(%d+)|'))
    if fields[j] ~= '~' and at and at <= cutoff then redis.call('HDEL', applied, fields[j]) end
  end
  if found[1] == '0' then
    redis.call('HDEL', applied, '~')
  else
    redis.call('HSET', applied, '~', found[1])
  end
end
local function revisionOf(k)
  local rev = results[tonumber(k) + 1]
  if rev == nil or rev < 0 then return '0' end
  return tostring(rev)
end
for i = 0, count - 1 do
  local hash = KEYS[4 + i * 6]
  local a = 5 + i * 10
  local id, expected = ARGV[a + 1], ARGV[a + 2]
  local key = hash .. '\\0' .. id
  if expected == '' then
    if conflicted[key] then results[i + 1] = -1 end
  else
    local current = redis.call('HGET', hash, id)
    local rev = 0
    if current then rev = tonumber(string.match(current, '^(%d+)')) end
    if rev ~= tonumber(expected) then
      conflicted[key] = true
      results[i + 1] = -1
    end
  end
end
for i = 0, count - 1 do
  if results[i + 1] == nil then
    local hash, order, byRev, applied = KEYS[4 + i * 6], KEYS[5 + i * 6], KEYS[6 + i * 6], KEYS[7 + i * 6]
    local tombstones, fieldHash = KEYS[8 + i * 6], KEYS[9 + i * 6]
    local a = 5 + i * 10
    local resource, id, value = ARGV[a], ARGV[a + 1], ARGV[a + 3]
    local head, tail, token = ARGV[a + 4], ARGV[a + 5], ARGV[a + 6]
    local op, where, fields = ARGV[a + 7], ARGV[a + 8], ARGV[a + 9]
    local rev = redis.call('HINCRBY', KEYS[3], resource, 1)
    results[i + 1] = rev
    redis.call('HSET', hash, id, rev .. '|' .. value)
    if value == '' or fields == '' then
      fields = ''
      redis.call('HDEL', fieldHash, id)
    else
      fields = string.gsub(fields, '%z(%d+)%z', revisionOf)
      redis.call('HSET', fieldHash, id, fields)
    end
    redis.call('ZADD', byRev, rev, id)
    if value == '' then
      redis.call('ZREM', order, id)
      redis.call('ZADD', tombstones, now, id)
    else
      redis.call('ZADD', order, 'NX', rev, id)
      redis.call('ZREM', tombstones, id)
    end
    local n = redis.call('INCR', KEYS[2])
    redis.call('XADD', KEYS[1], 'MAXLEN', '~', feedLength, '*',
      'n', n, 'r', resource, 'i', id, 'v', rev, 'x', value, 'c', head .. rev .. tail, 'o', origin, 'k', token,
      'f', fields)
    if op ~= '' then
      if not swept[applied] then
        swept[applied] = true
        sweep(applied)
      end
      redis.call('HSETNX', applied, op, rev .. '|' .. now .. '|' .. where)
      redis.call('PEXPIRE', applied, window)
    end
  end
end
return results
`)

/**
 * @internal
 * Tombstone compaction of one resource. KEYS: its tombstone zset, entity
 * hash, revision zset, and the covered-revisions hash. ARGV: the cutoff
 * (ms: tombstones made at or before it go), how many at most, the resource.
 * Removes each tombstone (still one: a write since removed it from the
 * zset) from the hash and the revision zset, and raises the resource's
 * covered revision to the highest one removed, in the same step. Returns
 * how many it looked at.
 */
export const _COMPACT = script(`#!lua
local ids = redis.call('ZRANGE', KEYS[1], '-inf', ARGV[1], 'BYSCORE', 'LIMIT', 0, ARGV[2])
local top = tonumber(redis.call('HGET', KEYS[4], ARGV[3]) or '0')
for _, id in ipairs(ids) do
  local stored = redis.call('HGET', KEYS[2], id)
  if stored and string.match(stored, '^%d+|$') then
    local rev = tonumber(string.match(stored, '^(%d+)'))
    if rev > top then top = rev end
    redis.call('HDEL', KEYS[2], id)
    redis.call('ZREM', KEYS[3], id)
  end
  redis.call('ZREM', KEYS[1], id)
end
if top > 0 then redis.call('HSET', KEYS[4], ARGV[3], top) end
return #ids
`)

/**
 * @internal
 * One page of a listing. KEYS: the index zset (live order, or revisions for
 * `since`), the entity hash. ARGV: the lowest score, exclusive (`'(n'`), or
 * `'-inf'`; how many. Returns `[id, score, stored, id, score, stored, …]`,
 * read in one step so each value matches its place.
 */
export const _LIST = script(`#!lua flags=no-writes
local found = redis.call('ZRANGE', KEYS[1], ARGV[1], '+inf', 'BYSCORE', 'LIMIT', 0, ARGV[2], 'WITHSCORES')
local out = {}
for i = 1, #found, 2 do
  local stored = redis.call('HGET', KEYS[2], found[i])
  out[#out + 1] = found[i]
  out[#out + 1] = found[i + 1]
  out[#out + 1] = stored or ''
end
return out
`)

/**
 * @internal
 * Where the feed is now. KEYS: the feed stream, the feed sequence. Returns
 * `[last entry id or '0-0', sequence]`, read together so reading from that
 * id misses nothing and the next entry is numbered `sequence + 1`.
 */
export const _FEED_END = script(`#!lua flags=no-writes
local last = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
local seq = redis.call('GET', KEYS[2]) or '0'
if #last == 0 then return { '0-0', seq } end
return { last[1][1], seq }
`)
