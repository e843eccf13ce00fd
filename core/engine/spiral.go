package engine

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
)

// The spiral is a per-session counter with a named phase. Its nine phase
// names and their cyclic order are the original's, so prompts that mention
// them read the same; everything else is new:
//
//   - one state per MCP session, in the spiral_sessions table. A call made
//     without a session id counts in the anonymous session "" — a session of
//     its own that every session-less caller shares, never "everybody".
//   - every call that succeeds (through Engine.Call) adds one to the calling
//     session's tool_call_count and may move its phase one step, by the
//     TABLE in spiralTable, keyed by the tool's declared effect and intent
//     (never by its name). One call moves a phase at most one step.
//   - spiral_reflect and close_session step the phase themselves; the
//     observer only counts them. spiral_inherit starts a new spiral for the
//     caller's session only.
//   - each phase change is logged in spiral_transitions by a trigger, which
//     keeps the newest maxSpiralTransitions rows of each session.

// spiralPhases are the phase names in their cyclic order.
var spiralPhases = [...]string{
	"Initialization",
	"First-Order Observation",
	"Recursive Integration",
	"Counter-Perspectives",
	"Action Synthesis",
	"Execution",
	"Meta-Reflection",
	"Integration",
	"Coherence Check",
}

// maxSpiralTransitions is how many transitions are kept per session (the
// trigger in spiralSchema holds the same number).
const maxSpiralTransitions = 100

// callKind is what a call does, derived from its tool's declared effect
// and intent.
type callKind int

const (
	kindNone    callKind = iota
	kindObserve          // reads, and orientation (orient/read intents whatever their effect)
	kindReflect          // introspect intent, writing
	kindCheck            // govern intent: checking an action against policy or stakes
	kindWrite            // write or route intent, writing
	kindHandoff          // handoff intent, writing
)

var callKindNames = map[callKind]string{
	kindObserve: "an observing call (read effect, or orient or read intent)",
	kindReflect: "a reflecting call (introspect intent, writing)",
	kindCheck:   "a check (govern intent)",
	kindWrite:   "a recording call (write or route intent, writing)",
	kindHandoff: "a handoff (handoff intent, writing)",
}

// kindOf classifies a tool by its declaration.
func kindOf(t *Tool) callKind {
	switch {
	case t.Intent == "govern":
		return kindCheck
	case t.Effect == EffectRead, t.Intent == "orient", t.Intent == "read":
		return kindObserve
	case t.Intent == "introspect":
		return kindReflect
	case t.Intent == "handoff":
		return kindHandoff
	case t.Intent == "write", t.Intent == "route":
		return kindWrite
	}
	return kindNone
}

// spiralTable is the implicit transition table: from each phase, the kinds
// of call that move it one step to the next phase. Any other call leaves
// the phase as it is. Coherence Check is left only by close_session (which
// wraps to Initialization) or spiral_inherit (a new spiral).
var spiralTable = [len(spiralPhases)][]callKind{
	0: {kindObserve},            // Initialization → First-Order Observation
	1: {kindReflect, kindWrite}, // First-Order Observation → Recursive Integration
	2: {kindReflect, kindCheck}, // Recursive Integration → Counter-Perspectives
	3: {kindCheck, kindWrite},   // Counter-Perspectives → Action Synthesis
	4: {kindWrite},              // Action Synthesis → Execution
	5: {kindReflect},            // Execution → Meta-Reflection
	6: {kindWrite},              // Meta-Reflection → Integration
	7: {kindHandoff},            // Integration → Coherence Check
	8: {},                       // Coherence Check: explicit steps only
}

// phaseMask is the set of phases (bit i: phase i) from which a call of
// kind k moves one step.
func phaseMask(k callKind) int64 {
	var m int64
	for from, kinds := range spiralTable {
		for _, kk := range kinds {
			if kk == k {
				m |= 1 << from
			}
		}
	}
	return m
}

// nextPhase applies the table to one call.
func nextPhase(phase int, k callKind) int {
	if phase >= 0 && phase < len(spiralPhases) && phaseMask(k)&(1<<phase) != 0 {
		return (phase + 1) % len(spiralPhases)
	}
	return phase
}

