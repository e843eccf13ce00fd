package engine

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// maxObservation bounds a spiral_reflect observation; echoClip is how much
// of it the result repeats.
const (
	maxObservation = 4000
	echoClip       = 200
)

// spiralTools is the spiral (spiral_status, spiral_reflect,
// spiral_inherit), the reflection tools and close_session, with the call
// observer that counts every call per session and the
// sovereign://spiral/state resource.
func (e *Engine) spiralTools() []Tool {
	e.observers = append(e.observers, e.observeCall)
	e.resources = append(e.resources, Resource{
		URI: "sovereign://spiral/state", Name: "spiral-state", MIMEType: "application/json",
		Description: "The calling session's spiral: phase, counts, and its last transitions (JSON)",
		Read:        e.spiralStateResource,
	})
	perSession := " State is per MCP session; calls without a session id share the anonymous session \"\"."
	tools := []Tool{{
		Name:  "spiral_status",
		Title: "Spiral status",
		Description: "Show the calling session's spiral: phase (one of 9, in cyclic order), successful tool calls counted, " +
			"reflection depth, duration and the last 3 phase transitions. Each successful call counts and moves the phase " +
			"at most one step, by the tool's declared effect and intent: " + spiralTableText() + perSession,
		Schema: objectSchema(obj{}),
		Effect: EffectRead, Tier: TierEssential, Intent: "introspect",
		Handler: e.spiralStatus,
	}, {
		Name:  "spiral_reflect",
		Title: "Reflect in the spiral",
		Description: "Record an observation about the session so far: it is stored, reflection depth goes up by one and the " +
			"phase moves at most one step (First-Order Observation → Recursive Integration → Counter-Perspectives, " +
			"Execution → Meta-Reflection; elsewhere it stays)." + perSession,
		Schema: objectSchema(obj{
			"observation": strProp("What you observe (at most 4000 characters)", maxObservation),
		}, "observation"),
		Effect: EffectAppend, Tier: TierCore, Intent: "introspect",
		Handler: e.spiralReflect,
	}, {
		Name:  "spiral_inherit",
		Title: "Inherit a previous session",
		Description: "Start a new spiral for the calling session only (no other session is touched), recording which " +
			"session it continues, and return that session's context: its last handoffs and close_session reflections and " +
			"up to 10 each of the ground truths, hypotheses and open-thread insights it recorded. session_id defaults to " +
			"the caller's previous session: the most recently active other session of the same principal.",
		Schema: objectSchema(obj{
			"session_id":   strProp("The session to inherit from (default: your previous session)", 256),
			"full_content": boolProp("Show whole insights instead of their first 200 characters", false),
		}),
		Effect: EffectMutate, Tier: TierCore, Intent: "orient",
		Handler: e.spiralInherit,
	}}
	tools = append(tools, e.reflectionTools()...)
	return append(tools, e.closeSessionTool())
}

// spiralView is a session's state with its last transitions.
type spiralView struct {
	State           spiralState        `json:"state"`
	DurationSeconds float64            `json:"duration_seconds"`
	LastTransitions []spiralTransition `json:"last_transitions"`
}

func (e *Engine) spiralView(ctx context.Context, session string) (spiralView, error) {
	st, err := loadSpiral(ctx, e.db, session)
	if err != nil {
		return spiralView{}, err
	}
	v := spiralView{State: st, LastTransitions: []spiralTransition{}}
	if st.Stored {
		if started, err := time.Parse(tsLayout, st.Started); err == nil {
			v.DurationSeconds = e.now().Sub(started).Round(time.Second).Seconds()
		}
		if v.LastTransitions, err = lastTransitions(ctx, e.db, st, 3); err != nil {
			return spiralView{}, err
		}
	}
	return v, nil
}

func (e *Engine) spiralStatus(ctx context.Context, c *Call) (*Result, error) {
	v, err := e.spiralView(ctx, c.Caller.Session)
	if err != nil {
		return nil, err
	}
	return &Result{Text: v.text(), Data: v}, nil
}

// statusLine is the one-line summary of a state (also used by the
// where_did_i_leave_off briefing).
func (st spiralState) statusLine(duration time.Duration) string {
	if !st.Stored {
		return fmt.Sprintf("Spiral of session %q: Initialization (1/9), no call counted yet.", st.SessionID)
	}
	s := fmt.Sprintf("Spiral %s of session %q: %s (%d/9), %d tool calls, reflection depth %d, running %s",
		st.SpiralID, st.SessionID, st.Phase, st.PhaseIndex+1, st.ToolCallCount, st.ReflectionDepth, duration)
	if st.InheritedFrom != "" {
		s += fmt.Sprintf(", inherited from session %q", st.InheritedFrom)
	}
	return s + "."
}

func (v spiralView) text() string {
	var b strings.Builder
	b.WriteString(v.State.statusLine(time.Duration(v.DurationSeconds) * time.Second))
	if len(v.LastTransitions) > 0 {
		b.WriteString("\nLast transitions (newest first):")
		for _, tr := range v.LastTransitions {
			fmt.Fprintf(&b, "\n- %s: %s → %s (%s, after %d calls)", tr.Timestamp, tr.From, tr.To, tr.Cause, tr.ToolCallCount)
		}
	}
	return b.String()
}

func (e *Engine) spiralStateResource(ctx context.Context, c Caller) (string, error) {
	v, err := e.spiralView(ctx, c.Session)
	if err != nil {
		return "", err
	}
	b, err := json.Marshal(v)
	if err != nil {
		return "", internal("cannot encode the spiral state", err)
	}
	return string(b), nil
}

func (e *Engine) spiralReflect(ctx context.Context, c *Call) (*Result, error) {
	var in struct {
		Observation string `json:"observation"`
	}
	if err := c.Decode(&in); err != nil {
		return nil, err
	}
	if strings.TrimSpace(in.Observation) == "" {
		return nil, FieldError("/observation", "the observation is blank")
	}
	var (
		before, after spiralState
		id            string
	)
	err := inTx(ctx, e.db, func(tx *sql.Tx) error {
		var err error
		before, after, err = e.stepSpiral(ctx, tx, c.Caller, "spiral_reflect", 1, func(p int) int { return nextPhase(p, kindReflect) })
		if err != nil {
			return err
		}
		id, err = insertWithNewID(ctx, tx, "obs", `INSERT INTO spiral_observations
			(id, ts, session_id, spiral_id, principal, phase, observation) VALUES (?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT(id) DO NOTHING`, after.Updated, c.Caller.Session, after.SpiralID, c.Caller.Principal, after.PhaseIndex, in.Observation)
		return err
	})
	if err != nil {
		return nil, err
	}
	echo, clipped := clipToRunes(in.Observation, echoClip)
	moved := "the phase stays " + after.Phase
	if after.PhaseIndex != before.PhaseIndex {
		moved = "phase " + before.Phase + " → " + after.Phase
	}
	return &Result{
		Text: fmt.Sprintf("Observation %s stored; reflection depth %d; %s.\n%s", id, after.ReflectionDepth, moved, echo),
		Data: map[string]any{
			"observation_id": id, "observation": echo, "observation_clipped": clipped,
			"from_phase": before.Phase, "phase": after.Phase, "reflection_depth": after.ReflectionDepth,
			"spiral_id": after.SpiralID,
		},
	}, nil
}
