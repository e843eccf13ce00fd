package engine

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
)

// defaultReflectConfidence is agent_reflect's confidence when none is
// given (the original's default).
const defaultReflectConfidence = 0.7

func (e *Engine) agentReflect(ctx context.Context, c *Call) (*Result, error) {
	var in struct {
		Observation string   `json:"observation"`
		PatternType string   `json:"pattern_type"`
		Confidence  *float64 `json:"confidence"`
	}
	if err := c.Decode(&in); err != nil {
		return nil, err
	}
	if err := nonBlank(map[string]string{"/observation": in.Observation}); err != nil {
		return nil, err
	}
	conf := defaultReflectConfidence
	if in.Confidence != nil {
		conf = *in.Confidence
	}
	ts := e.ts()
	var (
		id    string
		count int
	)
	err := inTx(ctx, e.db, func(tx *sql.Tx) error {
		var err error
		id, err = insertWithNewID(ctx, tx, "ref", `INSERT INTO agent_reflections
			(id, ts, session_id, principal, observation, pattern_type, confidence) VALUES (?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT(id) DO NOTHING`, ts, c.Caller.Session, c.Caller.Principal, in.Observation, in.PatternType, conf)
		if err != nil {
			return err
		}
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM agent_reflections WHERE pattern_type = ?`, in.PatternType).Scan(&count); err != nil {
			return internal("cannot count the reflections", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &Result{
		Text: fmt.Sprintf("Reflection %s recorded as a %s (confidence %.2f); %d %s reflections in all.", id, in.PatternType, conf, count, in.PatternType),
		Data: map[string]any{"id": id, "timestamp": ts, "pattern_type": in.PatternType, "confidence": conf,
			"observation": in.Observation, "pattern_count": count},
	}, nil
}

// experiment is a stored experiment.
type experiment struct {
	ID          string   `json:"id"`
	Timestamp   string   `json:"timestamp"`
	SessionID   string   `json:"session_id"`
	What        string   `json:"what"`
	Why         string   `json:"why"`
	HopeToLearn string   `json:"hope_to_learn"`
	Risks       []string `json:"risks"`
	Mitigations []string `json:"mitigations"`
	Status      string   `json:"status"` // proposed or completed
	Results     string   `json:"results,omitempty"`
	CompletedAt string   `json:"completed_at,omitempty"`
}

func (e *Engine) proposeExperiment(ctx context.Context, c *Call) (*Result, error) {
	var in struct {
		What        string   `json:"what"`
		Why         string   `json:"why"`
		HopeToLearn string   `json:"hope_to_learn"`
		Risks       []string `json:"risks"`
		Mitigations []string `json:"mitigations"`
	}
	if err := c.Decode(&in); err != nil {
		return nil, err
	}
	if err := nonBlank(map[string]string{"/what": in.What, "/why": in.Why, "/hope_to_learn": in.HopeToLearn}); err != nil {
		return nil, err
	}
	risks, err := jsonList(in.Risks)
	if err != nil {
		return nil, err
	}
	mitigations, err := jsonList(in.Mitigations)
	if err != nil {
		return nil, err
	}
	x := experiment{Timestamp: e.ts(), SessionID: c.Caller.Session, What: in.What, Why: in.Why, HopeToLearn: in.HopeToLearn,
		Risks: orEmpty(in.Risks), Mitigations: orEmpty(in.Mitigations), Status: "proposed"}
	err = inTx(ctx, e.db, func(tx *sql.Tx) error {
		var err error
		x.ID, err = insertWithNewID(ctx, tx, "exp", `INSERT INTO experiments
			(id, ts, session_id, principal, what, why, hope_to_learn, risks, mitigations) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT(id) DO NOTHING`, x.Timestamp, x.SessionID, c.Caller.Principal, x.What, x.Why, x.HopeToLearn, risks, mitigations)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &Result{Text: fmt.Sprintf("Experiment %s proposed (%d risks, %d mitigations).", x.ID, len(x.Risks), len(x.Mitigations)), Data: x}, nil
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

const experimentColumns = `id, ts, session_id, what, why, hope_to_learn, risks, mitigations, status, results, coalesce(completed_at, '')`

func scanExperiment(r rowScanner) (experiment, error) {
	var (
		x                  experiment
		risks, mitigations string
	)
	if err := r.Scan(&x.ID, &x.Timestamp, &x.SessionID, &x.What, &x.Why, &x.HopeToLearn, &risks, &mitigations,
		&x.Status, &x.Results, &x.CompletedAt); err != nil {
		return x, err
	}
	var err error
	if x.Risks, err = decodeList(risks); err != nil {
		return x, err
	}
	x.Mitigations, err = decodeList(mitigations)
	return x, err
}

func (e *Engine) completeExperiment(ctx context.Context, c *Call) (*Result, error) {
	var in struct {
		ExperimentID string `json:"experiment_id"`
		Results      string `json:"results"`
	}
	if err := c.Decode(&in); err != nil {
		return nil, err
	}
	if err := nonBlank(map[string]string{"/results": in.Results}); err != nil {
		return nil, err
	}
	var x experiment
	err := inTx(ctx, e.db, func(tx *sql.Tx) error {
		var err error
		x, err = scanExperiment(tx.QueryRowContext(ctx, `SELECT `+experimentColumns+` FROM experiments WHERE id = ?`, in.ExperimentID))
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return Errorf(CategoryNotFound, "no experiment %q", in.ExperimentID)
		case err != nil:
			return internal("cannot read the experiment", err)
		case x.Status == "completed":
			return Errorf(CategoryConflict, "experiment %s was completed already at %s", x.ID, x.CompletedAt)
		}
		x.Status, x.Results, x.CompletedAt = "completed", in.Results, e.ts()
		if _, err := tx.ExecContext(ctx, `UPDATE experiments SET status = 'completed', results = ?, completed_at = ?,
			completed_session = ?, completed_principal = ? WHERE id = ? AND status = 'proposed'`,
			x.Results, x.CompletedAt, c.Caller.Session, c.Caller.Principal, x.ID); err != nil {
			return internal("cannot complete the experiment", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &Result{Text: fmt.Sprintf("Experiment %s completed: %s", x.ID, x.Results), Data: x}, nil
}

func (e *Engine) endSessionReview(ctx context.Context, c *Call) (*Result, error) {
	var in struct {
		WentWell       []string `json:"what_went_well"`
		StruggledWith  []string `json:"what_i_struggled_with"`
		Learned        []string `json:"what_i_learned"`
		Breakthroughs  []string `json:"breakthroughs"`
		DiscoveredWith bool     `json:"did_we_discover_together"`
	}
	if err := c.Decode(&in); err != nil {
		return nil, err
	}
	lists := make([]string, 4)
	for i, l := range [][]string{in.WentWell, in.StruggledWith, in.Learned, in.Breakthroughs} {
		var err error
		if lists[i], err = jsonList(l); err != nil {
			return nil, err
		}
	}
	ts := e.ts()
	var id string
	err := inTx(ctx, e.db, func(tx *sql.Tx) error {
		var err error
		id, err = insertWithNewID(ctx, tx, "rev", `INSERT INTO session_reviews
			(id, ts, session_id, principal, what_went_well, what_i_struggled_with, what_i_learned, breakthroughs, did_we_discover_together)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO NOTHING`,
			ts, c.Caller.Session, c.Caller.Principal, lists[0], lists[1], lists[2], lists[3], in.DiscoveredWith)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &Result{
		Text: fmt.Sprintf("Session review %s recorded: %d went well, %d struggles, %d learned, %d breakthroughs.",
			id, len(in.WentWell), len(in.StruggledWith), len(in.Learned), len(in.Breakthroughs)),
		Data: map[string]any{"id": id, "timestamp": ts, "session_id": c.Caller.Session,
			"what_went_well": orEmpty(in.WentWell), "what_i_struggled_with": orEmpty(in.StruggledWith),
			"what_i_learned": orEmpty(in.Learned), "breakthroughs": orEmpty(in.Breakthroughs),
			"did_we_discover_together": in.DiscoveredWith},
	}, nil
}

// growthSummary is get_growth_summary's data.
type growthSummary struct {
	Reflections   map[string]int `json:"reflections_by_pattern"`
	Uncertainties struct {
		Open               int `json:"open"`
		Resolved           int `json:"resolved"`
		DiscoveredTogether int `json:"resolved_together"`
	} `json:"uncertainties"`
	Experiments map[string]int `json:"experiments_by_status"`
	Reviews     struct {
		Count              int    `json:"count"`
		DiscoveredTogether int    `json:"discovered_together"`
		Latest             string `json:"latest,omitempty"`
	} `json:"session_reviews"`
}

func (e *Engine) getGrowthSummary(ctx context.Context, _ *Call) (*Result, error) {
	g := growthSummary{Reflections: map[string]int{}, Experiments: map[string]int{"proposed": 0, "completed": 0}}
	for _, p := range patternTypes {
		g.Reflections[p] = 0
	}
	if err := countInto(ctx, e.db, `SELECT pattern_type, count(*) FROM agent_reflections GROUP BY pattern_type`, g.Reflections); err != nil {
		return nil, err
	}
	if err := countInto(ctx, e.db, `SELECT status, count(*) FROM experiments GROUP BY status`, g.Experiments); err != nil {
		return nil, err
	}
	err := e.db.QueryRowContext(ctx, `SELECT
		(SELECT count(*) FROM uncertainties WHERE resolved_at IS NULL),
		(SELECT count(*) FROM uncertainties WHERE resolved_at IS NOT NULL),
		(SELECT count(*) FROM uncertainties WHERE resolved_at IS NOT NULL AND discovered_together = 1),
		(SELECT count(*) FROM session_reviews),
		(SELECT count(*) FROM session_reviews WHERE did_we_discover_together = 1),
		(SELECT coalesce(max(ts), '') FROM session_reviews)`).Scan(&g.Uncertainties.Open, &g.Uncertainties.Resolved,
		&g.Uncertainties.DiscoveredTogether, &g.Reviews.Count, &g.Reviews.DiscoveredTogether, &g.Reviews.Latest)
	if err != nil {
		return nil, internal("cannot read the reflection records", err)
	}
	var b strings.Builder
	b.WriteString("Growth summary (all sessions of this data root):\n- reflections:")
	for _, p := range patternTypes {
		fmt.Fprintf(&b, " %s %d,", p, g.Reflections[p])
	}
	fmt.Fprintf(&b, "\n- uncertainties: %d open, %d resolved (%d together)", g.Uncertainties.Open, g.Uncertainties.Resolved, g.Uncertainties.DiscoveredTogether)
	fmt.Fprintf(&b, "\n- experiments: %d proposed, %d completed", g.Experiments["proposed"], g.Experiments["completed"])
	fmt.Fprintf(&b, "\n- session reviews: %d (%d with discoveries made together)", g.Reviews.Count, g.Reviews.DiscoveredTogether)
	if g.Reviews.Latest != "" {
		fmt.Fprintf(&b, ", latest %s", g.Reviews.Latest)
	}
	return &Result{Text: b.String(), Data: g}, nil
}

// countInto adds the (key, count) rows of query to m.
func countInto(ctx context.Context, q queryer, query string, m map[string]int) error {
	rows, err := q.QueryContext(ctx, query)
	if err != nil {
		return internal("cannot read the reflection records", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			k string
			n int
		)
		if err := rows.Scan(&k, &n); err != nil {
			return internal("cannot read the reflection records", err)
		}
		m[k] = n
	}
	if err := rows.Err(); err != nil {
		return internal("cannot read the reflection records", err)
	}
	return nil
}

// reflectionSchema is the reflection part of migration 4.
const reflectionSchema = `
CREATE TABLE uncertainties (
	id                  TEXT PRIMARY KEY,   -- unc_<8 hex>
	ts                  TEXT NOT NULL,
	session_id          TEXT NOT NULL DEFAULT '',
	principal           TEXT NOT NULL DEFAULT '',
	what                TEXT NOT NULL,
	why                 TEXT NOT NULL,
	confidence          REAL NOT NULL CHECK (confidence BETWEEN 0 AND 1),
	what_would_help     TEXT NOT NULL DEFAULT '[]', -- JSON array of strings
	resolved_at         TEXT,               -- NULL while open
	resolution          TEXT NOT NULL DEFAULT '',
	discovered_together INTEGER,
	resolved_session    TEXT NOT NULL DEFAULT '',
	resolved_principal  TEXT NOT NULL DEFAULT ''
);
CREATE INDEX uncertainties_open ON uncertainties(resolved_at, ts);
CREATE TABLE agent_reflections (
	id           TEXT PRIMARY KEY,          -- ref_<8 hex>
	ts           TEXT NOT NULL,
	session_id   TEXT NOT NULL DEFAULT '',
	principal    TEXT NOT NULL DEFAULT '',
	observation  TEXT NOT NULL,
	pattern_type TEXT NOT NULL CHECK (pattern_type IN ('strength', 'struggle', 'curiosity', 'uncertainty')),
	confidence   REAL NOT NULL CHECK (confidence BETWEEN 0 AND 1)
);
CREATE INDEX agent_reflections_pattern ON agent_reflections(pattern_type, ts);
CREATE TABLE experiments (
	id                  TEXT PRIMARY KEY,   -- exp_<8 hex>
	ts                  TEXT NOT NULL,
	session_id          TEXT NOT NULL DEFAULT '',
	principal           TEXT NOT NULL DEFAULT '',
	what                TEXT NOT NULL,
	why                 TEXT NOT NULL,
	hope_to_learn       TEXT NOT NULL,
	risks               TEXT NOT NULL DEFAULT '[]', -- JSON array of strings
	mitigations         TEXT NOT NULL DEFAULT '[]', -- JSON array of strings
	status              TEXT NOT NULL DEFAULT 'proposed' CHECK (status IN ('proposed', 'completed')),
	results             TEXT NOT NULL DEFAULT '',
	completed_at        TEXT,
	completed_session   TEXT NOT NULL DEFAULT '',
	completed_principal TEXT NOT NULL DEFAULT ''
);
CREATE INDEX experiments_status ON experiments(status, ts);
CREATE TABLE session_reviews (
	id                       TEXT PRIMARY KEY, -- rev_<8 hex>
	ts                       TEXT NOT NULL,
	session_id               TEXT NOT NULL DEFAULT '',
	principal                TEXT NOT NULL DEFAULT '',
	what_went_well           TEXT NOT NULL DEFAULT '[]', -- JSON arrays of strings
	what_i_struggled_with    TEXT NOT NULL DEFAULT '[]',
	what_i_learned           TEXT NOT NULL DEFAULT '[]',
	breakthroughs            TEXT NOT NULL DEFAULT '[]',
	did_we_discover_together INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX session_reviews_ts ON session_reviews(ts);
`