// spiralTableText documents the table (for the tool descriptions).
func spiralTableText() string {
	var b strings.Builder
	for from, kinds := range spiralTable {
		if len(kinds) == 0 {
			continue
		}
		names := make([]string, len(kinds))
		for i, k := range kinds {
			names[i] = callKindNames[k]
		}
		fmt.Fprintf(&b, "%s → %s on %s; ", spiralPhases[from], spiralPhases[(from+1)%len(spiralPhases)], strings.Join(names, " or "))
	}
	b.WriteString("Coherence Check is left only by close_session (→ Initialization) or spiral_inherit.")
	return b.String()
}

// selfStepping tools change the spiral in their handler; the observer only
// counts them.
var selfStepping = map[string]bool{"spiral_reflect": true, "close_session": true, "spiral_inherit": true}

// newSpiralID is a random spiral id (not derived from the clock).
func newSpiralID() string { return "spiral_" + newRandomHex(8) }

// newRandomHex returns n random bytes as hex.
func newRandomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go ≥ 1.24)
	return hex.EncodeToString(b)
}

// insertWithNewID runs query (an INSERT … ON CONFLICT(id) DO NOTHING whose
// first parameter is the id) with a new id prefix_<8 hex>, drawing another
// id when that one is taken. It returns the id.
func insertWithNewID(ctx context.Context, tx *sql.Tx, prefix, query string, args ...any) (string, error) {
	for range 8 {
		id := prefix + "_" + newRandomHex(4)
		r, err := tx.ExecContext(ctx, query, append([]any{id}, args...)...)
		if err != nil {
			return "", internal("cannot store the record", err)
		}
		n, err := r.RowsAffected()
		if err != nil {
			return "", internal("cannot store the record", err)
		}
		if n == 1 {
			return id, nil
		}
	}
	return "", internal("cannot store the record", fmt.Errorf("no free %s_ id after 8 draws", prefix))
}

// clipToRunes cuts s to at most n runes, marking a cut with "…".
func clipToRunes(s string, n int) (string, bool) {
	if len(s) <= n {
		return s, false
	}
	r := []rune(s)
	if len(r) <= n {
		return s, false
	}
	return string(r[:n]) + "…", true
}

// spiralState is one session's spiral, as stored.
type spiralState struct {
	SessionID       string `json:"session_id"`
	SpiralID        string `json:"spiral_id"`
	Principal       string `json:"-"`
	PhaseIndex      int    `json:"phase_index"`
	Phase           string `json:"phase"`
	ToolCallCount   int64  `json:"tool_call_count"`
	ReflectionDepth int64  `json:"reflection_depth"`
	Started         string `json:"started,omitempty"`
	Updated         string `json:"updated,omitempty"`
	InheritedFrom   string `json:"inherited_from,omitempty"`
	// Stored is false for a session with no counted call yet.
	Stored bool `json:"stored"`
}

// spiralTransition is one logged phase change.
type spiralTransition struct {
	Timestamp       string `json:"timestamp"`
	From            string `json:"from_phase"`
	To              string `json:"to_phase"`
	Cause           string `json:"cause"`
	ToolCallCount   int64  `json:"tool_calls_so_far"`
	ReflectionDepth int64  `json:"reflection_depth"`
}

// loadSpiral reads a session's state; a session with no row is a fresh,
// unstored state in Initialization.
func loadSpiral(ctx context.Context, q queryer, session string) (spiralState, error) {
	st := spiralState{SessionID: session}
	err := q.QueryRowContext(ctx, `SELECT spiral_id, principal, phase, tool_call_count, reflection_depth, started, updated, inherited_from
		FROM spiral_sessions WHERE session_id = ?`, session).Scan(&st.SpiralID, &st.Principal, &st.PhaseIndex,
		&st.ToolCallCount, &st.ReflectionDepth, &st.Started, &st.Updated, &st.InheritedFrom)
	switch {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return spiralState{}, internal("cannot read the spiral state", err)
	default:
		st.Stored = true
	}
	if st.PhaseIndex < 0 || st.PhaseIndex >= len(spiralPhases) {
		return spiralState{}, internal("corrupt spiral state", fmt.Errorf("session %q: phase %d", session, st.PhaseIndex))
	}
	st.Phase = spiralPhases[st.PhaseIndex]
	return st, nil
}

