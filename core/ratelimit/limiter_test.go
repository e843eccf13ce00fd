package ratelimit

import (
	"errors"
	"fmt"
	"math/big"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeClock is a settable clock, safe for concurrent use.
type fakeClock struct{ ns atomic.Int64 }

var epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func (c *fakeClock) Now() time.Time          { return epoch.Add(time.Duration(c.ns.Load())) }
func (c *fakeClock) Advance(d time.Duration) { c.ns.Add(int64(d)) }
func (c *fakeClock) Set(d time.Duration)     { c.ns.Store(int64(d)) }
func (c *fakeClock) Elapsed() time.Duration  { return time.Duration(c.ns.Load()) }

func newLimiter(t testing.TB, maxKeys int) (*Limiter, *fakeClock) {
	t.Helper()
	c := &fakeClock{}
	l, err := New(maxKeys, c.Now)
	if err != nil {
		t.Fatal(err)
	}
	return l, c
}

// drain takes tokens until denied and returns how many were taken.
func drain(t testing.TB, l *Limiter, rules ...Rule) int {
	t.Helper()
	for n := 0; ; n++ {
		if !l.Allow(rules).Allowed {
			return n
		}
		if n > MaxBurst {
			t.Fatalf("bucket never empties")
		}
	}
}

// tokenAt is when, after a drain at time 0, the i-th token is back:
// ceil(i*window/limit).
func tokenAt(i int64, r Rule) time.Duration {
	n := i * int64(r.Window)
	return time.Duration((n + int64(r.Limit) - 1) / int64(r.Limit))
}

var shapes = []Rule{
	{Key: "10/min burst 3", Limit: 10, Window: time.Minute, Burst: 3},
	{Key: "10/min default burst", Limit: 10, Window: time.Minute},
	{Key: "3/10s burst 1 (1 per 3.33…s)", Limit: 3, Window: 10 * time.Second, Burst: 1},
	{Key: "7/s burst 2", Limit: 7, Window: time.Second, Burst: 2},
	{Key: "1/24h", Limit: 1, Window: 24 * time.Hour},
	{Key: "1000/h burst 50", Limit: 1000, Window: time.Hour, Burst: 50},
	{Key: "2/3ns burst 5 (sub-ns interval)", Limit: 2, Window: 3, Burst: 5},
	{Key: "1000/1ns burst 2000", Limit: 1000, Window: 1, Burst: 2000},
}

func TestBurstCapsSubNanosecondRates(t *testing.T) {
	// 1000 tokens accrue per nanosecond, but the bucket holds one.
	r := Rule{Key: "k", Limit: 1000, Window: 1, Burst: 1}
	l, clk := newLimiter(t, 4)
	for i := 0; i < 100; i++ {
		if got := drain(t, l, r); got != 1 {
			t.Fatalf("at %v: %d allowed, want 1", clk.Elapsed(), got)
		}
		clk.Advance(time.Duration(1 + i%3))
	}
}

func TestBurstThenSteadyRate(t *testing.T) {
	for _, r := range shapes {
		t.Run(r.Key, func(t *testing.T) {
			l, clk := newLimiter(t, 16)
			rules := []Rule{r}
			if got, want := drain(t, l, r), r.capacity(); got != want {
				t.Fatalf("burst: %d calls allowed at t=0, want %d", got, want)
			}
			// Then one token per window/limit, each exactly on time, never early.
			prev := time.Duration(0)
			for i := int64(1); i <= 3*int64(r.Limit) && i <= 50; i++ {
				at := tokenAt(i, r)
				if at-1 > prev {
					clk.Set(at - 1)
					if res := l.Allow(rules); res.Allowed {
						t.Fatalf("token %d allowed at %v, 1ns early (due %v)", i, at-1, at)
					}
				}
				clk.Set(at)
				if !l.Allow(rules).Allowed {
					t.Fatalf("token %d denied at %v, when it is due", i, at)
				}
				// Any further tokens due at the same nanosecond (sub-ns intervals).
				for tokenAt(i+1, r) == at {
					i++
					if !l.Allow(rules).Allowed {
						t.Fatalf("token %d denied at %v, when it is due", i, at)
					}
				}
				if res := l.Allow(rules); res.Allowed {
					t.Fatalf("extra token after token %d at %v", i, at)
				}
				prev = at
			}
		})
	}
}

func TestExactlyLimitPerWindowSteadyState(t *testing.T) {
	for _, r := range shapes {
		t.Run(r.Key, func(t *testing.T) {
			l, clk := newLimiter(t, 16)
			rules := []Rule{r}
			drain(t, l, r)
			windows := int64(1000)
			if r.Window == 24*time.Hour {
				windows = 30
			}
			// A client that retries exactly when told: count admissions per
			// window (k*W, (k+1)*W].
			counts := make([]int64, windows)
			end := time.Duration(windows) * r.Window
			for calls := 0; ; calls++ {
				if calls > 10_000_000 {
					t.Fatal("too many calls")
				}
				res := l.Allow(rules)
				if res.Allowed {
					w := (clk.Elapsed() - 1) / r.Window // token instants are > 0
					counts[w]++
					continue
				}
				if res.RetryAfter <= 0 {
					t.Fatalf("denied with RetryAfter %v", res.RetryAfter)
				}
				if clk.Elapsed()+res.RetryAfter > end {
					break
				}
				clk.Advance(res.RetryAfter)
			}
			for k, n := range counts {
				if n != int64(r.Limit) {
					t.Fatalf("window %d admitted %d, want exactly %d (total over %d windows must be %d with no drift)",
						k, n, r.Limit, windows, windows*int64(r.Limit))
				}
			}
		})
	}
}

func TestRetryAfter(t *testing.T) {
	r := Rule{Key: "k", Limit: 10, Window: time.Minute, Burst: 3}
	steps := []struct {
		advance time.Duration
		allowed bool
		retry   time.Duration // when denied
	}{
		{0, true, 0}, {0, true, 0}, {0, true, 0},
		{0, false, 6 * time.Second},
		{time.Second, false, 5 * time.Second},
		{5*time.Second - 1, false, 1},
		{1, true, 0},
		{0, false, 6 * time.Second},
		{4 * time.Second, false, 2 * time.Second}, // partial progress is kept
		{2 * time.Second, true, 0},
		{17 * time.Second, true, 0}, // 17s = 2 tokens + 5s progress
		{0, true, 0},
		{0, false, time.Second},
		{time.Hour, true, 0}, // full again: 3
		{0, true, 0},
		{0, true, 0},
		{0, false, 6 * time.Second}, // a refilled bucket keeps no progress beyond full
	}
	l, clk := newLimiter(t, 4)
	for i, s := range steps {
		clk.Advance(s.advance)
		res := l.Allow([]Rule{r})
		if res.Allowed != s.allowed {
			t.Fatalf("step %d at %v: allowed=%v, want %v", i, clk.Elapsed(), res.Allowed, s.allowed)
		}
		if !s.allowed {
			if res.RetryAfter != s.retry {
				t.Fatalf("step %d at %v: RetryAfter %v, want %v", i, clk.Elapsed(), res.RetryAfter, s.retry)
			}
			if res.Limited == nil || *res.Limited != r {
				t.Fatalf("step %d: Limited = %v, want %v", i, res.Limited, r)
			}
		} else if res.RetryAfter != 0 || res.Limited != nil || res.Err != nil {
			t.Fatalf("step %d: allowed result carries %+v", i, res)
		}
	}
}

func TestRetryAfterIsExact(t *testing.T) {
	// For every shape: retrying at RetryAfter succeeds, 1ns before fails.
	for _, r := range shapes {
		t.Run(r.Key, func(t *testing.T) {
			l, clk := newLimiter(t, 4)
			drain(t, l, r)
			clk.Advance(r.Window / 3) // some partial progress
			for i := 0; i < 20; i++ {
				res := l.Allow([]Rule{r})
				if res.Allowed {
					continue
				}
				if res.RetryAfter > 1 {
					clk.Advance(res.RetryAfter - 1)
					if l.Allow([]Rule{r}).Allowed {
						t.Fatalf("allowed 1ns before RetryAfter %v", res.RetryAfter)
					}
					clk.Advance(1)
				} else {
					clk.Advance(res.RetryAfter)
				}
				if !l.Allow([]Rule{r}).Allowed {
					t.Fatalf("denied at RetryAfter %v", res.RetryAfter)
				}
			}
		})
	}
}

func TestMultiRuleAtomicity(t *testing.T) {
	a := Rule{Key: "tool:alice", Limit: 5, Window: time.Minute}
	b := Rule{Key: "delete:alice", Limit: 1, Window: time.Minute, Burst: 2}
	for _, order := range [][]Rule{{a, b}, {b, a}} {
		t.Run(order[0].Key+" first", func(t *testing.T) {
			l, _ := newLimiter(t, 16)
			for i := 0; i < 2; i++ {
				if !l.Allow(order).Allowed {
					t.Fatalf("call %d denied", i)
				}
			}
			for i := 0; i < 5; i++ { // denied calls must not charge a
				res := l.Allow(order)
				if res.Allowed || res.Limited == nil || *res.Limited != b {
					t.Fatalf("call limited by %v, want %v", res.Limited, b)
				}
				if res.RetryAfter != time.Minute {
					t.Fatalf("RetryAfter %v, want 1m", res.RetryAfter)
				}
			}
			if got := drain(t, l, a); got != 3 {
				t.Fatalf("rule a has %d tokens left, want 3 (5 minus the 2 allowed calls)", got)
			}
		})
	}
}

func TestMultiRuleLimitedReportsLongestWait(t *testing.T) {
	a := Rule{Key: "a", Limit: 1, Window: 10 * time.Second} // refills after 10s
	b := Rule{Key: "b", Limit: 1, Window: time.Minute}      // refills after 60s
	c := Rule{Key: "c", Limit: 100, Window: time.Minute}
	l, _ := newLimiter(t, 16)
	if !l.Allow([]Rule{a, b, c}).Allowed {
		t.Fatal("first call denied")
	}
	for _, rules := range [][]Rule{{a, b, c}, {b, a, c}, {c, a, b}} {
		res := l.Allow(rules)
		if res.Allowed || res.Limited == nil || *res.Limited != b || res.RetryAfter != time.Minute {
			t.Fatalf("Allow(%v) = %+v, want limited by b for 1m", rules, res)
		}
	}
	if got := drain(t, l, c); got != 99 {
		t.Fatalf("c has %d tokens, want 99", got)
	}
}

func TestDeniedCallCreatesNoBucket(t *testing.T) {
	l, _ := newLimiter(t, 16)
	a := Rule{Key: "a", Limit: 1, Window: time.Minute}
	l.Allow([]Rule{a})
	for i := 0; i < 100; i++ {
		if l.Allow([]Rule{a, {Key: fmt.Sprint("new", i), Limit: 1, Window: time.Minute}}).Allowed {
			t.Fatal("allowed")
		}
	}
	if l.Len() != 1 {
		t.Fatalf("Len = %d after denied calls with new keys, want 1", l.Len())
	}
}

func TestDuplicateRulesChargedOnce(t *testing.T) {
	for _, n := range []int{2, 20} { // both the small path and the map path
		l, _ := newLimiter(t, 64)
		r := Rule{Key: "k", Limit: 4, Window: time.Minute}
		explicit := r
		explicit.Burst = 4 // same bucket as Burst 0
		rules := []Rule{r, explicit}
		for len(rules) < n {
			rules = append(rules, r)
		}
		if got := drain(t, l, rules...); got != 4 {
			t.Fatalf("%d copies of one rule: %d calls allowed, want 4", n, got)
		}
		if l.Len() != 1 {
			t.Fatalf("Len = %d, want 1", l.Len())
		}
	}
}

func TestManyDistinctRulesAtomic(t *testing.T) {
	// More rules than the on-stack scratch space.
	l, _ := newLimiter(t, 1000)
	var rules []Rule
	for i := 0; i < 30; i++ {
		rules = append(rules, Rule{Key: fmt.Sprint("r", i), Limit: 3, Window: time.Minute})
	}
	last := Rule{Key: "last", Limit: 1, Window: time.Minute}
	rules = append(rules, last)
	if !l.Allow(rules).Allowed {
		t.Fatal("denied")
	}
	res := l.Allow(rules)
	if res.Allowed || *res.Limited != last {
		t.Fatalf("got %+v, want limited by last", res)
	}
	for i := 0; i < 30; i++ {
		if got := drain(t, l, rules[i]); got != 2 {
			t.Fatalf("rule %d: %d left, want 2", i, got)
		}
	}
}

func TestDistinctParametersDistinctBuckets(t *testing.T) {
	base := Rule{Key: "fs:delete:alice", Limit: 2, Window: time.Minute, Burst: 2}
	variants := []Rule{
		base,
		{Key: "fs:delete:bob", Limit: 2, Window: time.Minute, Burst: 2},
		{Key: "fs:delete:alice", Limit: 3, Window: time.Minute, Burst: 2},
		{Key: "fs:delete:alice", Limit: 2, Window: time.Hour, Burst: 2},
		{Key: "fs:delete:alice", Limit: 2, Window: time.Minute, Burst: 5},
	}
	l, _ := newLimiter(t, 64)
	for i, v := range variants {
		if got := drain(t, l, v); got != v.capacity() {
			t.Fatalf("variant %d (%v): %d allowed, want a fresh bucket of %d", i, v, got, v.capacity())
		}
		if l.Len() != i+1 {
			t.Fatalf("Len = %d after %d variants", l.Len(), i+1)
		}
	}
	// Burst 0 is the same bucket as Burst == Limit.
	if l.Allow([]Rule{{Key: "fs:delete:alice", Limit: 2, Window: time.Minute}}).Allowed {
		t.Fatal("Burst 0 got a different bucket from Burst = Limit")
	}
}

func TestLRUBoundUnderFlood(t *testing.T) {
	const maxKeys = 1000
	l, clk := newLimiter(t, maxKeys)
	hot := Rule{Key: "hot", Limit: 1, Window: time.Hour, Burst: 5}
	drain(t, l, hot)
	for i := 0; i < 100_000; i++ {
		r := Rule{Key: fmt.Sprintf("flood-%d", i), Limit: 1, Window: time.Hour}
		if !l.Allow([]Rule{r}).Allowed {
			t.Fatalf("fresh key %d denied", i)
		}
		if n := l.Len(); n > maxKeys {
			t.Fatalf("Len = %d > maxKeys %d after %d keys", n, maxKeys, i+1)
		}
		if i%100 == 0 { // a key in active use stays in the cache: still limited
			if res := l.Allow([]Rule{hot}); res.Allowed {
				t.Fatalf("hot key was reset by the flood at key %d", i)
			}
		}
		clk.Advance(time.Microsecond)
	}
	if l.Len() != maxKeys {
		t.Fatalf("Len = %d, want %d", l.Len(), maxKeys)
	}
	// The documented trade-off: an idle drained bucket evicted by a flood comes back full.
	idle := Rule{Key: "idle", Limit: 1, Window: time.Hour}
	l.Allow([]Rule{idle})
	for i := 0; i < maxKeys; i++ {
		l.Allow([]Rule{{Key: fmt.Sprintf("flood2-%d", i), Limit: 1, Window: time.Hour}})
	}
	if !l.Allow([]Rule{idle}).Allowed {
		t.Fatal("evicted idle bucket was not reset (test of the documented trade-off)")
	}
}

func TestClockGoingBackwards(t *testing.T) {
	r := Rule{Key: "k", Limit: 10, Window: time.Minute, Burst: 2}
	l, clk := newLimiter(t, 4)
	clk.Set(time.Hour)
	drain(t, l, r)
	clk.Set(time.Hour + 3*time.Second) // half a token of progress
	if l.Allow([]Rule{r}).Allowed {
		t.Fatal("allowed after 3s")
	}
	// The clock swings back and forth: no time passes while it is behind.
	for i := 0; i < 1000; i++ {
		clk.Set(time.Duration(i%7) * time.Minute / 10)
		res := l.Allow([]Rule{r})
		if res.Allowed {
			t.Fatalf("clock at %v (behind) minted a token", clk.Elapsed())
		}
		if res.RetryAfter != 3*time.Second {
			t.Fatalf("RetryAfter %v while the clock is behind, want 3s from the latest time seen", res.RetryAfter)
		}
		clk.Set(time.Hour + 3*time.Second)
		if l.Allow([]Rule{r}).Allowed {
			t.Fatal("returning to the latest time minted a token")
		}
	}
	// A new bucket made while the clock is behind starts full and counts from the latest time.
	clk.Set(0)
	other := Rule{Key: "other", Limit: 1, Window: time.Minute}
	if !l.Allow([]Rule{other}).Allowed || l.Allow([]Rule{other}).Allowed {
		t.Fatal("new bucket while behind: want 1 allowed then denied")
	}
	clk.Set(time.Hour + 3*time.Second + time.Minute - 1)
	if l.Allow([]Rule{other}).Allowed {
		t.Fatal("new bucket refilled early")
	}
	clk.Set(time.Hour + 6*time.Second) // forward again: time runs from the latest time seen
	if !l.Allow([]Rule{r}).Allowed {
		t.Fatal("token due at +6s denied")
	}
}

func TestRealClock(t *testing.T) {
	l, err := New(8, nil)
	if err != nil {
		t.Fatal(err)
	}
	r := Rule{Key: "k", Limit: 1, Window: time.Hour, Burst: 2}
	if !l.Allow([]Rule{r}).Allowed || !l.Allow([]Rule{r}).Allowed {
		t.Fatal("burst denied")
	}
	res := l.Allow([]Rule{r})
	if res.Allowed || res.RetryAfter <= 59*time.Minute || res.RetryAfter > time.Hour {
		t.Fatalf("got %+v, want denied with RetryAfter just under 1h", res)
	}
}

func TestInvalidRuleDeniesWithoutCharging(t *testing.T) {
	good := Rule{Key: "g", Limit: 1, Window: time.Minute}
	bad := Rule{Key: "b", Limit: 0, Window: time.Minute}
	l, _ := newLimiter(t, 4)
	res := l.Allow([]Rule{good, bad})
	var fe *FieldError
	if res.Allowed || res.Err == nil || !errors.As(res.Err, &fe) || fe.Field != "limit" || res.Limited == nil || *res.Limited != bad {
		t.Fatalf("got %+v, want denied by the invalid rule", res)
	}
	if !l.Allow([]Rule{good}).Allowed {
		t.Fatal("the invalid call charged the good rule")
	}
}

func TestNoRulesAllowed(t *testing.T) {
	l, _ := newLimiter(t, 1)
	if res := l.Allow(nil); !res.Allowed {
		t.Fatalf("Allow(nil) = %+v", res)
	}
}

func TestNew(t *testing.T) {
	for _, n := range []int{0, -1} {
		if _, err := New(n, nil); err == nil {
			t.Errorf("New(%d) succeeded", n)
		}
	}
}

func TestConcurrentNeverOverAdmits(t *testing.T) {
	const goroutines = 32
	t.Run("fixed clock", func(t *testing.T) {
		l, _ := newLimiter(t, 64)
		r := Rule{Key: "k", Limit: 10, Window: time.Minute, Burst: 500}
		var admitted atomic.Int64
		var wg sync.WaitGroup
		for g := 0; g < goroutines; g++ {
			wg.Go(func() {
				for i := 0; i < 200; i++ {
					if l.Allow([]Rule{r}).Allowed {
						admitted.Add(1)
					}
				}
			})
		}
		wg.Wait()
		if got := admitted.Load(); got != 500 {
			t.Fatalf("admitted %d, want exactly the burst, 500", got)
		}
	})
	t.Run("moving clock", func(t *testing.T) {
		l, clk := newLimiter(t, 64)
		r := Rule{Key: "k", Limit: 7, Window: time.Second, Burst: 20}
		var admitted atomic.Int64
		var wg sync.WaitGroup
		for g := 0; g < goroutines; g++ {
			wg.Go(func() {
				for i := 0; i < 500; i++ {
					clk.Advance(time.Duration(1+(g*7919+i*104729)%5_000_000) * time.Nanosecond)
					if l.Allow([]Rule{r}).Allowed {
						admitted.Add(1)
					}
				}
			})
		}
		wg.Wait()
		elapsed := clk.Elapsed()
		max := int64(r.Burst) + int64(elapsed)*int64(r.Limit)/int64(r.Window)
		got := admitted.Load()
		if got > max {
			t.Fatalf("admitted %d over %v, theoretical max %d", got, elapsed, max)
		}
		if got < int64(r.Burst) {
			t.Fatalf("admitted only %d, less than the burst", got)
		}
		t.Logf("admitted %d of theoretical max %d over %v", got, max, elapsed)
	})
	t.Run("multi-rule atomic", func(t *testing.T) {
		// Group 1 calls [shared, narrow], group 2 calls [shared] only. Group
		// 2 tries often enough to empty shared, so shared admits exactly its
		// burst; a group-1 call denied by either rule charges neither.
		l, _ := newLimiter(t, 64)
		shared := Rule{Key: "shared", Limit: 1, Window: time.Hour, Burst: 300}
		narrow := Rule{Key: "narrow", Limit: 1, Window: time.Hour, Burst: 50}
		var g1, g2 atomic.Int64
		var wg sync.WaitGroup
		for g := 0; g < goroutines; g++ {
			wg.Go(func() {
				for i := 0; i < 100; i++ {
					if g%2 == 0 {
						if l.Allow([]Rule{shared, narrow}).Allowed {
							g1.Add(1)
						}
					} else if l.Allow([]Rule{shared}).Allowed {
						g2.Add(1)
					}
				}
			})
		}
		wg.Wait()
		if g1.Load() > 50 {
			t.Fatalf("narrow admitted %d, burst is 50", g1.Load())
		}
		if sum := g1.Load() + g2.Load(); sum != 300 {
			t.Fatalf("shared admitted %d (group1 %d + group2 %d), want exactly 300", sum, g1.Load(), g2.Load())
		}
		if left := drain(t, l, narrow); int64(left) != 50-g1.Load() {
			t.Fatalf("narrow has %d tokens left, want %d: a denied call charged it", left, 50-g1.Load())
		}
	})
}

func TestMemoryPerBucket(t *testing.T) {
	const n = 100_000
	keys := make([]Rule, n)
	for i := range keys {
		keys[i] = Rule{Key: fmt.Sprintf("fs:delete:user-%06d", i), Limit: 10, Window: time.Minute}
	}
	l, _ := newLimiter(t, n)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := range keys {
		l.Allow(keys[i : i+1])
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	per := float64(after.HeapAlloc-before.HeapAlloc) / n
	t.Logf("%.0f bytes of heap per bucket (key strings excluded, they are the caller's)", per)
	if per > 400 {
		t.Fatalf("%.0f bytes per bucket, want ≤ 400", per)
	}
	runtime.KeepAlive(l)
}

// refBucket is a reference model in big integers: the level in units where a
// token is window units and limit units accrue per nanosecond.
type refBucket struct {
	units *big.Int
	last  int64
}

func (b *refBucket) refill(t int64, r Rule) {
	W, L, B := big.NewInt(int64(r.Window)), big.NewInt(int64(r.Limit)), big.NewInt(int64(r.capacity()))
	capU := new(big.Int).Mul(B, W)
	if b.units.Cmp(capU) >= 0 {
		b.last = t
		return
	}
	b.units.Add(b.units, new(big.Int).Mul(big.NewInt(t-b.last), L))
	b.last = t
	if b.units.Cmp(capU) >= 0 {
		surplus := new(big.Int).Sub(b.units, capU)
		b.units.Set(capU)
		if surplus.Cmp(L) < 0 {
			b.units.Add(b.units, surplus.Mod(surplus, W))
		}
	}
}

func TestAgainstBigIntModel(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	limits := []int{1, 2, 3, 7, 10, 999_983, MaxLimit}
	windows := []time.Duration{1, 3, time.Microsecond, time.Second, 10 * time.Second, time.Minute, 7*time.Hour + 13, MaxWindow}
	bursts := []int{0, 1, 2, 5, 1000, MaxBurst}
	for trial := 0; trial < 300; trial++ {
		r := Rule{Key: "k", Limit: limits[rng.IntN(len(limits))], Window: windows[rng.IntN(len(windows))], Burst: bursts[rng.IntN(len(bursts))]}
		l, clk := newLimiter(t, 4)
		ref := &refBucket{units: new(big.Int).Mul(big.NewInt(int64(r.capacity())), big.NewInt(int64(r.Window)))}
		W := big.NewInt(int64(r.Window))
		var now int64
		// Start from a random level (white box: set the bucket directly).
		if !l.Allow([]Rule{r}).Allowed {
			t.Fatal("fresh bucket denied")
		}
		b, ok := l.cache.Peek(keyOf(&r))
		if !ok {
			t.Fatal("no bucket")
		}
		b.tokens = rng.Int64N(int64(r.capacity()))
		b.frac = rng.Uint64N(uint64(r.Window))
		ref.units.Mul(big.NewInt(b.tokens), W).Add(ref.units, new(big.Int).SetUint64(b.frac))
		for step := 0; step < 400; step++ {
			switch rng.IntN(6) {
			case 0: // a long jump (up to ~3 years)
				now += rng.Int64N(int64(1e17))
			case 1:
				now += rng.Int64N(int64(r.Window) + 1)
			case 2:
				now += rng.Int64N(3)
			}
			clk.Set(time.Duration(now))
			ref.refill(now, r)
			var want Result
			if ref.units.Cmp(W) >= 0 {
				ref.units.Sub(ref.units, W)
				want.Allowed = true
			} else {
				missing := new(big.Int).Sub(W, new(big.Int).Mod(ref.units, W))
				L := big.NewInt(int64(r.Limit))
				missing.Add(missing, L).Sub(missing, big.NewInt(1)).Quo(missing, L)
				want.RetryAfter = time.Duration(missing.Int64())
			}
			got := l.Allow([]Rule{r})
			if got.Allowed != want.Allowed || got.RetryAfter != want.RetryAfter {
				t.Fatalf("rule %v, step %d at %dns: got allowed=%v retry=%v, model allowed=%v retry=%v",
					r, step, now, got.Allowed, got.RetryAfter, want.Allowed, want.RetryAfter)
			}
		}
	}
}
