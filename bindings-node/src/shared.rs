//! `SharedCache`: one `cortado::Cache` per name and process, shared by every worker thread.
//!
//! Keys and values live in Rust (strings and byte buffers), so every `worker_thread` that opens
//! the same name sees the same entries, and `fetch` is coalesced across threads through the
//! core's non-blocking load claim: one thread runs the loader, the others register a callback
//! on the load ([`cortado::LoadWaiter::on_complete`]) that settles their promise through a
//! threadsafe function, so no JavaScript thread ever blocks.
//!
//! Removal notifications follow the core's rule: the listener runs on the thread whose call
//! removed the entry. It queues them per thread, and a handle opened with `dispose` hands its
//! thread's queue to JavaScript after each call.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::Duration;

use cortado::{
    Cache, Claim, EvictionPolicy, LoadGuard, LoadResult, LoadWaiter, RandomState, RemovalCause,
};
use napi::bindgen_prelude::*;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi_derive::napi;

/// A key: strings and byte buffers are distinct keys even with the same bytes.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
enum Key {
    Str(String),
    Bytes(Vec<u8>),
}

/// A value: a string or bytes, shared (not copied) between the cache and its readers, with the
/// time-to-live it was set with, if its own (read by [`AgeOnGet`]).
#[derive(Clone, Debug)]
struct Val {
    data: Data,
    ttl: Option<Duration>,
}

#[derive(Clone, Debug)]
enum Data {
    Str(Arc<str>),
    Bytes(Arc<[u8]>),
}

impl Key {
    fn from_js(k: Either<String, Buffer>) -> Self {
        match k {
            Either::A(s) => Key::Str(s),
            Either::B(b) => Key::Bytes(b.to_vec()),
        }
    }
    fn len(&self) -> usize {
        match self {
            Key::Str(s) => s.len(),
            Key::Bytes(b) => b.len(),
        }
    }
}

impl Val {
    fn from_js(v: Either<String, Buffer>, ttl: Option<Duration>) -> Self {
        let data = match v {
            Either::A(s) => Data::Str(Arc::from(s)),
            Either::B(b) => Data::Bytes(Arc::from(&b[..])),
        };
        Val { data, ttl }
    }
    fn len(&self) -> usize {
        match &self.data {
            Data::Str(s) => s.len(),
            Data::Bytes(b) => b.len(),
        }
    }
}

/// `updateAgeOnGet` as lru-cache has it: a read restarts an entry's time-to-live, its own (set
/// with the entry) or the cache's. The core's time-to-idle restarts only the cache-wide one, so
/// such caches decide every entry's deadline here instead.
struct AgeOnGet {
    ttl: Option<Duration>,
}

impl AgeOnGet {
    fn life(&self, v: &Val) -> Option<Duration> {
        v.ttl.or(self.ttl)
    }
}

impl cortado::Expiry<Key, Val> for AgeOnGet {
    fn expire_after_create(
        &self,
        _: &Key,
        v: &Val,
        _: cortado::quanta::Instant,
    ) -> Option<Duration> {
        self.life(v)
    }
    fn expire_after_read(
        &self,
        _: &Key,
        v: &Val,
        _: cortado::quanta::Instant,
        _: Option<Duration>,
    ) -> Option<Duration> {
        self.life(v)
    }
    fn expire_after_update(
        &self,
        _: &Key,
        v: &Val,
        _: cortado::quanta::Instant,
        _: Option<Duration>,
    ) -> Option<Duration> {
        self.life(v)
    }
}

/// A key or value on its way to JavaScript: a string, or a new `Buffer` (a copy).
pub struct JsData(Either<Arc<str>, Arc<[u8]>>);

impl From<Val> for JsData {
    fn from(v: Val) -> Self {
        JsData(match v.data {
            Data::Str(s) => Either::A(s),
            Data::Bytes(b) => Either::B(b),
        })
    }
}

impl From<Key> for JsData {
    fn from(k: Key) -> Self {
        JsData(match k {
            Key::Str(s) => Either::A(Arc::from(s)),
            Key::Bytes(b) => Either::B(Arc::from(b)),
        })
    }
}

