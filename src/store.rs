//! The shared store: a Redis (or Valkey) server through which the switchboard processes of several
//! supervisors, on several machines, share the account's call budget and their session claims. The
//! file ledger and claims file stay the default; this is used only when `shared_store` is set.
//!
//! Keys are namespaced by account (`switchboard:{accountId}:…`). What is written is calls' times,
//! session ids, run ids and `user@host`: never a token, secret, auth header or callback token.
//! Every change is a compare-and-set on the store's own clock (`TIME`), so machines whose clocks
//! differ cannot overspend, and two processes cannot both take the last slot or the same session.

use std::time::{Duration, Instant};

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{IntoConnectionInfo, RedisResult};

use crate::secret::Secret;

/// Returns the store's clock (ms) and the value at KEYS[1] (or false), in one step.
const READ: &str = r#"
local t = redis.call('TIME')
local ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
return {ms, redis.call('GET', KEYS[1])}
"#;

/// Sets KEYS[1] to ARGV[2] (expiring after ARGV[3] ms) only if it still holds ARGV[1] ('' for
/// absent); 1 when set.
const COMPARE_AND_SET: &str = r#"
local now = redis.call('GET', KEYS[1]) or ''
if now ~= ARGV[1] then return 0 end
if ARGV[2] == '' then
  redis.call('DEL', KEYS[1])
else
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
end
return 1
"#;

/// A connection to the shared store, for one account. Cheap to clone; clones share the connection,
/// which reconnects by itself.
#[derive(Clone)]
pub struct SharedStore {
    conn: ConnectionManager,
    prefix: String,
    /// The URL, which never holds a password (a URL with one is refused).
    label: String,
}

impl std::fmt::Debug for SharedStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedStore")
            .field("url", &self.label)
            .field("prefix", &self.prefix)
            .finish()
    }
}

/// What `check` says of the store.
#[derive(Debug, Clone)]
pub struct ServerInfo {
    pub version: String,
    pub round_trip: Duration,
}

