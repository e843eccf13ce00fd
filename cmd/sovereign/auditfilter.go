package main

import (
	"bufio"
	"errors"
	"fmt"
	"path"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/sovereign-stack/sovereign/core/audit"
)

// filterFlags are the record filters of show, tail and export.
type filterFlags struct {
	since, until string
	kinds        []string
	decision     string
	tool         string
	upstream     string
	principal    string
	session      string
	rule         string
}

func (f *filterFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.since, "since", "", "records from T on: RFC 3339, a date, or a duration ago (1h, 7d)")
	fl.StringVar(&f.until, "until", "", "records up to T (same forms as --since)")
	fl.StringSliceVar(&f.kinds, "kind", nil, "records of these kinds (decision, outcome, checkpoint, audit_failure, …); repeatable or comma-separated")
	fl.StringVar(&f.decision, "decision", "", "decisions that allow or deny (allow|deny)")
	fl.StringVar(&f.tool, "tool", "", "decisions about tools matching GLOB (the name clients see or the upstream's name)")
	fl.StringVar(&f.upstream, "upstream", "", "records about this upstream server")
	fl.StringVar(&f.principal, "principal", "", "decisions for this principal (ID, or KIND:ID)")
	fl.StringVar(&f.session, "session", "", "decisions in this session")
	fl.StringVar(&f.rule, "rule", "", "decisions naming a rule matching GLOB (in rules, reasons or gate_reason), e.g. SEC-001 or 'PATH-*'")
}

// build checks the flags and returns the filter; now anchors durations.
func (f *filterFlags) build(now time.Time) (*recordFilter, error) {
	r := &recordFilter{upstream: f.upstream, principal: f.principal, session: f.session, tool: f.tool, rule: f.rule}
	var err error
	if r.since, err = parseWhen(f.since, now); err != nil {
		return nil, usageError{fmt.Errorf("--since: %w", err)}
	}
	if r.until, err = parseWhen(f.until, now); err != nil {
		return nil, usageError{fmt.Errorf("--until: %w", err)}
	}
	if !r.since.IsZero() && !r.until.IsZero() && r.until.Before(r.since) {
		return nil, usageError{errors.New("--until is before --since")}
	}
	for _, k := range f.kinds {
		if k = strings.TrimSpace(k); k != "" {
			if r.kinds == nil {
				r.kinds = map[string]bool{}
			}
			r.kinds[k] = true
		}
	}
	switch f.decision {
	case "":
	case "allow", "deny":
		allow := f.decision == "allow"
		r.allow = &allow
	default:
		return nil, usageError{fmt.Errorf("--decision %q: want allow or deny", f.decision)}
	}
	for name, glob := range map[string]string{"--tool": f.tool, "--rule": f.rule} {
		if _, err := path.Match(glob, ""); err != nil {
			return nil, usageError{fmt.Errorf("%s %q: %w", name, glob, err)}
		}
	}
	r.aboutDecision = r.allow != nil || r.tool != "" || r.principal != "" || r.session != "" || r.rule != ""
	return r, nil
}

// parseWhen reads a time flag: RFC 3339, a date or date and time (local
// time), or a duration before now ("90m", "1h", "7d"). "" is the zero time.
func parseWhen(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	if d, ok := parseAgo(s); ok {
		return now.Add(-d), nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	for _, layout := range []string{"2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02 15:04:05", "2006-01-02 15:04", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, s, time.Local); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is neither a time (RFC 3339, 2006-01-02, 2006-01-02T15:04) nor a duration ago (1h, 30m, 7d)", s)
}

// parseAgo reads a non-negative duration, with "d" for days.
func parseAgo(s string) (time.Duration, bool) {
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.ParseFloat(days, 64)
		if err != nil || n < 0 || n > 365*100 {
			return 0, false
		}
		return time.Duration(n * float64(24*time.Hour)), true
	}
	d, err := time.ParseDuration(s)
	return d, err == nil && d >= 0
}

// recordFilter keeps the records the flags ask for.
type recordFilter struct {
	since, until time.Time
	kinds        map[string]bool
	allow        *bool
	tool         string // glob
	upstream     string
	principal    string
	session      string
	rule         string // glob
	// aboutDecision: a filter only decision records can pass; the outcomes
	// of the decisions kept are kept too.
	aboutDecision bool
	kept          idSet
}

