package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"os/user"
	"path/filepath"
	"syscall"

	"github.com/hashicorp/go-hclog"

	"github.com/sovereign-stack/sovereign/core/config"
	"github.com/sovereign-stack/sovereign/core/engine"
	"github.com/sovereign-stack/sovereign/core/pathfact"
	"github.com/sovereign-stack/sovereign/core/policy"
	"github.com/sovereign-stack/sovereign/core/ratelimit"
	"github.com/sovereign-stack/sovereign/core/textfact"
	"github.com/sovereign-stack/sovereign/proxy"
	"github.com/sovereign-stack/sovereign/proxy/policygate"
)

// maxRateKeys bounds the token buckets kept in memory.
const maxRateKeys = 65536

// gateSetup is what a policy gate needs beyond the config.
type gateSetup struct {
	configPath string   // the config file, protected as sensitive
	extraRoots []string // e.g. the directories a wrapped command was given
	// servers are the upstreams whose tool settings (servers.<name>.tools)
	// apply: the configured servers for serve, none for run.
	servers map[string]config.Server
	// audit records the decisions; nil when auditing is disabled.
	audit *auditSink
	// engine is the built-in engine when serve runs it, else nil: the
	// gate takes its tools' effects and path arguments from it.
	engine *builtinEngine
}

// defaultRoots are the roots when the config names none: the user's home
// directory and the data directory.
func defaultRoots(cfg config.Config) []string {
	roots := []string{cfg.DataDir}
	if home, err := os.UserHomeDir(); err == nil {
		roots = append([]string{home}, roots...)
	}
	return roots
}

// gateRoots are the directories tool calls may touch: the configured roots
// (or the defaults) and the setup's extra ones.
func gateRoots(cfg config.Config, setup gateSetup) []string {
	roots := cfg.Roots
	if len(roots) == 0 {
		roots = defaultRoots(cfg)
	}
	return append(append([]string(nil), roots...), setup.extraRoots...)
}

// protectedPaths are the proxy's own files, which no tool call may touch
// even inside the roots: the audit log and keys, the built-in engine's
// database (its tools are the only way to change it), the config file, and the
// policy files and data (a tool that could rewrite them could loosen the
// policy that gates it; they reload on change).
func protectedPaths(cfg config.Config, configPath string) []string {
	out := []string{
		filepath.Join(cfg.DataDir, "audit") + "/**",
		filepath.Join(cfg.DataDir, "keys") + "/**",
		filepath.Join(cfg.DataDir, engine.Dir) + "/**",
	}
	files := append([]string(nil), cfg.Policy.Data...)
	if configPath != "" {
		files = append(files, configPath)
	}
	for _, p := range append(files, cfg.Policy.Paths...) {
		abs, err := filepath.Abs(p)
		if err != nil {
			continue
		}
		out = append(out, abs)
		if info, err := os.Stat(abs); err != nil || info.IsDir() {
			// A policy directory, or one that does not exist yet: what it
			// holds or will hold.
			out = append(out, abs+"/**")
		}
	}
	return out
}

// buildGate loads the policies and builds the gate every request passes.
// It starts the reload triggers (file changes, SIGHUP), which stop with ctx.
func buildGate(ctx context.Context, cfg config.Config, setup gateSetup, log hclog.Logger) (*policygate.Gate, error) {
	popts := withLogger(policyOptions(cfg, nil), log.Named("policy"))
	if setup.audit != nil {
		popts.OnLoad = setup.audit.policyLoaded(cfg.Policy.Mode)
	}
	pol, err := policy.New(ctx, popts)
	if err != nil {
		return nil, err
	}
	roots := gateRoots(cfg, setup)
	home, _ := os.UserHomeDir()
	cwd, _ := os.Getwd()
	paths, err := pathfact.New(pathfact.Options{Home: home, Cwd: cwd, Roots: roots, Sensitive: protectedPaths(cfg, setup.configPath)})
	if err != nil {
		return nil, fmt.Errorf("roots: %w", err)
	}
	texts := textfact.New(textfact.Options{})
	tools, err := newToolRules(setup.servers)
	if err != nil {
		return nil, fmt.Errorf("tool settings: %w", err)
	}
	limiter, err := ratelimit.New(maxRateKeys, nil)
	if err != nil {
		return nil, err
	}
	log.Info("policy gate ready", "revision", pol.Revision(), "mode", pol.Mode(), "roots", paths.Roots())
	go func() {
		if err := pol.Watch(ctx); err != nil {
			log.Warn("policy files are not watched; reload with SIGHUP", "error", err)
		}
	}()
	go reloadOnHangup(ctx, pol, log)
	gopts := policygate.Options{
		Engine:  pol,
		Limiter: limiter,
		Roots:   paths.Roots(),
		Home:    home,
		Facts: []policygate.FactFunc{
			func(c policygate.Call, facts map[string]any) {
				if c.Phase == proxy.PhaseResult {
					return // paths a result mentions are not acted on
				}
				if args, sel, ok := setup.engine.pathFacts(c); ok {
					facts["paths"] = pathfact.Values(paths.FactsFor(args, sel))
					return
				}
				facts["paths"] = pathfact.Values(paths.FactsFor(c.Args, tools.pathArgs(c)))
			},
			func(c policygate.Call, facts map[string]any) {
				if c.Phase == proxy.PhaseList {
					return
				}
				res := texts.AnalyzeFor(c.Args, tools.kindArgs(c))
				facts["strings"] = res.Values()
				facts["strings_omitted"] = res.Omitted
				facts["strings_incomplete"] = res.Incomplete
			},
		},
		Tools:   tools,
		Builtin: setup.engine.policyEffects(),
		Logger:  log.Named("gate"),
	}
	if setup.audit != nil {
		gopts.Audit, gopts.AuditKey = setup.audit.log, setup.audit.keys.HMAC
	}
	return policygate.New(gopts), nil
}

func withLogger(o policy.Options, l hclog.Logger) policy.Options {
	o.Logger = l
	return o
}

// reloadOnHangup reloads the policies on SIGHUP until ctx ends.
func reloadOnHangup(ctx context.Context, e *policy.Engine, log hclog.Logger) {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGHUP)
	defer signal.Stop(ch)
	for {
		select {
		case <-ctx.Done():
			return
		case <-ch:
			log.Info("SIGHUP: reloading policies")
			_ = e.Reload(ctx)
		}
	}
}

// osPrincipal is who acts for stdio clients: the OS user running the proxy.
func osPrincipal() proxy.Principal {
	if u, err := user.Current(); err == nil {
		return proxy.Principal{Kind: "os_user", ID: u.Username}
	}
	return proxy.Principal{Kind: "os_user", ID: fmt.Sprint(os.Getuid())}
}

// commandDirs are the arguments of a wrapped command that name existing
// directories: what the user already allowed that server to work in.
func commandDirs(args []string) []string {
	var dirs []string
	for _, a := range args {
		if !filepath.IsAbs(a) {
			continue
		}
		if fi, err := os.Stat(a); err == nil && fi.IsDir() {
			dirs = append(dirs, a)
		}
	}
	return dirs
}