// lastTransitions returns the newest n transitions of the session's
// current spiral, newest first.
func lastTransitions(ctx context.Context, q queryer, st spiralState, n int) ([]spiralTransition, error) {
	rows, err := q.QueryContext(ctx, `SELECT ts, from_phase, to_phase, cause, tool_call_count, reflection_depth
		FROM spiral_transitions WHERE session_id = ? AND spiral_id = ? ORDER BY seq DESC LIMIT ?`, st.SessionID, st.SpiralID, n)
	if err != nil {
		return nil, internal("cannot read the spiral transitions", err)
	}
	defer rows.Close()
	out := []spiralTransition{}
	for rows.Next() {
		var tr spiralTransition
		var from, to int
		if err := rows.Scan(&tr.Timestamp, &from, &to, &tr.Cause, &tr.ToolCallCount, &tr.ReflectionDepth); err != nil {
			return nil, internal("cannot read the spiral transitions", err)
		}
		tr.From, tr.To = phaseName(from), phaseName(to)
		out = append(out, tr)
	}
	if err := rows.Err(); err != nil {
		return nil, internal("cannot read the spiral transitions", err)
	}
	return out, nil
}

func phaseName(i int) string {
	if i < 0 || i >= len(spiralPhases) {
		return fmt.Sprintf("phase %d", i)
	}
	return spiralPhases[i]
}

// countCallSQL is the observer's one statement: create the session's
// spiral or count the call, moving the phase one step when bit `phase` of
// the mask (?7) is set.
const countCallSQL = `INSERT INTO spiral_sessions
	(session_id, spiral_id, principal, phase, tool_call_count, reflection_depth, started, updated, cause)
	VALUES (?1, ?2, ?3, ?4, 1, 0, ?5, ?5, ?6)
	ON CONFLICT(session_id) DO UPDATE SET
		tool_call_count = tool_call_count + 1,
		phase = CASE WHEN (?7 >> phase) & 1 THEN (phase + 1) % 9 ELSE phase END,
		principal = CASE WHEN excluded.principal <> '' THEN excluded.principal ELSE principal END,
		updated = excluded.updated,
		cause = excluded.cause`