impl TypeName for JsData {
    fn type_name() -> &'static str {
        "string | Buffer"
    }
    fn value_type() -> ValueType {
        ValueType::Unknown
    }
}

impl ToNapiValue for JsData {
    unsafe fn to_napi_value(env: sys::napi_env, val: Self) -> Result<sys::napi_value> {
        match val.0 {
            // SAFETY: forwarded from our caller's contract (a valid env on the JS thread).
            Either::A(s) => unsafe { String::to_napi_value(env, s.to_string()) },
            Either::B(b) => unsafe { Buffer::to_napi_value(env, Buffer::from(b.to_vec())) },
        }
    }
}

struct Shared {
    cache: Cache<Key, Val>,
    /// Built with [`AgeOnGet`].
    age_on_get: bool,
    id: u64,
    signature: String,
    mock: Option<Arc<cortado::quanta::Mock>>,
}

fn registry() -> &'static Mutex<HashMap<String, Weak<Shared>>> {
    static REGISTRY: OnceLock<Mutex<HashMap<String, Weak<Shared>>>> = OnceLock::new();
    REGISTRY.get_or_init(Default::default)
}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

type Event = (Key, Val, RemovalCause);

thread_local! {
  /// Handles on this thread that want removal events, per cache id.
  static INTEREST: RefCell<HashMap<u64, usize>> = RefCell::new(HashMap::new());
  /// Removals done by this thread's calls, per cache id, not yet handed to JavaScript.
  static EVENTS: RefCell<HashMap<u64, Vec<Event>>> = RefCell::new(HashMap::new());
}

fn reason(cause: RemovalCause) -> &'static str {
    match cause {
        RemovalCause::Size => "evict",
        RemovalCause::Replaced => "set",
        RemovalCause::Explicit => "delete",
        RemovalCause::Expired => "expire",
    }
}

/// Options of a shared cache; the first opener's options define it.
#[napi(object)]
pub struct SharedOptions {
    pub max: Option<f64>,
    pub max_size: Option<f64>,
    pub ttl: Option<f64>,
    pub update_age_on_get: Option<bool>,
    pub policy: Option<String>,
    /// Test hook: a manual clock moved by `advanceClock`.
    pub manual_clock: Option<bool>,
    /// Whether this handle hands removal events to JavaScript (`takeEvents`).
    pub dispose: Option<bool>,
}

#[napi(object, object_from_js = false)]
pub struct SharedEvent {
    #[napi(ts_type = "string | Buffer")]
    pub key: JsData,
    #[napi(ts_type = "string | Buffer")]
    pub value: JsData,
    pub reason: String,
}

#[napi(object, object_from_js = false)]
pub struct SharedClaim {
    /// 0: present (`value`), 1: load it and settle `token`, 2: wait on `token`.
    pub kind: u32,
    #[napi(ts_type = "string | Buffer")]
    pub value: Option<JsData>,
    pub token: u32,
}

#[napi(object, object_from_js = false)]
pub struct SharedWaitResult {
    /// "loaded", "absent", "failed" or "abandoned" (the loader went away: retry).
    pub kind: String,
    #[napi(ts_type = "string | Buffer")]
    pub value: Option<JsData>,
    pub error: Option<String>,
}

#[napi(object, object_from_js = false)]
pub struct SharedStats {
    pub hits: f64,
    pub misses: f64,
    pub evictions: f64,
    pub load_successes: f64,
    pub load_failures: f64,
}

type Guard = LoadGuard<Key, Val, RandomState>;

/// The native side of `SharedCache` (one handle per thread and `new SharedCache`).
#[napi]
pub struct SharedCacheHandle {
    shared: Arc<Shared>,
    wants_events: bool,
    loads: HashMap<u32, Guard>,
    waits: HashMap<u32, LoadWaiter<Key, Val>>,
    next_token: u32,
}

