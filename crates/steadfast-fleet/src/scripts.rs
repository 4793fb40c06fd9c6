//! The Lua scripts the fleet runs in Redis, loaded into Redis whenever the
//! link (re)connects, so each call is one `EVALSHA` round trip (a script
//! unknown to the server — after a restart the link has not seen yet — is
//! sent whole by the `redis` crate's fallback, once).

use std::sync::LazyLock;

use redis::Script;

use super::link::Link;

/// GCRA over several buckets at once (`gcra.lua`): the rate limits.
pub(crate) static GCRA: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("gcra.lua")));

/// Takes a lease when free, extends it when it is already this instance's:
/// one gateway per probe interval.
pub(crate) static LEASE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
",
    )
});

/// Loads every script into the server the link reaches.
pub(crate) async fn load(link: &Link) -> Result<(), String> {
    for script in [&*GCRA, &*LEASE] {
        let mut connection = link.command_connection()?;
        link.bounded(script.prepare_invoke().load_async(&mut connection))
            .await?;
    }
    Ok(())
}