// match tells whether rec passes. It must see the records in order: an
// outcome passes the decision filters when its decision did.
func (f *recordFilter) match(rec *audit.Record) bool {
	if !f.since.IsZero() && rec.Time.Before(f.since) {
		return false
	}
	if !f.until.IsZero() && rec.Time.After(f.until) {
		return false
	}
	if f.kinds != nil && !f.kinds[rec.Kind] {
		return false
	}
	if f.upstream != "" && rec.Str("upstream") != f.upstream {
		return false
	}
	if !f.aboutDecision {
		return true
	}
	switch rec.Kind {
	case audit.KindDecision:
		if !f.decisionMatch(rec) {
			return false
		}
		f.kept.add(rec.Log + "\x00" + rec.Str("decision_id"))
		return true
	case audit.KindOutcome:
		return f.kept.has(rec.Log+"\x00"+rec.Str("decision_id")) ||
			(rec.Str("result_decision_id") != "" && f.kept.has(rec.Log+"\x00"+rec.Str("result_decision_id")))
	}
	return false
}

func (f *recordFilter) decisionMatch(rec *audit.Record) bool {
	if f.allow != nil {
		if allow, ok := rec.Bool("allow"); !ok || allow != *f.allow {
			return false
		}
	}
	if f.tool != "" && !globAny(f.tool, rec.Str("tool", "name"), rec.Str("tool", "upstream_name")) {
		return false
	}
	if f.principal != "" {
		kind, id := rec.Str("principal", "kind"), rec.Str("principal", "id")
		if f.principal != id && f.principal != kind+":"+id {
			return false
		}
	}
	if f.session != "" && rec.Str("session") != f.session {
		return false
	}
	if f.rule != "" && !globAny(f.rule, ruleIDs(rec)...) {
		return false
	}
	return true
}

// ruleIDs are the rule ids a decision names: rules, reasons and gate_reason.
func ruleIDs(rec *audit.Record) []string {
	ids := rec.Strings("rules")
	if g := rec.Str("gate_reason"); g != "" {
		ids = append(ids, g)
	}
	reasons, _ := rec.Field("reasons").([]any)
	for _, r := range reasons {
		if m, ok := r.(map[string]any); ok {
			if id, ok := m["id"].(string); ok {
				ids = append(ids, id)
			}
		}
	}
	return ids
}

func globAny(glob string, values ...string) bool {
	for _, v := range values {
		if v == "" {
			continue
		}
		if ok, _ := path.Match(glob, v); ok {
			return true
		}
	}
	return false
}

// idSetGeneration bounds the memory of an idSet: it remembers between one
// and two generations of this many ids (an outcome follows its decision
// closely).
const idSetGeneration = 1 << 16

// idSet is a set of recent ids.
type idSet struct {
	cur, old map[string]struct{}
}

func (s *idSet) add(id string) {
	if s.cur == nil {
		s.cur = make(map[string]struct{})
	}
	if len(s.cur) >= idSetGeneration {
		s.old, s.cur = s.cur, make(map[string]struct{})
	}
	s.cur[id] = struct{}{}
}

func (s *idSet) has(id string) bool {
	if _, ok := s.cur[id]; ok {
		return true
	}
	_, ok := s.old[id]
	return ok
}

// tablePrinter writes one line per record under a header, in fixed-width
// columns (so that tail -f stays aligned).
type tablePrinter struct {
	w       *bufio.Writer
	withLog bool
	started bool
}

func newTablePrinter(w *bufio.Writer, withLog bool) *tablePrinter {
	return &tablePrinter{w: w, withLog: withLog}
}

// tableColumns are the columns and their widths; LOG only with several
// logs.
var tableColumns = []struct {
	name  string
	width int
}{
	{"TIME", 24}, {"LOG", 8}, {"SEQ", 8}, {"KIND", 14}, {"DECISION", 9}, {"METHOD", 15},
	{"UPSTREAM", 10}, {"TOOL", 26}, {"RULES", 14}, {"DECISION ID", 37}, {"NOTE", 0},
}

func (p *tablePrinter) row(cells []string) error {
	var b strings.Builder
	for i, c := range tableColumns {
		if c.name == "LOG" && !p.withLog {
			continue
		}
		v := cells[i]
		if c.width == 0 {
			b.WriteString(v)
			break
		}
		if c.name == "SEQ" {
			b.WriteString(strings.Repeat(" ", max(0, c.width-2-len(v))))
			b.WriteString(v)
			b.WriteString("  ")
			continue
		}
		b.WriteString(v)
		b.WriteString(strings.Repeat(" ", max(1, c.width-utf8.RuneCountInString(v))))
	}
	_, err := p.w.WriteString(strings.TrimRight(b.String(), " ") + "\n")
	return err
}