fn duration_ms(ms: f64, what: &str) -> Result<Duration> {
    if !(ms.is_finite() && ms > 0.0) {
        return Err(Error::new(
            Status::InvalidArg,
            format!("{what} must be a positive number of milliseconds"),
        ));
    }
    Ok(Duration::from_nanos((ms * 1e6) as u64))
}

fn build(opts: &SharedOptions) -> Result<Shared> {
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    let mut b = Cache::builder().eviction_listener(move |k: Key, v: Val, cause| {
        // `try_with`: a thread being torn down (a worker exiting) just drops the event.
        let interested = INTEREST
            .try_with(|i| i.borrow().get(&id).is_some_and(|&n| n > 0))
            .unwrap_or(false);
        if interested {
            let _ = EVENTS.try_with(|e| e.borrow_mut().entry(id).or_default().push((k, v, cause)));
        }
    });
    match opts.policy.as_deref() {
        None | Some("tinylfu") => {}
        Some("lru") => b = b.eviction_policy(EvictionPolicy::Lru),
        Some(other) => {
            return Err(Error::new(
                Status::InvalidArg,
                format!("policy must be 'tinylfu' or 'lru', got '{other}'"),
            ))
        }
    }
    let max = opts.max.unwrap_or(0.0);
    let max_size = opts.max_size.unwrap_or(0.0);
    if max_size > 0.0 {
        b = b.max_capacity(max_size as u64).weigher(|k: &Key, v: &Val| {
            u32::try_from(k.len() + v.len()).unwrap_or(u32::MAX).max(1)
        });
    } else if max > 0.0 {
        b = b.max_capacity(max as u64);
    }
    let ttl = match opts.ttl.filter(|&t| t > 0.0) {
        Some(t) => Some(duration_ms(t, "ttl")?),
        None => None,
    };
    if opts.update_age_on_get.unwrap_or(false) {
        b = b.expire_after(AgeOnGet { ttl });
    } else if let Some(d) = ttl {
        b = b.time_to_live(d);
    }
    let mut mock = None;
    if opts.manual_clock.unwrap_or(false) {
        let (clock, m) = cortado::quanta::Clock::mock();
        b = b.clock(clock);
        mock = Some(m);
    }
    let cache = b
        .try_build()
        .map_err(|e| Error::new(Status::InvalidArg, e.to_string()))?;
    Ok(Shared {
        cache,
        age_on_get: opts.update_age_on_get.unwrap_or(false),
        id,
        signature: String::new(),
        mock,
    })
}

fn signature(o: &SharedOptions) -> String {
    format!(
        "max={:?} maxSize={:?} ttl={:?} updateAgeOnGet={:?} policy={:?} manualClock={:?}",
        o.max.unwrap_or(0.0),
        o.max_size.unwrap_or(0.0),
        o.ttl.unwrap_or(0.0),
        o.update_age_on_get.unwrap_or(false),
        o.policy.as_deref().unwrap_or("tinylfu"),
        o.manual_clock.unwrap_or(false),
    )
}

#[napi]
impl SharedCacheHandle {
    /// Opens the cache called `name`, creating it with `options` if no thread has it open.
    #[napi(constructor)]
    pub fn new(name: String, options: SharedOptions) -> Result<Self> {
        let sig = signature(&options);
        let shared = {
            let mut reg = registry().lock().unwrap_or_else(|e| e.into_inner());
            reg.retain(|_, w| w.strong_count() > 0);
            match reg.get(&name).and_then(Weak::upgrade) {
                Some(s) if s.signature == sig => s,
                Some(s) => {
                    return Err(Error::new(
                        Status::InvalidArg,
                        format!(
                            "SharedCache '{name}' is already open with other options ({})",
                            s.signature
                        ),
                    ))
                }
                None => {
                    let mut s = build(&options)?;
                    s.signature = sig;
                    let s = Arc::new(s);
                    reg.insert(name, Arc::downgrade(&s));
                    s
                }
            }
        };
        let wants_events = options.dispose.unwrap_or(false);
        if wants_events {
            INTEREST.with(|i| *i.borrow_mut().entry(shared.id).or_default() += 1);
        }
        Ok(Self {
            shared,
            wants_events,
            loads: HashMap::new(),
            waits: HashMap::new(),
            next_token: 1,
        })
    }

