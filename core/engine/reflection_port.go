package engine

import (
	"context"
	"database/sql"
	"fmt"
)

// Import and export of the spiral and reflection records (for `sovereign
// import` / `sovereign export`). Each insert… function writes one record
// as given — id, timestamps and sessions included, nothing generated — in
// the caller's transaction, and returns false when a record with that id
// (for a spiral: that session) is stored already, so that an import can be
// run twice. Each each… function calls fn for every record in storage
// order (timestamp, then insertion), stopping at fn's first error.
//
//	insertSpiralRow(ctx, tx, spiralState)          eachSpiral(ctx, q, fn)
//	insertUncertaintyRow(ctx, tx, uncertainty, p)   eachUncertainty(ctx, q, fn)
//	insertReflectionRow(ctx, tx, agentReflection)   eachReflection(ctx, q, fn)
//	insertExperimentRow(ctx, tx, experiment, p)     eachExperiment(ctx, q, fn)
//	insertReviewRow(ctx, tx, sessionReview)         eachReview(ctx, q, fn)
//	phaseIndex(name) maps the original's current_phase to a phase.
//
// The original's ids (uncertainty_3, exp_2) are kept as they are; the
// tools accept them. Spiral observations and transitions are not exported
// (the original had no observations; its phase_history is not imported).

// agentReflection is a stored agent_reflect record.
type agentReflection struct {
	ID          string  `json:"id"`
	Timestamp   string  `json:"timestamp"`
	SessionID   string  `json:"session_id"`
	Principal   string  `json:"-"`
	Observation string  `json:"observation"`
	PatternType string  `json:"pattern_type"`
	Confidence  float64 `json:"confidence"`
}

// sessionReview is a stored end_session_review record.
type sessionReview struct {
	ID                    string   `json:"id"`
	Timestamp             string   `json:"timestamp"`
	SessionID             string   `json:"session_id"`
	Principal             string   `json:"-"`
	WhatWentWell          []string `json:"what_went_well"`
	WhatIStruggledWith    []string `json:"what_i_struggled_with"`
	WhatILearned          []string `json:"what_i_learned"`
	Breakthroughs         []string `json:"breakthroughs"`
	DidWeDiscoverTogether bool     `json:"did_we_discover_together"`
}

// phaseIndex is the index of a phase name; false for an unknown name.
func phaseIndex(name string) (int, bool) {
	for i, p := range spiralPhases {
		if p == name {
			return i, true
		}
	}
	return 0, false
}

// execInserted runs an INSERT … ON CONFLICT DO NOTHING and reports whether
// it inserted.
func execInserted(ctx context.Context, tx *sql.Tx, what, query string, args ...any) (bool, error) {
	r, err := tx.ExecContext(ctx, query, args...)
	if err != nil {
		return false, internal("cannot import "+what, err)
	}
	n, err := r.RowsAffected()
	if err != nil {
		return false, internal("cannot import "+what, err)
	}
	return n == 1, nil
}

func insertSpiralRow(ctx context.Context, tx *sql.Tx, st spiralState) (bool, error) {
	if st.PhaseIndex < 0 || st.PhaseIndex >= len(spiralPhases) {
		return false, fmt.Errorf("spiral of session %q: phase %d out of range", st.SessionID, st.PhaseIndex)
	}
	return execInserted(ctx, tx, "a spiral", `INSERT INTO spiral_sessions
		(session_id, spiral_id, principal, phase, tool_call_count, reflection_depth, started, updated, inherited_from, cause)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'import') ON CONFLICT(session_id) DO NOTHING`,
		st.SessionID, st.SpiralID, st.Principal, st.PhaseIndex, st.ToolCallCount, st.ReflectionDepth, st.Started,
		st.Updated, st.InheritedFrom)
}

func insertUncertaintyRow(ctx context.Context, tx *sql.Tx, u uncertainty, principal string) (bool, error) {
	help, err := jsonList(u.WhatWouldHelp)
	if err != nil {
		return false, err
	}
	var resolvedAt any
	if u.ResolvedAt != "" {
		resolvedAt = u.ResolvedAt
	}
	return execInserted(ctx, tx, "an uncertainty", `INSERT INTO uncertainties
		(id, ts, session_id, principal, what, why, confidence, what_would_help, resolved_at, resolution, discovered_together)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO NOTHING`,
		u.ID, u.Timestamp, u.SessionID, principal, u.What, u.Why, u.Confidence, help, resolvedAt, u.Resolution, u.DiscoveredTogether)
}

func insertReflectionRow(ctx context.Context, tx *sql.Tx, r agentReflection) (bool, error) {
	return execInserted(ctx, tx, "a reflection", `INSERT INTO agent_reflections
		(id, ts, session_id, principal, observation, pattern_type, confidence) VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT(id) DO NOTHING`, r.ID, r.Timestamp, r.SessionID, r.Principal, r.Observation, r.PatternType, r.Confidence)
}

