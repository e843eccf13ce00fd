package main

import (
	"context"
	"fmt"

	"github.com/hashicorp/go-hclog"

	"github.com/sovereign-stack/sovereign/core/config"
	"github.com/sovereign-stack/sovereign/core/engine"
	"github.com/sovereign-stack/sovereign/core/pathfact"
	"github.com/sovereign-stack/sovereign/proxy"
	"github.com/sovereign-stack/sovereign/proxy/builtin"
	"github.com/sovereign-stack/sovereign/proxy/policygate"
	"github.com/sovereign-stack/sovereign/proxy/upstream"
)

// builtinEngine is the built-in tool engine as serve runs it: the engine,
// the upstream that reaches it in process, and its tools' effects for the
// gate.
type builtinEngine struct {
	engine   *engine.Engine
	upstream proxy.Upstream
	effects  *policygate.EngineEffects
	// pathArgs are the arguments of each tool that name host paths.
	pathArgs map[string][]string
}

// startEngine opens the built-in engine on the data directory (nil, nil when
// the config disables it). roots bound scan_thresholds; judge answers govern
// (bound to the gate once it exists).
func startEngine(ctx context.Context, cfg config.Config, roots []string, judge engine.Judge, log hclog.Logger) (*builtinEngine, error) {
	if !cfg.Engine.Enabled {
		return nil, nil
	}
	e, err := engine.New(ctx, engine.Options{
		DataDir: cfg.DataDir,
		Roots:   roots,
		Judge:   judge,
		Version: buildVersion(),
		Logger:  log.Named("engine"),
	})
	if err != nil {
		return nil, fmt.Errorf("built-in engine: %w", err)
	}
	srv := builtin.NewServer(e, buildVersion(), log.Named("engine"))
	return &builtinEngine{
		engine: e,
		upstream: proxy.Upstream{
			Spec: upstream.Spec{
				Name:            config.EngineServer,
				Transport:       upstream.TransportInProcess,
				InProcess:       srv,
				Timeout:         config.DefaultTimeout,
				MaxMessageBytes: cfg.Limits.MaxMessageBytes,
			},
			Prefix: "", // the original's tool names, so existing prompts keep working
		},
		effects:  &policygate.EngineEffects{Server: config.EngineServer, Effects: builtin.PolicyEffects(e)},
		pathArgs: builtin.PathArgs(e),
	}, nil
}

// close closes the engine's database.
func (b *builtinEngine) close(log hclog.Logger) {
	if b == nil {
		return
	}
	if err := b.engine.Close(); err != nil {
		log.Warn("closing the built-in engine", "error", err)
	}
}

// pathFacts returns the arguments of a call to the engine that name paths
// (only those, so that text mentioning a path is not taken for one) and
// their selectors; ok is false for a call that is not the engine's.
func (b *builtinEngine) pathFacts(c policygate.Call) (args map[string]any, sel *pathfact.ToolArgs, ok bool) {
	if b == nil || c.Upstream != config.EngineServer {
		return nil, nil, false
	}
	names := b.pathArgs[c.Tool]
	args = map[string]any{}
	if m, isMap := c.Args.(map[string]any); isMap {
		for _, n := range names {
			if v, has := m[n]; has {
				args[n] = v
			}
		}
	}
	if len(names) > 0 {
		// The names were declared by the engine; a bad one is a bug
		// there, and then nothing is selected beyond the default rules.
		sel, _ = pathfact.NewToolArgs(names)
	}
	return args, sel, true
}

// policyEffects are the tools' effects for the gate (nil without an engine).
func (b *builtinEngine) policyEffects() *policygate.EngineEffects {
	if b == nil {
		return nil
	}
	return b.effects
}
