package ratelimit

import (
	"errors"
	"math/bits"
	"sync"
	"time"

	"github.com/hashicorp/golang-lru/v2/simplelru"
)

// Result is Allow's answer.
type Result struct {
	// Allowed is true when every rule had a token and one was taken from each.
	Allowed bool
	// Limited is the rule that denied the call (a copy of the caller's rule),
	// nil when Allowed. When several rules are exhausted it is the one that
	// refills last, so retrying before RetryAfter is certainly futile.
	Limited *Rule
	// RetryAfter is how long until Limited's bucket holds a token (rounded up
	// to the nanosecond); 0 when Allowed or when Err is set. Other callers may
	// take that token first, so it is a hint, not a reservation.
	RetryAfter time.Duration
	// Err is set when Limited failed Validate: the call is denied (fail
	// closed) and nothing was charged.
	Err error
}

// bucketKey identifies a bucket: the rule's key and its parameters, so that a
// changed limit gets a fresh bucket.
type bucketKey struct {
	key    string
	limit  int64
	window int64 // ns
	burst  int64 // capacity, never 0
}

func keyOf(r *Rule) bucketKey {
	return bucketKey{key: r.Key, limit: int64(r.Limit), window: int64(r.Window), burst: int64(r.capacity())}
}

// bucket is a token bucket whose level is tokens + frac/window: frac counts
// progress towards the next token in units where one token is `window` units
// and `limit` units accrue per nanosecond, so refill is exact integer
// arithmetic. A full bucket's frac is 0 or, when it filled less than a
// nanosecond before it was last refilled, that nanosecond's surplus.
type bucket struct {
	tokens int64  // whole tokens, 0..burst
	frac   uint64 // 0..window-1
	last   int64  // limiter time (ns) the level was computed for
}

// refill brings b up to time t (≥ b.last).
func (b *bucket) refill(t int64, k *bucketKey) {
	if t <= b.last {
		return
	}
	elapsed := uint64(t - b.last)
	b.last = t
	if b.tokens >= k.burst {
		return // full: accrual is discarded
	}
	// units = elapsed*limit + frac, in 128 bits; tokens gained = units / window.
	hi, lo := bits.Mul64(elapsed, uint64(k.limit))
	var carry uint64
	lo, carry = bits.Add64(lo, b.frac, 0)
	hi += carry
	w := uint64(k.window)
	need := uint64(k.burst - b.tokens)
	if hi >= w { // quotient ≥ 2^64: certainly full, long ago
		b.tokens, b.frac = k.burst, 0
		return
	}
	q, rem := bits.Div64(hi, lo, w)
	if q < need {
		b.tokens += int64(q)
		b.frac = rem
		return
	}
	// Full. The surplus accrual, (q-need)*w + rem units, is discarded, except
	// when it is less than one nanosecond's worth (< limit units): the bucket
	// filled during the last nanosecond, and keeping that sub-nanosecond
	// remainder keeps tokens on the exact schedule ceil(i*window/limit) for a
	// client that comes back at RetryAfter, even with burst 1.
	b.tokens, b.frac = k.burst, 0
	sHi, sLo := bits.Mul64(q-need, w)
	sLo, carry = bits.Add64(sLo, rem, 0)
	if sHi+carry == 0 && sLo < uint64(k.limit) {
		b.frac = rem
	}
}

// wait is how long, in ns, until an empty bucket holds one token:
// ceil((window - frac) / limit).
func (b *bucket) wait(k *bucketKey) int64 {
	missing := uint64(k.window) - b.frac
	l := uint64(k.limit)
	return int64((missing + l - 1) / l)
}

// Limiter holds token buckets in a bounded LRU cache. It is safe for
// concurrent use; the zero value is not usable, call New.
type Limiter struct {
	now  func() time.Time
	base time.Time // time zero of the limiter's clock

	mu    sync.Mutex
	high  int64 // latest limiter time seen, ns since base; time never runs backwards
	cache *simplelru.LRU[bucketKey, *bucket]
}

// New returns a Limiter keeping at most maxKeys buckets (≥ 1), the least
// recently used evicted first. now is the clock; nil means time.Now.
func New(maxKeys int, now func() time.Time) (*Limiter, error) {
	if maxKeys < 1 {
		return nil, errors.New("ratelimit: maxKeys must be at least 1")
	}
	if now == nil {
		now = time.Now
	}
	c, err := simplelru.NewLRU[bucketKey, *bucket](maxKeys, nil)
	if err != nil {
		return nil, err
	}
	return &Limiter{now: now, base: now(), cache: c}, nil
}

// Len is the number of buckets held.
func (l *Limiter) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.cache.Len()
}

// smallRules is how many distinct rules a call may have before Allow
// allocates scratch space.
const smallRules = 8

// Allow takes one token from the bucket of every rule, atomically: either
// every bucket has a token and each is charged once, or none is charged and
// the Result names the limiting rule and when to retry. A bucket named more
// than once is charged once. No rules: allowed. An invalid rule: denied,
// Result.Err set.
func (l *Limiter) Allow(rules []Rule) Result {
	if len(rules) == 0 {
		return Result{Allowed: true}
	}
	for i := range rules {
		if err := rules[i].Validate(); err != nil {
			r := rules[i]
			return Result{Limited: &r, Err: err}
		}
	}

	// Distinct buckets, and for each the index of the first rule naming it.
	var (
		keyBuf [smallRules]bucketKey
		idxBuf [smallRules]int
		bktBuf [smallRules]*bucket
	)
	keys, idx, bkts := keyBuf[:0], idxBuf[:0], bktBuf[:0]
	if len(rules) > smallRules {
		keys = make([]bucketKey, 0, len(rules))
		idx = make([]int, 0, len(rules))
		bkts = make([]*bucket, len(rules))
	}
	var seen map[bucketKey]struct{}
	if len(rules) > smallRules {
		seen = make(map[bucketKey]struct{}, len(rules))
	}
	for i := range rules {
		k := keyOf(&rules[i])
		if seen != nil {
			if _, dup := seen[k]; dup {
				continue
			}
			seen[k] = struct{}{}
		} else if containsKey(keys, k) {
			continue
		}
		keys = append(keys, k)
		idx = append(idx, i)
	}
	bkts = bkts[:len(keys)]

	now := int64(l.now().Sub(l.base))

	l.mu.Lock()
	if now > l.high {
		l.high = now
	}
	t := l.high

	// Phase 1: refill and check every bucket; charge nothing yet. A bucket
	// not in the cache would start full (capacity ≥ 1), so it cannot limit.
	limited, worst := -1, int64(0)
	for i := range keys {
		b, ok := l.cache.Get(keys[i])
		if !ok {
			bkts[i] = nil
			continue
		}
		b.refill(t, &keys[i])
		bkts[i] = b
		if b.tokens < 1 {
			if w := b.wait(&keys[i]); limited < 0 || w > worst {
				limited, worst = i, w
			}
		}
	}
	if limited >= 0 {
		l.mu.Unlock()
		r := rules[idx[limited]]
		return Result{Limited: &r, RetryAfter: time.Duration(worst)}
	}

	// Phase 2: every bucket has a token; take one from each.
	for i := range keys {
		if b := bkts[i]; b != nil {
			b.tokens--
		} else {
			l.cache.Add(keys[i], &bucket{tokens: keys[i].burst - 1, last: t})
		}
	}
	l.mu.Unlock()
	return Result{Allowed: true}
}

func containsKey(keys []bucketKey, k bucketKey) bool {
	for i := range keys {
		if keys[i] == k {
			return true
		}
	}
	return false
}
