package engine

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// Reflection: uncertainty markers, self-observations (agent_reflect),
// experiments and end-of-session reviews. The original rewrote whole JSON
// files with ids from list lengths and dropped what_would_help, risks and
// mitigations; here each record is a row with a stable random id
// (unc_<8 hex>, ref_<8 hex>, exp_<8 hex>, rev_<8 hex>) and every argument
// is stored. Reads (get_unresolved_uncertainties, get_growth_summary) cover
// all the records of the data root, whichever session or principal wrote
// them: a marker set in one session is meant to be resolved in another.

// Bounds of the reflection tools' arguments.
const (
	maxReflectText  = 4000 // a field of prose
	maxReflectItem  = 2000 // one item of a list
	maxReflectItems = 50   // items of a list
)

// patternTypes are agent_reflect's kinds of pattern.
var patternTypes = []string{"strength", "struggle", "curiosity", "uncertainty"}

// recordIDProp is the id of a reflection record (ours are prefix_<8 hex>;
// imported ones keep the original's, such as uncertainty_3).
func recordIDProp(desc string) obj {
	return patternProp(desc, `^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$`, 128)
}

func listProp(desc string) obj {
	return arrProp(desc, strProp("One item", maxReflectItem), maxReflectItems)
}

func (e *Engine) reflectionTools() []Tool {
	return []Tool{{
		Name:        "mark_uncertainty",
		Title:       "Mark an uncertainty",
		Description: "Record something you are unsure of, why, how confident you are (0..1) and what would help; returns its id (unc_…), to resolve later from any session.",
		Schema: objectSchema(obj{
			"what":            strProp("What you are uncertain about", maxReflectText),
			"why":             strProp("Why you are uncertain", maxReflectText),
			"confidence":      numProp("Your confidence, 0 to 1", 0, 1),
			"what_would_help": listProp("What would resolve it (stored and returned)"),
		}, "what", "why", "confidence"),
		Effect: EffectAppend, Tier: TierCore, Intent: "introspect",
		Handler: e.markUncertainty,
	}, {
		Name:        "resolve_uncertainty",
		Title:       "Resolve an uncertainty",
		Description: "Resolve an uncertainty marker by id with what was found. An unknown id is not_found; a marker resolved already is a conflict (the first resolution stands).",
		Schema: objectSchema(obj{
			"marker_id":           recordIDProp("The marker's id (unc_…)"),
			"resolution":          strProp("What resolved it", maxReflectText),
			"discovered_together": boolProp("Whether it was resolved together with the user", true),
		}, "marker_id", "resolution"),
		Effect: EffectMutate, Tier: TierCore, Intent: "introspect",
		Handler: e.resolveUncertainty,
	}, {
		Name:        "get_unresolved_uncertainties",
		Title:       "Unresolved uncertainties",
		Description: "List the unresolved uncertainty markers of this data root (every session's), newest first, with what would help; paged by limit and offset.",
		Schema: objectSchema(obj{
			"limit":  intProp("How many markers", 1, 200, 20),
			"offset": intProp("How many to skip", 0, 1000000, 0),
		}),
		Effect: EffectRead, Tier: TierCore, Intent: "introspect",
		Handler: e.getUnresolvedUncertainties,
	}, {
		Name:        "agent_reflect",
		Title:       "Reflect on a pattern",
		Description: "Record an observation about your own way of working, classified as a strength, struggle, curiosity or uncertainty, with a confidence (default 0.7).",
		Schema: objectSchema(obj{
			"observation":  strProp("What you notice", maxReflectText),
			"pattern_type": enumProp("The kind of pattern", "", patternTypes...),
			"confidence":   numProp("Your confidence, 0 to 1 (default 0.7)", 0, 1),
		}, "observation", "pattern_type"),
		Effect: EffectAppend, Tier: TierCore, Intent: "introspect",
		Handler: e.agentReflect,
	}, {
		Name:        "propose_experiment",
		Title:       "Propose an experiment",
		Description: "Record an experiment you propose: what, why, what you hope to learn, its risks and their mitigations (all stored); returns its id (exp_…), status proposed.",
		Schema: objectSchema(obj{
			"what":          strProp("The experiment", maxReflectText),
			"why":           strProp("Why try it", maxReflectText),
			"hope_to_learn": strProp("What you hope to learn", maxReflectText),
			"risks":         listProp("Its risks"),
			"mitigations":   listProp("How the risks are mitigated"),
		}, "what", "why", "hope_to_learn"),
		Effect: EffectAppend, Tier: TierAdvanced, Intent: "introspect",
		Handler: e.proposeExperiment,
	}, {
		Name:        "complete_experiment",
		Title:       "Complete an experiment",
		Description: "Record the results of a proposed experiment. An unknown id is not_found; an experiment completed already is a conflict (the first results stand).",
		Schema: objectSchema(obj{
			"experiment_id": recordIDProp("The experiment's id (exp_…)"),
			"results":       strProp("What happened", maxReflectText),
		}, "experiment_id", "results"),
		Effect: EffectMutate, Tier: TierAdvanced, Intent: "introspect",
		Handler: e.completeExperiment,
	}, {
		Name:        "end_session_review",
		Title:       "End-of-session review",
		Description: "Record a review of the session: what went well and what you learned (each at least one item), what you struggled with, breakthroughs, and whether you discovered things together with the user.",
		Schema: objectSchema(obj{
			"what_went_well":           withMinItems(listProp("What went well"), 1),
			"what_i_struggled_with":    listProp("What you struggled with"),
			"what_i_learned":           withMinItems(listProp("What you learned"), 1),
			"breakthroughs":            listProp("Breakthroughs"),
			"did_we_discover_together": boolProp("Whether you discovered things together with the user", false),
		}, "what_went_well", "what_i_learned"),
		Effect: EffectAppend, Tier: TierAdvanced, Intent: "introspect",
		Handler: e.endSessionReview,
	}, {
		Name:        "get_growth_summary",
		Title:       "Growth summary",
		Description: "Summarise the reflection records of this data root (all sessions and principals): reflections by pattern type, uncertainties open and resolved, experiments by status, session reviews.",
		Schema:      objectSchema(obj{}),
		Effect:      EffectRead, Tier: TierAdvanced, Intent: "introspect",
		Handler: e.getGrowthSummary,
	}}
}