    /// The value for `key`, or `null` if absent or expired (a use: recency, time-to-idle, stats).
    #[napi(ts_return_type = "string | Buffer | null")]
    pub fn get(&self, key: Either<String, Buffer>) -> Option<JsData> {
        self.shared.cache.get(&Key::from_js(key)).map(JsData::from)
    }

    /// The value for `key` without counting it as a use.
    #[napi(ts_return_type = "string | Buffer | null")]
    pub fn peek(&self, key: Either<String, Buffer>) -> Option<JsData> {
        self.shared.cache.peek(&Key::from_js(key)).map(JsData::from)
    }

    #[napi]
    pub fn has(&self, key: Either<String, Buffer>) -> bool {
        self.shared.cache.contains_key(&Key::from_js(key))
    }

    /// Inserts or replaces; `ttl` (ms) gives this entry its own time-to-live.
    #[napi]
    pub fn set(
        &self,
        key: Either<String, Buffer>,
        value: Either<String, Buffer>,
        ttl: Option<f64>,
    ) -> Result<()> {
        let ttl = match ttl {
            Some(t) if t > 0.0 => Some(duration_ms(t, "ttl")?),
            _ => None,
        };
        let (k, v) = (Key::from_js(key), Val::from_js(value, ttl));
        match ttl {
            // With `updateAgeOnGet`, `AgeOnGet` reads the value's own time-to-live.
            Some(d) if !self.shared.age_on_get => self.shared.cache.insert_with_ttl(k, v, d),
            _ => self.shared.cache.insert(k, v),
        }
        Ok(())
    }

    /// Removes `key`; whether a live entry was removed.
    #[napi]
    pub fn delete(&self, key: Either<String, Buffer>) -> bool {
        self.shared.cache.remove(&Key::from_js(key)).is_some()
    }

    #[napi]
    pub fn clear(&self) {
        self.shared.cache.invalidate_all();
    }

    /// Entries stored (including expired ones not yet reclaimed).
    #[napi]
    pub fn size(&self) -> f64 {
        self.shared.cache.entry_count() as f64
    }

    #[napi]
    pub fn weighted_size(&self) -> f64 {
        self.shared.cache.weighted_size() as f64
    }

    /// Applies buffered work now: eviction and expiry.
    #[napi]
    pub fn run_pending_tasks(&self) {
        self.shared.cache.run_pending_tasks();
    }

    /// Keys in eviction order, coldest first.
    #[napi(ts_return_type = "Array<string | Buffer>")]
    pub fn keys_coldest_first(&self) -> Vec<JsData> {
        self.shared
            .cache
            .keys_coldest_first()
            .into_iter()
            .map(JsData::from)
            .collect()
    }

    #[napi]
    pub fn stats(&self) -> SharedStats {
        let s = self.shared.cache.stats();
        SharedStats {
            hits: s.hits as f64,
            misses: s.misses as f64,
            evictions: s.eviction_count as f64,
            load_successes: s.load_successes as f64,
            load_failures: s.load_failures as f64,
        }
    }

    /// Test hook: moves the manual clock (only for caches opened with `manualClock`).
    #[napi]
    pub fn advance_clock(&self, ms: f64) -> Result<()> {
        match &self.shared.mock {
            Some(m) => {
                m.increment(Duration::from_nanos((ms.max(0.0) * 1e6) as u64));
                Ok(())
            }
            None => Err(Error::new(
                Status::InvalidArg,
                "advanceClock needs a cache opened with manualClock",
            )),
        }
    }

    /// Removals done by this thread's calls since the last call, as `{key, value, reason}`.
    #[napi]
    pub fn take_events(&self) -> Vec<SharedEvent> {
        if !self.wants_events {
            return Vec::new();
        }
        let events = EVENTS
            .with(|e| e.borrow_mut().remove(&self.shared.id))
            .unwrap_or_default();
        events
            .into_iter()
            .map(|(k, v, c)| SharedEvent {
                key: k.into(),
                value: v.into(),
                reason: reason(c).to_string(),
            })
            .collect()
    }