// observeCall is the spiral's call observer, run by Engine.Call after a
// call succeeded (failed calls are not counted; a call is counted after it
// returned, so spiral_status does not include itself). It is one UPSERT and
// never fails the call: an error is logged at Warn.
func (e *Engine) observeCall(ctx context.Context, c Caller, t *Tool) {
	var mask int64
	if !selfStepping[t.Name] {
		mask = phaseMask(kindOf(t))
	}
	first := 0 // the phase of a session's first counted call
	if mask&1 != 0 {
		first = 1
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
	defer cancel()
	_, err := e.db.ExecContext(ctx, countCallSQL, c.Session, newSpiralID(), c.Principal,
		first, e.ts(), t.Name, mask)
	if err != nil {
		e.log.Warn("spiral: cannot count the call", "tool", t.Name, "session_id", c.Session, "error", err)
	}
}

// stepSpiral changes the caller's spiral in tx: depth added to
// reflection_depth, the phase replaced by step(phase). It creates the
// session's spiral when it has none. It returns the state before and after.
func (e *Engine) stepSpiral(ctx context.Context, tx *sql.Tx, c Caller, cause string, depth int64, step func(int) int) (before, after spiralState, err error) {
	before, err = loadSpiral(ctx, tx, c.Session)
	if err != nil {
		return before, after, err
	}
	after = before
	now := e.ts()
	if !after.Stored {
		after.SpiralID, after.Started = newSpiralID(), now
	}
	after.PhaseIndex = step(before.PhaseIndex)
	after.Phase = spiralPhases[after.PhaseIndex]
	after.ReflectionDepth += depth
	after.Updated = now
	after.Stored = true
	if c.Principal != "" {
		after.Principal = c.Principal
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO spiral_sessions
		(session_id, spiral_id, principal, phase, tool_call_count, reflection_depth, started, updated, cause)
		VALUES (?, ?, ?, ?, 0, ?, ?, ?, ?)
		ON CONFLICT(session_id) DO UPDATE SET phase = excluded.phase, reflection_depth = excluded.reflection_depth,
			principal = excluded.principal, updated = excluded.updated, cause = excluded.cause`,
		c.Session, after.SpiralID, after.Principal, after.PhaseIndex, after.ReflectionDepth, after.Started, now, cause)
	if err != nil {
		return before, after, internal("cannot update the spiral state", err)
	}
	return before, after, nil
}

// spiralSchema is the spiral part of migration 4.
const spiralSchema = `
CREATE TABLE spiral_sessions (
	session_id       TEXT PRIMARY KEY,          -- the MCP session; '' is the anonymous session
	spiral_id        TEXT NOT NULL,             -- spiral_<16 hex>, random
	principal        TEXT NOT NULL DEFAULT '',  -- the principal of the latest call
	phase            INTEGER NOT NULL DEFAULT 0 CHECK (phase BETWEEN 0 AND 8),
	tool_call_count  INTEGER NOT NULL DEFAULT 0,
	reflection_depth INTEGER NOT NULL DEFAULT 0,
	started          TEXT NOT NULL,
	updated          TEXT NOT NULL,
	inherited_from   TEXT NOT NULL DEFAULT '',
	cause            TEXT NOT NULL DEFAULT ''   -- the tool of the latest change, for the transition log
);
CREATE INDEX spiral_sessions_principal ON spiral_sessions(principal, updated);
CREATE TABLE spiral_transitions (
	seq              INTEGER PRIMARY KEY AUTOINCREMENT,
	session_id       TEXT NOT NULL,
	spiral_id        TEXT NOT NULL,
	ts               TEXT NOT NULL,
	from_phase       INTEGER NOT NULL,
	to_phase         INTEGER NOT NULL,
	cause            TEXT NOT NULL,
	tool_call_count  INTEGER NOT NULL,
	reflection_depth INTEGER NOT NULL
);
CREATE INDEX spiral_transitions_session ON spiral_transitions(session_id, seq);
CREATE TRIGGER spiral_transition_first AFTER INSERT ON spiral_sessions WHEN new.phase <> 0 BEGIN
	INSERT INTO spiral_transitions(session_id, spiral_id, ts, from_phase, to_phase, cause, tool_call_count, reflection_depth)
	VALUES (new.session_id, new.spiral_id, new.updated, 0, new.phase, new.cause, new.tool_call_count, new.reflection_depth);
END;
CREATE TRIGGER spiral_transition_next AFTER UPDATE OF phase ON spiral_sessions
	WHEN old.phase <> new.phase AND old.spiral_id = new.spiral_id BEGIN
	INSERT INTO spiral_transitions(session_id, spiral_id, ts, from_phase, to_phase, cause, tool_call_count, reflection_depth)
	VALUES (new.session_id, new.spiral_id, new.updated, old.phase, new.phase, new.cause, new.tool_call_count, new.reflection_depth);
END;
CREATE TRIGGER spiral_transitions_bound AFTER INSERT ON spiral_transitions BEGIN
	DELETE FROM spiral_transitions WHERE session_id = new.session_id AND seq <= (
		SELECT seq FROM spiral_transitions WHERE session_id = new.session_id ORDER BY seq DESC LIMIT 1 OFFSET 100);
END;
CREATE TABLE spiral_observations (
	id          TEXT PRIMARY KEY,               -- obs_<8 hex>
	ts          TEXT NOT NULL,
	session_id  TEXT NOT NULL,
	spiral_id   TEXT NOT NULL,
	principal   TEXT NOT NULL DEFAULT '',
	phase       INTEGER NOT NULL,               -- the phase after the reflection
	observation TEXT NOT NULL
);
CREATE INDEX spiral_observations_session ON spiral_observations(session_id, ts);
`
