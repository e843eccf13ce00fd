package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sovereign-stack/sovereign/core/audit"
	"github.com/sovereign-stack/sovereign/core/policy"
	"github.com/sovereign-stack/sovereign/proxy/policygate"
)

// Replay statuses of a decision record.
const (
	replaySame          = "same"
	replayChanged       = "changed"
	replayInconclusive  = "inconclusive"
	replayNotReplayable = "not_replayable"
)

// replayResult is what replaying one decision record found.
type replayResult struct {
	Log        string   `json:"log"`
	Seq        uint64   `json:"seq"`
	Time       string   `json:"ts"`
	DecisionID string   `json:"decision_id"`
	Phase      string   `json:"phase"`
	Method     string   `json:"method"`
	Target     string   `json:"target,omitempty"` // tool, prompt or resource
	Status     string   `json:"status"`
	Change     string   `json:"change,omitempty"` // allow→deny, deny→allow, rules
	Was        string   `json:"was,omitempty"`    // the recorded policy verdict: allow or deny
	Now        string   `json:"now,omitempty"`    // the new policy's verdict
	Added      []string `json:"rules_added,omitempty"`
	Removed    []string `json:"rules_removed,omitempty"`
	Limits     []string `json:"limits,omitempty"`
	Reason     string   `json:"reason,omitempty"` // why it is not replayable
	// RateLimits: the new decision asks for rate limits, which replay does
	// not apply (it has no limiter state).
	RateLimits bool `json:"rate_limits_not_applied,omitempty"`
}

// replaySummary counts the results.
type replaySummary struct {
	Revision      string         `json:"revision"`
	Replayed      int            `json:"replayed"`
	Same          int            `json:"same"`
	Changed       int            `json:"changed"`
	AllowToDeny   int            `json:"allow_to_deny"`
	DenyToAllow   int            `json:"deny_to_allow"`
	RulesChanged  int            `json:"rules_changed"`
	Inconclusive  int            `json:"inconclusive"`
	NotReplayable map[string]int `json:"not_replayable"`
	// RateLimited: records the proxy denied for a rate limit (GATE-RATE);
	// they are compared on the policy's verdict, which replay can redo.
	RateLimited int `json:"rate_limited"`
	// RateLimitsNotApplied: replayed decisions asking for rate limits.
	RateLimitsNotApplied int `json:"rate_limits_not_applied"`
}

func newAuditReplayCommand(g *globalFlags) *cobra.Command {
	var (
		rf          readFlags
		policyDirs  []string
		dataFiles   []string
		noBuiltin   bool
		asJSON      bool
		changedOnly bool
	)
	cmd := &cobra.Command{
		Use:   "replay [--dir D] [--since T] [--until T] [--policy-dir DIR]... [--data FILE]... [--no-builtin] [--json] [--changed-only]",
		Short: "Decide the recorded requests again with another policy and report what would change",
		Long: `Replay reads the decision records of the audit log (the filters of 'sovereign
audit show' apply), rebuilds the policy input of each from what the record keeps,
evaluates it with the policy loaded as 'sovereign policy eval' loads it (the
configured library, paths and data, plus --policy-dir and --data; --no-builtin
leaves the embedded library out), and compares the policy's verdicts: allow or
deny (a require_approval obligation counts as deny) and the ids of the rules that
denied.

A record is "same", "changed" (allow→deny, deny→allow, or other rule ids),
"inconclusive" (the new policy denies less, on a record that lacks what the
rules may have looked at: arguments are kept as digests, string text as HMAC
digests; only paths are kept in clear) or "not replayable" (the proxy decided
without the policy, or the record predates the replay fields). Rate limits are
not applied: replay has no limiter state. See docs/audit-format.md (Replay).

Exit status: 0 nothing changed, 1 some decision changed (or lines could not be
read), 2 usage (a policy that does not load included).

  sovereign audit replay --since 1d --policy-dir ./new-rules --changed-only`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			scan, err := rf.openScan(g, cmd.ErrOrStderr(), false)
			if err != nil {
				return err
			}
			defer scan.close()
			cfg, err := loadConfig(g.configPath)
			if err != nil {
				return err
			}
			opts := policyOptions(cfg, policyDirs)
			opts.DataFiles = append(opts.DataFiles, dataFiles...)
			opts.NoBuiltin = opts.NoBuiltin || noBuiltin
			engine, err := policy.New(cmd.Context(), opts)
			if err != nil {
				// Exit 2, not 1: 1 says the policy would decide otherwise.
				return usageError{fmt.Errorf("policy: %w", err)}
			}
			w := bufio.NewWriterSize(cmd.OutOrStdout(), 64<<10)
			out := replayOutput{w: w, json: asJSON, changedOnly: changedOnly}
			sum := replaySummary{Revision: engine.Revision(), NotReplayable: map[string]int{}}
			for {
				rec, keep, err := scan.next()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					w.Flush()
					return err
				}
				if rec.Kind != audit.KindDecision || !keep {
					continue
				}
				res := replayRecord(cmd.Context(), engine, rec)
				sum.add(res, rec)
				if err := out.record(res); err != nil {
					return err
				}
			}
			if err := out.summary(sum); err != nil {
				return err
			}
			if err := w.Flush(); err != nil {
				return err
			}
			if sum.Changed > 0 {
				return silentError{code: exitFailure}
			}
			return scan.warnings.failed()
		},
	}
	rf.register(cmd)
	fl := cmd.Flags()
	fl.StringArrayVar(&policyDirs, "policy-dir", nil, "policy files or directories to load besides the configured ones (repeatable)")
	fl.StringArrayVar(&dataFiles, "data", nil, "JSON or YAML data merged over the configured data, in order (repeatable)")
	fl.BoolVar(&noBuiltin, "no-builtin", false, "leave the embedded policy library out")
	fl.BoolVar(&asJSON, "json", false, "print one JSON object per record and a last one with the summary")
	fl.BoolVar(&changedOnly, "changed-only", false, "print only the records whose decision would change (and the inconclusive ones)")
	return cmd
}