    fn token(&mut self) -> u32 {
        let t = self.next_token;
        self.next_token = self.next_token.wrapping_add(1).max(1);
        t
    }

    /// The coalescing claim behind `fetch`: the value if present, else the duty to load it
    /// (settle the token with `complete`/`completeAbsent`/`fail`), else a load to wait for
    /// (`wait` with the token).
    #[napi]
    pub fn claim(&mut self, key: Either<String, Buffer>) -> SharedClaim {
        match self.shared.cache.claim_load_detached(Key::from_js(key)) {
            Claim::Present(v) => SharedClaim {
                kind: 0,
                value: Some(v.into()),
                token: 0,
            },
            Claim::Load(g) => {
                let token = self.token();
                self.loads.insert(token, g);
                SharedClaim {
                    kind: 1,
                    value: None,
                    token,
                }
            }
            Claim::Wait(w) => {
                let token = self.token();
                self.waits.insert(token, w);
                SharedClaim {
                    kind: 2,
                    value: None,
                    token,
                }
            }
        }
    }

    /// Stores the loaded value (with the cache's own expiry) and wakes every waiter.
    #[napi]
    pub fn complete(&mut self, token: u32, value: Either<String, Buffer>) -> Result<()> {
        let g = self
            .loads
            .remove(&token)
            .ok_or_else(|| Error::new(Status::InvalidArg, "unknown load token"))?;
        g.complete(Val::from_js(value, None));
        Ok(())
    }

    /// The loader found nothing: nothing is cached, waiters see "absent".
    #[napi]
    pub fn complete_absent(&mut self, token: u32) {
        if let Some(g) = self.loads.remove(&token) {
            g.complete_absent();
        }
    }

    /// The loader failed with `message`: nothing is cached, waiters see the same failure.
    #[napi]
    pub fn fail(&mut self, token: u32, message: String) {
        if let Some(g) = self.loads.remove(&token) {
            g.fail(Arc::new(message));
        }
    }

    /// Calls `callback(result)` on this thread once the load behind `token` ends.
    #[napi(ts_args_type = "token: number, callback: (result: SharedWaitResult) => void")]
    pub fn wait(
        &mut self,
        token: u32,
        callback: ThreadsafeFunction<SharedWaitResult, (), SharedWaitResult, Status, false>,
    ) -> Result<()> {
        let w = self
            .waits
            .remove(&token)
            .ok_or_else(|| Error::new(Status::InvalidArg, "unknown wait token"))?;
        w.on_complete(move |r| {
            let out = match r {
                LoadResult::Loaded(v) => SharedWaitResult {
                    kind: "loaded".into(),
                    value: Some(v.into()),
                    error: None,
                },
                LoadResult::Absent => SharedWaitResult {
                    kind: "absent".into(),
                    value: None,
                    error: None,
                },
                LoadResult::Failed(e) => SharedWaitResult {
                    kind: "failed".into(),
                    value: None,
                    error: Some(
                        e.downcast_ref::<String>()
                            .cloned()
                            .unwrap_or_else(|| "the loader failed".to_string()),
                    ),
                },
                LoadResult::Abandoned => SharedWaitResult {
                    kind: "abandoned".into(),
                    value: None,
                    error: None,
                },
            };
            callback.call(out, ThreadsafeFunctionCallMode::NonBlocking);
        });
        Ok(())
    }

    /// Releases loads this handle still holds (waiters retry) and stops collecting events.
    #[napi]
    pub fn close(&mut self) {
        self.loads.clear();
        self.waits.clear();
        if self.wants_events {
            self.wants_events = false;
            let id = self.shared.id;
            let _ = INTEREST.try_with(|i| {
                let mut i = i.borrow_mut();
                if let Some(n) = i.get_mut(&id) {
                    *n = n.saturating_sub(1);
                }
            });
        }
    }
}

impl Drop for SharedCacheHandle {
    fn drop(&mut self) {
        self.close();
    }
}
