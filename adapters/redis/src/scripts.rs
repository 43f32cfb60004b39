//! The Lua scripts. Each runs atomically on the server and touches keys of one hash slot
//! only (every key it names is passed in `KEYS`, as Redis Cluster requires). They are sent by
//! EVALSHA and loaded on `NOSCRIPT` (after a server restart, or on a new node).
//!
//! Versions and positions are u64 and compared as decimal strings (length first, then
//! bytes), because Lua numbers are doubles and lose integers above 2^53.

use fred::types::scripts::Script;

/// Compares two decimal strings without leading zeros: is `a` greater than `b`?
const GT: &str = r"
local function gt(a, b)
  if #a ~= #b then return #a > #b end
  return a > b
end
";

/// KEYS[1] table hash; ARGV version, state, public. Writes only a newer version.
const PUT_TABLE: &str = r"
local current = redis.call('HGET', KEYS[1], 'version')
if current and not gt(ARGV[1], current) then return 0 end
redis.call('HSET', KEYS[1], 'version', ARGV[1], 'state', ARGV[2], 'public', ARGV[3])
return 1
";

/// KEYS net, hands, position; ARGV position, then (player, net delta, hands delta) triples.
/// Applies every delta and records the position, only if the position is newer.
const APPLY_LEADERBOARD: &str = r"
local stored = redis.call('GET', KEYS[3])
if stored and not gt(ARGV[1], stored) then return 0 end
for i = 2, #ARGV, 3 do
  redis.call('ZINCRBY', KEYS[1], ARGV[i + 1], ARGV[i])
  redis.call('ZINCRBY', KEYS[2], ARGV[i + 2], ARGV[i])
end
redis.call('SET', KEYS[3], ARGV[1])
return 1
";

/// KEYS net, hands, position; ARGV expected position ('' for none), position, then (player,
/// net delta, hands delta) triples. A compare-and-set: applies every delta and records the
/// position only if the stored position is the expected one (absent for ''). Returns
/// {1, ''} when applied, else {0, the stored position or ''}.
const APPLY_LEADERBOARD_FROM: &str = r"
local stored = redis.call('GET', KEYS[3]) or ''
if stored ~= ARGV[1] then return {0, stored} end
for i = 3, #ARGV, 3 do
  redis.call('ZINCRBY', KEYS[1], ARGV[i + 1], ARGV[i])
  redis.call('ZINCRBY', KEYS[2], ARGV[i + 2], ARGV[i])
end
redis.call('SET', KEYS[3], ARGV[2])
return {1, ''}
";

/// KEYS[1] the player's GCRA key; ARGV emission interval (µs), burst.
/// Returns {allowed (1 or 0), retry after (µs)}. The clock is the server's (TIME), so
/// hosts' clocks do not matter; the state is the theoretical arrival time (TAT) in µs.
const GCRA: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local new_tat = tat + interval
local allow_at = new_tat - interval * burst
if now < allow_at then
  return {0, allow_at - now}
end
local ttl_ms = math.ceil((new_tat - now) / 1000)
if ttl_ms < 1 then ttl_ms = 1 end
redis.call('SET', KEYS[1], string.format('%.0f', new_tat), 'PX', ttl_ms)
return {1, 0}
";

/// KEYS[1] the session hash; ARGV player, ttl (ms). Returns the new version.
const CREATE_SESSION: &str = r"
local t = redis.call('TIME')
local now_ms = t[1] .. string.format('%03d', math.floor(tonumber(t[2]) / 1000))
redis.call('HSET', KEYS[1], 'player', ARGV[1], 'created_ms', now_ms)
local version = redis.call('HINCRBY', KEYS[1], 'version', 1)
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return version
";

/// The scripts, with their SHA1 computed once.
pub(crate) struct Scripts {
    pub(crate) put_table: Script,
    pub(crate) apply_leaderboard: Script,
    pub(crate) apply_leaderboard_from: Script,
    pub(crate) gcra: Script,
    pub(crate) create_session: Script,
}

impl Scripts {
    pub(crate) fn new() -> Scripts {
        Scripts {
            put_table: Script::from_lua(format!("{GT}{PUT_TABLE}")),
            apply_leaderboard: Script::from_lua(format!("{GT}{APPLY_LEADERBOARD}")),
            apply_leaderboard_from: Script::from_lua(APPLY_LEADERBOARD_FROM),
            gcra: Script::from_lua(GCRA),
            create_session: Script::from_lua(CREATE_SESSION),
        }
    }
}