// replayRecord decides rec again with engine.
func replayRecord(ctx context.Context, engine *policy.Engine, rec *audit.Record) replayResult {
	res := replayResult{Log: rec.Log, Seq: rec.Seq, Time: rec.Time.UTC().Format(time.RFC3339Nano), DecisionID: rec.Str("decision_id"),
		Phase: rec.Str("phase"), Method: rec.Str("method"), Target: replayTarget(rec)}
	input, limits, err := policygate.ReplayInput(rec.Fields)
	if err != nil {
		res.Status, res.Reason = replayNotReplayable, strings.TrimPrefix(err.Error(), policygate.ErrNotReplayable.Error()+": ")
		return res
	}
	res.Limits = limits
	wasAllow, _ := rec.Bool("policy_allow")
	wasAllow = wasAllow && !recordedApproval(rec)
	was := recordedRuleIDs(rec)

	d := engine.Decide(ctx, input)
	nowAllow := d.Allow
	for _, o := range d.Obligations {
		switch o.Type() {
		case policy.ObligationRequireApproval:
			nowAllow = false
		case policy.ObligationRateLimit:
			res.RateLimits = true
		}
	}
	now := d.RuleIDs()
	for _, o := range d.Obligations {
		now = append(now, redactRuleIDs(map[string]any(o))...)
	}
	now = sortedUnique(now)
	res.Was, res.Now = verdictWord(wasAllow), verdictWord(nowAllow)
	res.Added, res.Removed = setDiff(now, was), setDiff(was, now)
	switch {
	case wasAllow && !nowAllow:
		res.Status, res.Change = replayChanged, "allow→deny"
	case !wasAllow && nowAllow:
		res.Status, res.Change = replayChanged, "deny→allow"
	case len(res.Added)+len(res.Removed) > 0:
		res.Status, res.Change = replayChanged, "rules"
	default:
		res.Status = replaySame
		return res
	}
	// Less denial on a record that lacks what a rule may have matched is
	// what the missing data alone would cause: not counted as a change.
	if len(limits) > 0 && len(res.Added) == 0 && !(wasAllow && !nowAllow) {
		res.Status = replayInconclusive
	}
	return res
}

func verdictWord(allow bool) string {
	if allow {
		return "allow"
	}
	return "deny"
}

// recordedApproval tells whether the recorded decision asked for an
// approval (which the proxy treats as a denial until approvals exist).
func recordedApproval(rec *audit.Record) bool {
	obs, _ := rec.Field("obligations").([]any)
	for _, o := range obs {
		if m, ok := o.(map[string]any); ok && m["type"] == policy.ObligationRequireApproval {
			return true
		}
	}
	return false
}

// recordedRuleIDs are the ids of the rules of the policy that denied or
// asked for a redaction in rec, sorted and unique (the gate's own GATE-*
// ids are not the policy's).
func recordedRuleIDs(rec *audit.Record) []string {
	var ids []string
	reasons, _ := rec.Field("reasons").([]any)
	for _, r := range reasons {
		if m, ok := r.(map[string]any); ok {
			if id, ok := m["id"].(string); ok {
				ids = append(ids, id)
			}
		}
	}
	obs, _ := rec.Field("obligations").([]any)
	for _, o := range obs {
		if m, ok := o.(map[string]any); ok {
			ids = append(ids, redactRuleIDs(m)...)
		}
	}
	return sortedUnique(ids)
}

