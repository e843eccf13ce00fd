package engine

import (
	"context"
	"strings"

	"github.com/sovereign-stack/sovereign/core/engine/compass"
)

// maxCompassText bounds compass_check's action and context and govern's
// target.
const maxCompassText = 4000

func (e *Engine) compassCheck(_ context.Context, c *Call) (*Result, error) {
	var in struct {
		Action  string `json:"action"`
		Context string `json:"context"`
		Stakes  string `json:"stakes"`
	}
	if err := c.Decode(&in); err != nil {
		return nil, err
	}
	if strings.TrimSpace(compass.Normalize(in.Action)) == "" {
		return nil, FieldError("/action", "the action is empty once invisible characters are removed")
	}
	r := compass.Check(in.Action, in.Context, compass.Stakes(in.Stakes))
	return &Result{Text: compassText(r), Data: r}, nil
}

// compassText is the human summary of a compass result.
func compassText(r compass.Result) string {
	var b strings.Builder
	b.WriteString(r.Classification + ": " + r.Rationale)
	for _, v := range r.Verifications {
		b.WriteString("\n- " + v)
	}
	return b.String()
}