// withMinItems sets an array schema's minItems.
func withMinItems(s obj, n int) obj {
	s["minItems"] = n
	return s
}

// jsonList encodes a list for storage ("[]" for none).
func jsonList(items []string) (string, error) {
	if items == nil {
		items = []string{}
	}
	b, err := json.Marshal(items)
	if err != nil {
		return "", internal("cannot encode a list", err)
	}
	return string(b), nil
}

// decodeList decodes a stored list.
func decodeList(s string) ([]string, error) {
	out := []string{}
	if err := json.Unmarshal([]byte(s), &out); err != nil {
		return nil, err
	}
	return out, nil
}

// nonBlank rejects arguments that are only white space.
func nonBlank(fields map[string]string) error {
	for ptr, v := range fields {
		if strings.TrimSpace(v) == "" {
			return FieldError(ptr, "is blank")
		}
	}
	return nil
}

// uncertainty is a stored uncertainty marker.
type uncertainty struct {
	ID                 string   `json:"id"`
	Timestamp          string   `json:"timestamp"`
	SessionID          string   `json:"session_id"`
	What               string   `json:"what"`
	Why                string   `json:"why"`
	Confidence         float64  `json:"confidence"`
	WhatWouldHelp      []string `json:"what_would_help"`
	ResolvedAt         string   `json:"resolved_at,omitempty"`
	Resolution         string   `json:"resolution,omitempty"`
	DiscoveredTogether *bool    `json:"discovered_together,omitempty"`
}