// redactRuleIDs are the rule ids of a redact obligation.
func redactRuleIDs(o map[string]any) []string {
	if o["type"] != policy.ObligationRedact {
		return nil
	}
	var ids []string
	switch rules := o["rules"].(type) {
	case []any:
		for _, r := range rules {
			if id, ok := r.(string); ok {
				ids = append(ids, id)
			}
		}
	case []string:
		ids = append(ids, rules...)
	}
	return ids
}

func sortedUnique(ids []string) []string {
	slices.Sort(ids)
	return slices.Compact(ids)
}

// setDiff is a minus b, both sorted.
func setDiff(a, b []string) []string {
	var out []string
	for _, s := range a {
		if _, found := slices.BinarySearch(b, s); !found {
			out = append(out, s)
		}
	}
	return out
}

func replayTarget(rec *audit.Record) string {
	switch {
	case rec.Str("tool", "name") != "":
		return rec.Str("tool", "name")
	case rec.Str("prompt", "name") != "":
		return "prompt " + rec.Str("prompt", "name")
	}
	return rec.Str("resource", "uri")
}

func (s *replaySummary) add(r replayResult, rec *audit.Record) {
	if rec.Str("gate_reason") == policygate.ReasonRateLimit {
		s.RateLimited++
	}
	if r.Status == replayNotReplayable {
		s.NotReplayable[r.Reason]++
		return
	}
	s.Replayed++
	if r.RateLimits {
		s.RateLimitsNotApplied++
	}
	switch r.Status {
	case replaySame:
		s.Same++
	case replayInconclusive:
		s.Inconclusive++
	case replayChanged:
		s.Changed++
		switch r.Change {
		case "allow→deny":
			s.AllowToDeny++
		case "deny→allow":
			s.DenyToAllow++
		default:
			s.RulesChanged++
		}
	}
}

// replayOutput prints the results as text or JSON lines.
type replayOutput struct {
	w           *bufio.Writer
	json        bool
	changedOnly bool
}

func (o *replayOutput) record(r replayResult) error {
	if o.changedOnly && r.Status != replayChanged && r.Status != replayInconclusive {
		return nil
	}
	if o.json {
		return o.encode(r)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s seq %d %s  %s %s", r.Log, r.Seq, r.DecisionID, r.Method, r.Target)
	if r.Phase != "call" {
		fmt.Fprintf(&b, " (%s phase)", r.Phase)
	}
	switch r.Status {
	case replaySame:
		fmt.Fprintf(&b, "  same (%s)", r.Now)
	case replayNotReplayable:
		fmt.Fprintf(&b, "  NOT REPLAYABLE: %s", r.Reason)
	default:
		word := "CHANGED"
		if r.Status == replayInconclusive {
			word = "INCONCLUSIVE"
		}
		fmt.Fprintf(&b, "  %s %s→%s", word, r.Was, r.Now)
		if len(r.Added) > 0 {
			fmt.Fprintf(&b, " +%s", strings.Join(r.Added, ",+"))
		}
		if len(r.Removed) > 0 {
			fmt.Fprintf(&b, " -%s", strings.Join(r.Removed, ",-"))
		}
	}
	if len(r.Limits) > 0 && r.Status != replaySame {
		fmt.Fprintf(&b, " [%s]", strings.Join(r.Limits, "; "))
	}
	_, err := o.w.WriteString(printable(b.String()) + "\n")
	return err
}

func (o *replayOutput) summary(s replaySummary) error {
	if o.json {
		return o.encode(map[string]any{"summary": s})
	}
	notReplayable := 0
	reasons := make([]string, 0, len(s.NotReplayable))
	for reason, n := range s.NotReplayable {
		notReplayable += n
		reasons = append(reasons, strconv.Itoa(n)+" "+reason)
	}
	slices.Sort(reasons)
	fmt.Fprintf(o.w, "policy revision %s\n", s.Revision)
	fmt.Fprintf(o.w, "replayed %d: same %d, changed %d (allow→deny %d, deny→allow %d, rules only %d), inconclusive %d\n",
		s.Replayed, s.Same, s.Changed, s.AllowToDeny, s.DenyToAllow, s.RulesChanged, s.Inconclusive)
	fmt.Fprintf(o.w, "not replayable %d", notReplayable)
	if len(reasons) > 0 {
		fmt.Fprintf(o.w, " (%s)", printable(strings.Join(reasons, "; ")))
	}
	o.w.WriteString("\n")
	if s.RateLimited > 0 || s.RateLimitsNotApplied > 0 {
		fmt.Fprintf(o.w, "rate limits are not applied (no limiter state): %d decisions ask for them; %d recorded denials by a rate limit are compared on the policy's verdict\n",
			s.RateLimitsNotApplied, s.RateLimited)
	}
	return nil
}

func (o *replayOutput) encode(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	o.w.Write(b)
	return o.w.WriteByte('\n')
}
