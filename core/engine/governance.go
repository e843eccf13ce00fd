package engine

import "github.com/sovereign-stack/sovereign/core/engine/compass"

// governanceTools are routing (route, derive) and governance
// (scan_thresholds, compass_check, govern).
func (e *Engine) governanceTools() []Tool {
	return []Tool{{
		Name:  "route",
		Title: "Route a packet to a memory path",
		Description: "Walk a routing schema with a packet of metadata and return the path, relative to the data root, where it " +
			"belongs (memory/outcome=success/search/10-19/5.json). At each level keys are tried in order ('_' keys skipped): " +
			"a missing key routes to memory/_intake/missing_metadata/, no matching key to memory/_intake/no_match/. Branches " +
			"match exactly, by numeric predicate (>N <N >=N <=N ==N !=N, range A-B) or as one of a pipe list a|b. The leaf " +
			"template takes {key} and {key=default} only; every value becomes one sanitised path segment. The default schema " +
			"is the original AGENT_MEMORY_SCHEMA (outcome, then tool_family, then a confidence band). dry_run=false creates " +
			"the directories (never a file), always inside memory/.",
		Schema: objectSchema(obj{
			"packet":  obj{"type": "object", "description": "The packet's metadata: strings, numbers and booleans", "maxProperties": 256},
			"dry_run": boolProp("Only compute the path (default); false also creates its directories", true),
			"schema": obj{"type": "object", "description": "A routing schema (default: the original AGENT_MEMORY_SCHEMA): key → {branch → template or another level}",
				"maxProperties": 256},
		}, "packet"),
		Effect: EffectAppend, Idempotent: true, Tier: TierCore, Intent: "route",
		Handler: e.route,
	}, {
		Name:  "derive",
		Title: "Derive a schema from paths",
		Description: "Discover the routing structure latent in a list of paths: every key=value segment is counted per depth, " +
			"and keys whose (key, value) frequency reaches min_frequency are returned with their level, values and pattern " +
			"({_derived, _structure, _stats}). Reads nothing from disk.",
		Schema: objectSchema(obj{
			"paths":         arrProp("The paths to analyse (at most 10,000, each at most 4096 characters)", obj{"type": "string", "maxLength": 4096}, maxDerivePaths),
			"min_frequency": obj{"type": "number", "description": "Minimum share of the paths a key=value must appear in (default 0.1)", "minimum": 0, "maximum": 1, "default": 0.1},
		}, "paths"),
		Effect: EffectRead, Tier: TierAdvanced, Intent: "route",
		Handler: e.derive,
	}, {
		Name:  "scan_thresholds",
		Title: "Scan a directory against thresholds",
		Description: "Measure a directory inside the configured roots (an absolute path, or relative to the first root; symlinks " +
			"resolved and never followed while walking): file count, maximum depth, name entropy (Shannon entropy of the file " +
			"names' characters over log2 of their alphabet) and growth since the previous complete scan of the same path " +
			"(deltas and files per hour). Each metric's severity comes from value/limit: >=1.5 EMERGENCY, >=1.0 CRITICAL, " +
			">=0.8 WARNING, >=0.64 INFO. The walk is bounded (200,000 entries, 10 s); a partial scan says complete:false " +
			"and why. Every scan is stored for the next growth figure.",
		Schema: objectSchema(obj{
			"path":      strProp("The directory: absolute, or relative to the first configured root", 4096),
			"recursive": boolProp("Walk subdirectories (default true)", true),
			"limits": obj{"type": "object", "description": "Thresholds (defaults: max_files 100, max_depth 10, max_entropy 0.85)",
				"additionalProperties": false, "properties": obj{
					"max_files":   obj{"type": "integer", "minimum": 1, "maximum": 100000000, "default": 100},
					"max_depth":   obj{"type": "integer", "minimum": 1, "maximum": 10000, "default": 10},
					"max_entropy": obj{"type": "number", "exclusiveMinimum": 0, "maximum": 1, "default": 0.85},
				}},
		}, "path"),
		Effect: EffectRead, Tier: TierCore, Intent: "govern",
		PathArgs: []string{"path"},
		Handler:  e.scanThresholds,
	}, {
		Name:  "compass_check",
		Title: "Check an action before taking it",
		Description: "Classify an action before you take it: PROCEED, PAUSE or WITNESS (a question of ethics, consent or " +
			"authority for a person), with the risk signals and the verifications to make first. Text is normalised (NFKC, " +
			"zero-width and other invisible characters removed) and matched as commands with their flags (rm -r -f, " +
			"git push -f or +ref, git reset --hard, DROP TABLE, DELETE FROM without WHERE, curl | sh, terraform destroy, " +
			"--no-verify…) and whole words. Stakes decide: destructive, bypass and externalize signals pause at every stakes; " +
			"reversible changes and claims of completion proceed (with verifications) only at low; writes and unknown " +
			"commands pause from high; at critical only an explicitly read-only action proceeds. Advice only: the proxy's " +
			"policy is what enforces.",
		Schema: objectSchema(obj{
			"action":  strProp("The action: a command line or a description (at most 4000 characters)", maxCompassText),
			"context": textProp("What surrounds it (at most 4000 characters)", maxCompassText),
			"stakes":  enumProp("How bad a mistake would be", string(compass.Medium), string(compass.Low), string(compass.Medium), string(compass.High), string(compass.Critical)),
		}, "action"),
		Effect: EffectRead, Tier: TierEssential, Intent: "govern",
		Handler: e.compassCheck,
	}, {
		Name:  "govern",
		Title: "Ask the policy about an action",
		Description: "Ask Sovereign's live policy whether an action would be allowed, before taking it: a proposed tool call " +
			"(tool as you see it, optional upstream, arguments) or a described action (target). Returns the policy's real " +
			"decision: allow, decision_id, reasons, obligations, policy_revision, mode and whether it is enforced; a " +
			"described target also gets compass_check's advice. The decision is recorded in the audit log as a govern check " +
			"(this changes no engine state). It approves nothing: the real call is decided again when it is made.",
		Schema: objectSchema(obj{
			"target":    strProp("A described action (at most 4000 characters); or give tool", maxCompassText),
			"tool":      strProp("A proposed tool call: the tool's name as you see it; or give target", 128),
			"upstream":  strProp("The upstream server of the tool, when the name alone does not say", 128),
			"arguments": obj{"type": "object", "description": "The proposed call's arguments", "maxProperties": 256},
			"rationale": textProp("Why you want to do it (the audit log keeps a digest only)", maxCompassText),
			"stakes":    enumProp("Stakes for the compass advice on a target", string(compass.Medium), string(compass.Low), string(compass.Medium), string(compass.High), string(compass.Critical)),
		}),
		Effect: EffectRead, Tier: TierEssential, Intent: "govern",
		Handler: e.govern,
	}}
}
