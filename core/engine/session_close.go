package engine

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
)

// close_session intensities (the original's).
const (
	closeLearnedIntensity  = 0.7
	closeSurpriseIntensity = 0.8
)

func (e *Engine) closeSessionTool() Tool {
	return Tool{
		Name:  "close_session",
		Title: "Close the session",
		Description: "End a session in one step, all or nothing: what you learned becomes a reflection-domain hypothesis " +
			"(intensity 0.7), what surprised you a surprise-domain hypothesis (0.8), what to pick up a handoff for the next " +
			"session (at most 2048 bytes), and the session's spiral moves one phase along its cycle (Coherence Check wraps " +
			"to Initialization) with reflection depth + 1. Returns the ids of what was recorded.",
		Schema: objectSchema(obj{
			"what_i_learned":    strProp("What you learned this session", 16000),
			"what_surprised_me": textProp("What surprised you", 16000),
			"what_to_pick_up":   textProp("What the next session should pick up (a handoff; at most 2048 bytes of UTF-8)", maxHandoffNoteBytes),
			"thread":            obj{"type": "string", "description": "The thread of the handoff and insights", "default": "general", "minLength": 1, "maxLength": 128},
			"source_instance":   textProp("Which instance you are (free text)", 128),
		}, "what_i_learned"),
		Effect: EffectAppend, Tier: TierEssential, Intent: "handoff",
		Handler: e.closeSession,
	}
}

// closeSessionResult is what close_session recorded.
type closeSessionResult struct {
	Learned  insightRecord  `json:"learned"`
	Surprise *insightRecord `json:"surprise,omitempty"`
	Handoff  *handoffRecord `json:"handoff,omitempty"`
	Spiral   struct {
		SpiralID        string `json:"spiral_id"`
		From            string `json:"from_phase"`
		To              string `json:"to_phase"`
		ReflectionDepth int64  `json:"reflection_depth"`
	} `json:"spiral"`
}

func (e *Engine) closeSession(ctx context.Context, c *Call) (*Result, error) {
	in := struct {
		Learned        string `json:"what_i_learned"`
		Surprised      string `json:"what_surprised_me"`
		PickUp         string `json:"what_to_pick_up"`
		Thread         string `json:"thread"`
		SourceInstance string `json:"source_instance"`
	}{Thread: "general"}
	if err := c.Decode(&in); err != nil {
		return nil, err
	}
	if err := nonBlank(map[string]string{"/what_i_learned": in.Learned}); err != nil {
		return nil, err
	}
	thread, err := normalizeDomain("/thread", in.Thread)
	if err != nil {
		return nil, err
	}
	extra := func(part string) map[string]any {
		return map[string]any{"thread": thread, "source_instance": in.SourceInstance, "close_session": true, "part": part}
	}
	var out closeSessionResult
	err = inTx(ctx, e.db, func(tx *sql.Tx) error {
		var err error
		out.Learned, err = e.insertInsight(ctx, tx, c.Caller, insightInput{Domain: "reflection", Content: in.Learned,
			Layer: LayerHypothesis, Intensity: closeLearnedIntensity, Extra: extra("learned")})
		if err != nil {
			return err
		}
		if strings.TrimSpace(in.Surprised) != "" {
			rec, err := e.insertInsight(ctx, tx, c.Caller, insightInput{Domain: "surprise", Content: in.Surprised,
				Layer: LayerHypothesis, Intensity: closeSurpriseIntensity, Extra: extra("surprise")})
			if err != nil {
				return err
			}
			out.Surprise = &rec
		}
		if strings.TrimSpace(in.PickUp) != "" {
			h, err := e.insertHandoff(ctx, tx, c.Caller, in.PickUp, thread, in.SourceInstance)
			if err != nil {
				return renameField(err, "/note", "/what_to_pick_up")
			}
			out.Handoff = &h
		}
		before, after, err := e.stepSpiral(ctx, tx, c.Caller, "close_session", 1, func(p int) int { return (p + 1) % len(spiralPhases) })
		if err != nil {
			return err
		}
		out.Spiral.SpiralID, out.Spiral.From, out.Spiral.To, out.Spiral.ReflectionDepth = after.SpiralID, before.Phase, after.Phase, after.ReflectionDepth
		return nil
	})
	if err != nil {
		return nil, err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Session closed. Learned: insight %s.", out.Learned.ID)
	if out.Surprise != nil {
		fmt.Fprintf(&b, " Surprise: insight %s.", out.Surprise.ID)
	}
	if out.Handoff != nil {
		fmt.Fprintf(&b, " Handoff %s left on thread %s.", out.Handoff.ID, out.Handoff.Thread)
	}
	fmt.Fprintf(&b, " Spiral: %s → %s, reflection depth %d.", out.Spiral.From, out.Spiral.To, out.Spiral.ReflectionDepth)
	return &Result{Text: b.String(), Data: out}, nil
}

// renameField gives a validation error of a shared function the name of
// this tool's argument.
func renameField(err error, from, to string) error {
	var ee *Error
	if errors.As(err, &ee) && ee.Field == from {
		cp := *ee
		cp.Field = to
		return &cp
	}
	return err
}