func (e *Engine) markUncertainty(ctx context.Context, c *Call) (*Result, error) {
	var in struct {
		What          string   `json:"what"`
		Why           string   `json:"why"`
		Confidence    float64  `json:"confidence"`
		WhatWouldHelp []string `json:"what_would_help"`
	}
	if err := c.Decode(&in); err != nil {
		return nil, err
	}
	if err := nonBlank(map[string]string{"/what": in.What, "/why": in.Why}); err != nil {
		return nil, err
	}
	help, err := jsonList(in.WhatWouldHelp)
	if err != nil {
		return nil, err
	}
	u := uncertainty{Timestamp: e.ts(), SessionID: c.Caller.Session, What: in.What, Why: in.Why,
		Confidence: in.Confidence, WhatWouldHelp: in.WhatWouldHelp}
	if u.WhatWouldHelp == nil {
		u.WhatWouldHelp = []string{}
	}
	err = inTx(ctx, e.db, func(tx *sql.Tx) error {
		var err error
		u.ID, err = insertWithNewID(ctx, tx, "unc", `INSERT INTO uncertainties
			(id, ts, session_id, principal, what, why, confidence, what_would_help) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT(id) DO NOTHING`, u.Timestamp, u.SessionID, c.Caller.Principal, u.What, u.Why, u.Confidence, help)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &Result{Text: fmt.Sprintf("Uncertainty %s marked (confidence %.2f, %d things that would help).", u.ID, u.Confidence, len(u.WhatWouldHelp)),
		Data: u}, nil
}

func (e *Engine) resolveUncertainty(ctx context.Context, c *Call) (*Result, error) {
	in := struct {
		MarkerID           string `json:"marker_id"`
		Resolution         string `json:"resolution"`
		DiscoveredTogether bool   `json:"discovered_together"`
	}{DiscoveredTogether: true}
	if err := c.Decode(&in); err != nil {
		return nil, err
	}
	if err := nonBlank(map[string]string{"/resolution": in.Resolution}); err != nil {
		return nil, err
	}
	var u uncertainty
	err := inTx(ctx, e.db, func(tx *sql.Tx) error {
		var err error
		if u, err = loadUncertainty(ctx, tx, in.MarkerID); err != nil {
			return err
		}
		if u.ResolvedAt != "" {
			return Errorf(CategoryConflict, "uncertainty %s was resolved already at %s", u.ID, u.ResolvedAt)
		}
		u.ResolvedAt, u.Resolution, u.DiscoveredTogether = e.ts(), in.Resolution, &in.DiscoveredTogether
		_, err = tx.ExecContext(ctx, `UPDATE uncertainties SET resolved_at = ?, resolution = ?, discovered_together = ?,
			resolved_session = ?, resolved_principal = ? WHERE id = ? AND resolved_at IS NULL`,
			u.ResolvedAt, u.Resolution, in.DiscoveredTogether, c.Caller.Session, c.Caller.Principal, u.ID)
		if err != nil {
			return internal("cannot resolve the uncertainty", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &Result{Text: fmt.Sprintf("Uncertainty %s resolved: %s", u.ID, u.Resolution), Data: u}, nil
}

const uncertaintyColumns = `id, ts, session_id, what, why, confidence, what_would_help, coalesce(resolved_at, ''),
	resolution, discovered_together`

func scanUncertainty(r rowScanner) (uncertainty, error) {
	var (
		u        uncertainty
		help     string
		together sql.NullBool
	)
	if err := r.Scan(&u.ID, &u.Timestamp, &u.SessionID, &u.What, &u.Why, &u.Confidence, &help, &u.ResolvedAt,
		&u.Resolution, &together); err != nil {
		return u, err
	}
	if together.Valid {
		u.DiscoveredTogether = &together.Bool
	}
	var err error
	u.WhatWouldHelp, err = decodeList(help)
	return u, err
}

func loadUncertainty(ctx context.Context, q queryer, id string) (uncertainty, error) {
	u, err := scanUncertainty(q.QueryRowContext(ctx, `SELECT `+uncertaintyColumns+` FROM uncertainties WHERE id = ?`, id))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return u, Errorf(CategoryNotFound, "no uncertainty marker %q", id)
	case err != nil:
		return u, internal("cannot read the uncertainty", err)
	}
	return u, nil
}

// unresolvedUncertainties returns a page of the open markers, newest first,
// and how many there are.
func unresolvedUncertainties(ctx context.Context, q queryer, limit, offset int) ([]uncertainty, int, error) {
	var total int
	if err := q.QueryRowContext(ctx, `SELECT count(*) FROM uncertainties WHERE resolved_at IS NULL`).Scan(&total); err != nil {
		return nil, 0, internal("cannot read the uncertainties", err)
	}
	rows, err := q.QueryContext(ctx, `SELECT `+uncertaintyColumns+` FROM uncertainties WHERE resolved_at IS NULL
		ORDER BY ts DESC, rowid DESC LIMIT ? OFFSET ?`, limit, offset)
	if err != nil {
		return nil, 0, internal("cannot read the uncertainties", err)
	}
	defer rows.Close()
	out := []uncertainty{}
	for rows.Next() {
		u, err := scanUncertainty(rows)
		if err != nil {
			return nil, 0, internal("cannot read the uncertainties", err)
		}
		out = append(out, u)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, internal("cannot read the uncertainties", err)
	}
	return out, total, nil
}

func (e *Engine) getUnresolvedUncertainties(ctx context.Context, c *Call) (*Result, error) {
	in := struct {
		Limit  int `json:"limit"`
		Offset int `json:"offset"`
	}{Limit: 20}
	if err := c.Decode(&in); err != nil {
		return nil, err
	}
	list, total, err := unresolvedUncertainties(ctx, e.db, in.Limit, in.Offset)
	if err != nil {
		return nil, err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d unresolved uncertainties; showing %d from offset %d.", total, len(list), in.Offset)
	for _, u := range list {
		fmt.Fprintf(&b, "\n- %s (%.2f): %s — why: %s", u.ID, u.Confidence, u.What, u.Why)
		if len(u.WhatWouldHelp) > 0 {
			fmt.Fprintf(&b, " — would help: %s", strings.Join(u.WhatWouldHelp, "; "))
		}
	}
	return &Result{Text: b.String(), Data: map[string]any{"total": total, "offset": in.Offset, "uncertainties": list}}, nil
}
