// Package ratelimit enforces the rate limits that policies ask for.
//
// Rego chooses which limits apply to a call (so the choice is testable with
// stock `opa test`); this package enforces them, atomically, as token buckets.
// A policy asks for a limit with an obligation in its decision:
//
//	{"type": "rate_limit", "key": "fs:delete:alice", "limit": 10, "window": "1m", "burst": 3}
//
// Fields (any other field is an error, so a misspelt "brust" cannot silently
// loosen a limit):
//
//   - type: "rate_limit" (may be omitted when the caller has already dispatched on it).
//   - key: the bucket's name, a non-empty string of at most 512 bytes. The policy
//     decides what it contains, e.g. tool and principal: "fs:delete:alice".
//   - limit: a whole number ≥ 1 (at most 1,000,000): tokens refilled per window.
//   - window: a Go duration string ("1m", "90s", "1h30m", "500ms") or a number of
//     seconds (60, 0.5); greater than zero and at most 24h.
//   - per_s: accepted instead of window, a number of seconds ("limit per_s
//     seconds"); giving both window and per_s is an error.
//   - burst: optional whole number 1..1,000,000, the bucket's capacity; absent or
//     null means burst = limit.
//
// The normalised Go form is Rule{Key, Limit, Window, Burst}: Limit tokens are
// added per Window, continuously (10 per minute is one token every 6 s,
// computed exactly to the nanosecond with integer arithmetic, so there is no
// drift however long the bucket lives), up to Burst tokens. A bucket starts
// full. ParseRule always fills Burst; a Rule built by hand may leave it 0 to
// mean Limit. Time is counted in whole nanoseconds: the refill of the
// nanosecond in which a bucket fills up is not thrown away, so a client that
// retries at RetryAfter gets exactly Limit tokens per Window forever, even with
// Burst 1 and an interval that is not a whole number of nanoseconds (two such
// admissions are then never closer than Window/Limit minus one nanosecond).
//
// Limiter.Allow takes one token from the bucket of every rule of a call, all
// or nothing: when any bucket is empty nothing is charged and the Result
// names the limiting rule and how long until its bucket holds a token.
//
// Decisions and trade-offs:
//
//   - A bucket is identified by (Key, Limit, Window, Burst), not by Key alone.
//     A policy change that alters a limit therefore gets a fresh, full bucket
//     (after a reload every changed limit starts with its whole burst); the
//     old bucket is never consulted again and ages out of the cache. Two
//     obligations with the same key but different parameters are two
//     independent limits, and both apply.
//   - The same bucket named twice in one call is charged once.
//   - Memory is bounded: buckets live in a golang-lru/v2 (simplelru) cache of
//     maxKeys entries guarded by the Limiter's mutex. A flood of distinct keys
//     evicts the least recently used buckets. Evicting a bucket that was full
//     loses nothing (it would be recreated full); evicting a partly drained
//     one resets it to full, so a caller able to mint distinct keys faster
//     than maxKeys can reset idle buckets. Buckets in active use are the most
//     recently used and survive, so policies should put the principal in the
//     key: then an attacker's flood mostly resets the attacker's own buckets.
//     Size maxKeys well above the number of live keys. A call that is denied
//     creates no bucket, so denied floods do not churn the cache.
//   - No goroutines and no timers: refill is computed lazily from the clock on
//     each use. A bucket costs about 170 bytes of heap (its three words, the
//     cache's list entry and map slot) plus its key string, so 100,000 keys
//     with 32-byte keys take about 20 MB.
//   - Time only moves forward: the Limiter keeps the latest time it has seen
//     and a clock that goes backwards reads as that time, so it cannot mint
//     tokens. time.Now's monotonic reading is used when the clock is time.Now.
//   - One mutex makes a call atomic across its rules. The clock is read
//     before taking it, and the critical section is a map lookup and a few
//     integer operations per rule: an allowed one-rule call takes about 135 ns
//     in all, a third of it reading the clock, three rules about 235 ns, with
//     no allocation (go test -bench . ./core/ratelimit/, 2-core VM). That is
//     well under a microsecond and a small fraction of a policy evaluation, so
//     lock striping (and its lock ordering) is not worth it.
//   - A Rule that fails Validate denies the call (fail closed) with
//     Result.Err set; nothing is charged.
package ratelimit