impl SharedStore {
    /// Connects to `url` for `account`, giving up after `timeout`; the error says what to do.
    pub async fn connect(
        url: &url::Url,
        password: Option<&Secret>,
        account: &str,
        timeout: Duration,
    ) -> Result<SharedStore, String> {
        let label = url.to_string();
        let fail = |e: &dyn std::fmt::Display| {
            format!(
                "cannot reach the shared store {label}: {e} (start it, fix shared_store, or run alone knowingly with --shared-store none)"
            )
        };
        let mut info = url.as_str().into_connection_info().map_err(|e| fail(&e))?;
        if let Some(password) = password {
            let redis = info
                .redis_settings()
                .clone()
                .set_password(password.expose());
            info = info.set_redis_settings(redis);
        }
        let client = redis::Client::open(info).map_err(|e| fail(&e))?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(timeout))
            .set_response_timeout(Some(timeout))
            .set_number_of_retries(1);
        let conn = tokio::time::timeout(timeout, client.get_connection_manager_with_config(config))
            .await
            .map_err(|_| {
                fail(&format!(
                    "no answer in {}",
                    crate::format::duration(timeout)
                ))
            })?
            .map_err(|e| fail(&e))?;
        let store = SharedStore {
            conn,
            prefix: format!("switchboard:{account}"),
            label: label.clone(),
        };
        store.info().await.map_err(|e| fail(&e))?;
        Ok(store)
    }

    /// The store's URL, without a password.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// The account's key `name`: `switchboard:{accountId}:{name}`.
    pub fn key(&self, name: &str) -> String {
        format!("{}:{name}", self.prefix)
    }

    /// The server's version and one round trip's time.
    pub async fn info(&self) -> RedisResult<ServerInfo> {
        let mut conn = self.conn.clone();
        let started = Instant::now();
        let _: String = redis::cmd("PING").query_async(&mut conn).await?;
        let round_trip = started.elapsed();
        let info: String = redis::cmd("INFO")
            .arg("server")
            .query_async(&mut conn)
            .await?;
        let version = info
            .lines()
            .find_map(|l| l.strip_prefix("redis_version:"))
            .unwrap_or("unknown")
            .trim()
            .to_string();
        Ok(ServerInfo {
            version,
            round_trip,
        })
    }

    /// The store's clock (ms since the epoch) and the value at `key`, in one step.
    pub async fn read_with_time(&self, key: &str) -> RedisResult<(u64, Option<String>)> {
        let mut conn = self.conn.clone();
        redis::Script::new(READ)
            .key(key)
            .invoke_async(&mut conn)
            .await
    }

    /// Sets `key` to `new` (none: deletes it), expiring after `ttl`, only if it still holds
    /// `expected` (none: absent). Whether it was set.
    pub async fn compare_and_set(
        &self,
        key: &str,
        expected: Option<&str>,
        new: Option<&str>,
        ttl: Duration,
    ) -> RedisResult<bool> {
        let mut conn = self.conn.clone();
        let set: i64 = redis::Script::new(COMPARE_AND_SET)
            .key(key)
            .arg(expected.unwrap_or(""))
            .arg(new.unwrap_or(""))
            .arg(ttl.as_millis().max(1) as u64)
            .invoke_async(&mut conn)
            .await?;
        Ok(set == 1)
    }

    /// Changes `key` as one compare-and-set on the store's clock: `change` is given the value there
    /// (none: absent) and the time, and gives the new value and a result. It runs again when another
    /// process changed the key first. The result, and the store's time it was decided at.
    pub async fn update<R>(
        &self,
        key: &str,
        ttl: Duration,
        mut change: impl FnMut(Option<&str>, u64) -> std::io::Result<(String, R)>,
    ) -> std::io::Result<(R, u64)> {
        loop {
            let (now, text) = self
                .read_with_time(key)
                .await
                .map_err(std::io::Error::other)?;
            let (new, result) = change(text.as_deref(), now)?;
            if self
                .compare_and_set(key, text.as_deref(), Some(&new), ttl)
                .await
                .map_err(std::io::Error::other)?
            {
                return Ok((result, now));
            }
        }
    }

    /// Every key of the account (for tests that check nothing secret is kept).
    pub async fn keys(&self) -> RedisResult<Vec<String>> {
        let mut conn = self.conn.clone();
        redis::cmd("KEYS")
            .arg(format!("{}:*", self.prefix))
            .query_async(&mut conn)
            .await
    }

    /// The value at `key`, if any.
    pub async fn get(&self, key: &str) -> RedisResult<Option<String>> {
        let mut conn = self.conn.clone();
        redis::cmd("GET").arg(key).query_async(&mut conn).await
    }

    /// Appends `event` to the account's stream, trimming it to about `STREAM_MAX`.
    pub async fn publish(&self, event: &crate::picture::SharedEvent) -> RedisResult<()> {
        let mut conn = self.conn.clone();
        let data = serde_json::to_string(event).unwrap_or_default();
        let _: String = redis::cmd("XADD")
            .arg(self.key("events"))
            .arg("MAXLEN")
            .arg("~")
            .arg(crate::picture::STREAM_MAX)
            .arg("*")
            .arg("data")
            .arg(data)
            .query_async(&mut conn)
            .await?;
        Ok(())
    }

    /// The id of the stream's newest event, if any.
    pub async fn latest_event_id(&self) -> RedisResult<Option<String>> {
        Ok(self
            .stream("XREVRANGE", "+", "-", 1)
            .await?
            .pop()
            .map(|(id, _)| id))
    }

    /// The stream's last `count` events, oldest first.
    pub async fn recent_events(
        &self,
        count: usize,
    ) -> RedisResult<Vec<(String, crate::picture::SharedEvent)>> {
        let mut events = self.stream("XREVRANGE", "+", "-", count).await?;
        events.reverse();
        Ok(events)
    }

    /// The events since `ms` (milliseconds since the epoch, by the store's clock), up to `count`.
    pub async fn events_since(
        &self,
        ms: u64,
        count: usize,
    ) -> RedisResult<Vec<(String, crate::picture::SharedEvent)>> {
        self.stream("XRANGE", &ms.to_string(), "+", count).await
    }

    /// Up to `count` events after the one with id `last`.
    pub async fn events_after(
        &self,
        last: &str,
        count: usize,
    ) -> RedisResult<Vec<(String, crate::picture::SharedEvent)>> {
        self.stream("XRANGE", &format!("({last}"), "+", count).await
    }

    async fn stream(
        &self,
        command: &str,
        from: &str,
        to: &str,
        count: usize,
    ) -> RedisResult<Vec<(String, crate::picture::SharedEvent)>> {
        let mut conn = self.conn.clone();
        let entries: Vec<(String, Vec<String>)> = redis::cmd(command)
            .arg(self.key("events"))
            .arg(from)
            .arg(to)
            .arg("COUNT")
            .arg(count)
            .query_async(&mut conn)
            .await?;
        // An entry that is not one of ours is skipped, not an error.
        Ok(entries
            .into_iter()
            .filter_map(|(id, fields)| {
                let data = fields
                    .chunks(2)
                    .find(|kv| kv[0] == "data")
                    .map(|kv| kv[1].clone())?;
                serde_json::from_str(&data).ok().map(|e| (id, e))
            })
            .collect())
    }
}