func insertExperimentRow(ctx context.Context, tx *sql.Tx, x experiment, principal string) (bool, error) {
	risks, err := jsonList(x.Risks)
	if err != nil {
		return false, err
	}
	mitigations, err := jsonList(x.Mitigations)
	if err != nil {
		return false, err
	}
	var completedAt any
	if x.CompletedAt != "" {
		completedAt = x.CompletedAt
	}
	return execInserted(ctx, tx, "an experiment", `INSERT INTO experiments
		(id, ts, session_id, principal, what, why, hope_to_learn, risks, mitigations, status, results, completed_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO NOTHING`,
		x.ID, x.Timestamp, x.SessionID, principal, x.What, x.Why, x.HopeToLearn, risks, mitigations, x.Status, x.Results, completedAt)
}

func insertReviewRow(ctx context.Context, tx *sql.Tx, r sessionReview) (bool, error) {
	lists := make([]any, 4)
	for i, l := range [][]string{r.WhatWentWell, r.WhatIStruggledWith, r.WhatILearned, r.Breakthroughs} {
		s, err := jsonList(l)
		if err != nil {
			return false, err
		}
		lists[i] = s
	}
	return execInserted(ctx, tx, "a session review", `INSERT INTO session_reviews
		(id, ts, session_id, principal, what_went_well, what_i_struggled_with, what_i_learned, breakthroughs, did_we_discover_together)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO NOTHING`,
		r.ID, r.Timestamp, r.SessionID, r.Principal, lists[0], lists[1], lists[2], lists[3], r.DidWeDiscoverTogether)
}

func eachSpiral(ctx context.Context, q queryer, fn func(spiralState) error) error {
	return eachRow(ctx, q, "the spirals", `SELECT session_id, spiral_id, principal, phase, tool_call_count, reflection_depth,
		started, updated, inherited_from FROM spiral_sessions ORDER BY started, rowid`, func(r rowScanner) error {
		st := spiralState{Stored: true}
		if err := r.Scan(&st.SessionID, &st.SpiralID, &st.Principal, &st.PhaseIndex, &st.ToolCallCount, &st.ReflectionDepth,
			&st.Started, &st.Updated, &st.InheritedFrom); err != nil {
			return internal("cannot read the spirals", err)
		}
		st.Phase = phaseName(st.PhaseIndex)
		return fn(st)
	})
}

func eachUncertainty(ctx context.Context, q queryer, fn func(uncertainty, string) error) error {
	return eachRow(ctx, q, "the uncertainties", `SELECT `+uncertaintyColumns+`, principal FROM uncertainties ORDER BY ts, rowid`,
		func(r rowScanner) error {
			var principal string
			u, err := scanUncertainty(principalScanner{r, &principal})
			if err != nil {
				return internal("cannot read the uncertainties", err)
			}
			return fn(u, principal)
		})
}

func eachReflection(ctx context.Context, q queryer, fn func(agentReflection) error) error {
	return eachRow(ctx, q, "the reflections", `SELECT id, ts, session_id, principal, observation, pattern_type, confidence
		FROM agent_reflections ORDER BY ts, rowid`, func(r rowScanner) error {
		var a agentReflection
		if err := r.Scan(&a.ID, &a.Timestamp, &a.SessionID, &a.Principal, &a.Observation, &a.PatternType, &a.Confidence); err != nil {
			return internal("cannot read the reflections", err)
		}
		return fn(a)
	})
}

func eachExperiment(ctx context.Context, q queryer, fn func(experiment, string) error) error {
	return eachRow(ctx, q, "the experiments", `SELECT `+experimentColumns+`, principal FROM experiments ORDER BY ts, rowid`,
		func(r rowScanner) error {
			var principal string
			x, err := scanExperiment(principalScanner{r, &principal})
			if err != nil {
				return internal("cannot read the experiments", err)
			}
			return fn(x, principal)
		})
}

func eachReview(ctx context.Context, q queryer, fn func(sessionReview) error) error {
	return eachRow(ctx, q, "the session reviews", `SELECT id, ts, session_id, principal, what_went_well, what_i_struggled_with,
		what_i_learned, breakthroughs, did_we_discover_together FROM session_reviews ORDER BY ts, rowid`, func(r rowScanner) error {
		var (
			v     sessionReview
			lists [4]string
		)
		if err := r.Scan(&v.ID, &v.Timestamp, &v.SessionID, &v.Principal, &lists[0], &lists[1], &lists[2], &lists[3],
			&v.DidWeDiscoverTogether); err != nil {
			return internal("cannot read the session reviews", err)
		}
		for i, dst := range []*[]string{&v.WhatWentWell, &v.WhatIStruggledWith, &v.WhatILearned, &v.Breakthroughs} {
			l, err := decodeList(lists[i])
			if err != nil {
				return internal("cannot read the session reviews", err)
			}
			*dst = l
		}
		return fn(v)
	})
}

// principalScanner appends a trailing principal column to a scan.
type principalScanner struct {
	r         rowScanner
	principal *string
}

func (p principalScanner) Scan(dest ...any) error { return p.r.Scan(append(dest, p.principal)...) }