func (p *tablePrinter) print(rec *audit.Record) error {
	if !p.started {
		p.started = true
		names := make([]string, len(tableColumns))
		for i, c := range tableColumns {
			names[i] = c.name
		}
		if err := p.row(names); err != nil {
			return err
		}
	}
	return p.row(tableCells(rec))
}

func (p *tablePrinter) flush() error { return p.w.Flush() }

// tableCells are the cells of a record, sanitized for a terminal.
func tableCells(rec *audit.Record) []string {
	decision, tool, note := "", "", ""
	switch rec.Kind {
	case audit.KindDecision:
		if allow, ok := rec.Bool("allow"); ok {
			decision = map[bool]string{true: "allow", false: "deny"}[allow]
		}
		switch {
		case rec.Str("tool", "name") != "":
			tool = rec.Str("tool", "name")
		case rec.Str("prompt", "name") != "":
			tool = "prompt " + rec.Str("prompt", "name")
		case rec.Str("resource", "uri") != "":
			tool = rec.Str("resource", "uri")
		}
		note = decisionNote(rec)
	case audit.KindOutcome:
		decision = rec.Str("status")
		if us, ok := rec.Int("duration_us"); ok {
			note = (time.Duration(us) * time.Microsecond).Round(10 * time.Microsecond).String()
		}
	default:
		note = lifecycleNote(rec)
	}
	rules := strings.Join(rec.Strings("rules"), ",")
	cells := []string{
		rec.Time.UTC().Format("2006-01-02T15:04:05.000Z"), rec.Log, strconv.FormatUint(rec.Seq, 10), rec.Kind,
		decision, rec.Str("method"), rec.Str("upstream"), tool, rules, rec.Str("decision_id"), note,
	}
	for i, c := range cells {
		if c == "" {
			c = "-"
		}
		cells[i] = printable(c)
	}
	cells[len(cells)-1] = cutText(cells[len(cells)-1], 120)
	return cells
}

// decisionNote says why a decision went the way it did.
func decisionNote(rec *audit.Record) string {
	var parts []string
	if ph := rec.Str("phase"); ph != "" && ph != "call" {
		parts = append(parts, ph+" phase")
	}
	if rec.Str("mode") == "shadow" {
		if pa, ok := rec.Bool("policy_allow"); ok && !pa {
			parts = append(parts, "shadow: would deny")
		}
	}
	// Reason messages are recorded as keyed digests (they may quote
	// arguments); the rule ids say why.
	if allow, _ := rec.Bool("allow"); !allow {
		if r := rec.Str("gate_reason"); r != "" {
			parts = append(parts, "denied by the proxy: "+r)
		}
	} else if len(rec.Strings("redact")) > 0 {
		parts = append(parts, "redact "+strings.Join(rec.Strings("redact"), ","))
	}
	return strings.Join(parts, "; ")
}

// lifecycleNote summarizes a record the log writes about itself.
func lifecycleNote(rec *audit.Record) string {
	num := func(k string) string {
		n, _ := rec.Int(k)
		return strconv.FormatInt(n, 10)
	}
	switch rec.Kind {
	case audit.KindCheckpoint:
		return "size " + num("size")
	case audit.KindLogOpened:
		return fmt.Sprintf("%s, pid %s, version %s", rec.Str("reason"), num("pid"), rec.Str("version"))
	case audit.KindLogClosed:
		return "pid " + num("pid")
	case audit.KindPolicyLoaded:
		return fmt.Sprintf("revision %s (%s)", rec.Str("revision"), rec.Str("mode"))
	case audit.KindRecoveredTornTail:
		return fmt.Sprintf("%s: %s bytes moved to quarantine/%s", rec.Str("segment"), num("bytes"), rec.Str("quarantine"))
	case audit.KindTamperAccepted:
		return fmt.Sprintf("%s at seq %s in %s: %s", rec.Str("category"), num("first_bad_seq"), rec.Str("segment"), rec.Str("detail"))
	case audit.KindAuditFailure:
		return fmt.Sprintf("%s to %s, %s calls denied: %s", rec.Str("since"), rec.Str("until"), num("denied"), rec.Str("error"))
	case audit.KindResumed:
		return "after seq " + num("after_failure_seq")
	case audit.KindSegmentSealed:
		return "next " + rec.Str("next")
	case audit.KindSegmentOpened:
		return "previous " + rec.Str("previous")
	}
	return ""
}

// printable replaces control characters (a terminal would act on them:
// tool names and reasons come from upstreams and policies).
func printable(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return '?'
		}
		return r
	}, s)
}

// cutText shortens s to n runes.
func cutText(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}
