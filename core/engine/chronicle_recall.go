package engine

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// recallEntry is an insight as recall shows it: annotated when superseded.
type recallEntry struct {
	insightRecord
	SupersededBy string `json:"_superseded_by,omitempty"`
	CarryForward string `json:"_carry_forward_summary,omitempty"`
}

type recallArgs struct {
	Query               string `json:"query"`
	Domain              string `json:"domain"`
	DomainContains      string `json:"domain_contains"`
	StartDate           string `json:"start_date"`
	EndDate             string `json:"end_date"`
	SinceLastReflection bool   `json:"since_last_reflection"`
	WithIDs             bool   `json:"with_ids"`
	ExcludeSuperseded   bool   `json:"exclude_superseded"`
	Order               string `json:"order"`
	Limit               int    `json:"limit"`
	Offset              int    `json:"offset"`
}

// recallQuery is a recall turned into SQL conditions.
type recallQuery struct {
	match             string // FTS5 expression; empty: no text condition
	tag, domain       string // one tag, or an exact multi-tag domain
	contains          string
	when              timeRange
	excludeSuperseded bool
	order             string
	limit, offset     int
}

// sql returns the statement and its arguments. Every filter is a
// condition on an index or the FTS index, and LIMIT and OFFSET are in the
// statement, so a page never reads the whole chronicle into Go. The
// driving table is chosen so that the order needs no sort: the FTS index
// walks rowids (time order, see rowSlots) or ranks; insight_tags is
// ordered by tag and time.
func (q recallQuery) sql() (string, []any) {
	var (
		conds []string
		args  []any
		from  string
		order string
	)
	desc := " DESC"
	if q.order == "oldest" {
		desc = ""
	}
	switch {
	case q.match != "":
		from = `insights_fts JOIN insights i ON i.rowid = insights_fts.rowid`
		conds = append(conds, `insights_fts MATCH ?`)
		args = append(args, q.match)
		if q.order == "relevance" {
			order = `insights_fts.rank`
		} else {
			order = `insights_fts.rowid` + desc
		}
		if q.tag != "" {
			conds = append(conds, `EXISTS (SELECT 1 FROM insight_tags t WHERE t.tag = ? AND t.ts = i.ts AND t.insight_rowid = i.rowid)`)
			args = append(args, q.tag)
		}
	case q.tag != "":
		from = `insight_tags t JOIN insights i ON i.rowid = t.insight_rowid`
		conds = append(conds, `t.tag = ?`)
		args = append(args, q.tag)
		if q.when.from != "" {
			conds = append(conds, `t.ts >= ?`)
			args = append(args, q.when.from)
		}
		if q.when.to != "" {
			conds = append(conds, `t.ts < ?`)
			args = append(args, q.when.to)
		}
		order = `t.ts` + desc + `, t.insight_rowid` + desc
	default:
		from = `insights i`
		order = `i.rowid` + desc
	}
	// The time bounds as rowid bounds of the driving table (a range scan
	// of the FTS index or the table), and on ts as stored.
	rowid := `i.rowid`
	if q.match != "" {
		rowid = `insights_fts.rowid`
	}
	if q.when.from != "" {
		conds = append(conds, rowid+` >= ?`, `i.ts >= ?`)
		args = append(args, q.when.fromKey, q.when.from)
	}
	if q.when.to != "" {
		conds = append(conds, rowid+` < ?`, `i.ts < ?`)
		args = append(args, q.when.toKey, q.when.to)
	}
	if q.domain != "" {
		conds = append(conds, `i.domain = ?`)
		args = append(args, q.domain)
	}
	if q.contains != "" {
		conds = append(conds, `instr(i.domain, ?) > 0`)
		args = append(args, q.contains)
	}
	if q.excludeSuperseded {
		conds = append(conds, `NOT EXISTS (SELECT 1 FROM supersessions s WHERE s.predecessor = i.id)`)
	}
	var b strings.Builder
	b.WriteString(`SELECT i.id, i.ts, i.domain, i.content, i.layer, i.intensity, i.confidence, i.vantage, i.session_id, i.receipts, i.extra, i.principal FROM `)
	b.WriteString(from)
	if len(conds) > 0 {
		b.WriteString(` WHERE ` + strings.Join(conds, ` AND `))
	}
	b.WriteString(` ORDER BY ` + order + ` LIMIT ? OFFSET ?`)
	args = append(args, q.limit, q.offset)
	return b.String(), args
}

// query builds the recallQuery from the arguments.
func (e *Engine) recallQueryOf(ctx context.Context, a recallArgs) (recallQuery, error) {
	q := recallQuery{order: a.Order, limit: a.Limit, offset: a.Offset, excludeSuperseded: a.ExcludeSuperseded, contains: strings.ToLower(a.DomainContains)}
	if q.order == "" {
		q.order = "newest"
	}
	if q.limit == 0 {
		q.limit = 10
	}
	if strings.TrimSpace(a.Query) != "" {
		terms := queryTerms(a.Query)
		if len(terms) == 0 {
			return q, FieldError("/query", "the query has no words to search for")
		}
		q.match = ftsMatch(terms)
	}
	if q.order == "relevance" && q.match == "" {
		return q, FieldError("/order", "order relevance ranks by the query: give a query, or order newest or oldest")
	}
	if a.Domain != "" {
		d, err := normalizeDomain("/domain", a.Domain)
		if err != nil {
			return q, err
		}
		if strings.Contains(d, ",") {
			q.domain = d
		} else {
			q.tag = d
		}
	}
	when, err := dateRange(a.StartDate, a.EndDate)
	if err != nil {
		return q, err
	}
	q.when = when
	if a.SinceLastReflection {
		var last sql.NullString
		if err := e.db.QueryRowContext(ctx, `SELECT max(ts) FROM insight_tags WHERE tag = 'reflection'`).Scan(&last); err != nil {
			return q, internal("cannot read the chronicle", err)
		}
		if last.Valid {
			t, err := time.Parse(tsLayout, last.String)
			if err != nil {
				return q, internal("a stored timestamp is malformed", err)
			}
			if from := formatTS(t.Add(time.Microsecond)); from > q.when.from {
				q.when.from = from
				if q.when.fromKey, err = insightRowKey(from); err != nil {
					return q, err
				}
			}
		}
	}
	return q, nil
}

func (e *Engine) recallInsights(ctx context.Context, c *Call) (*Result, error) {
	var a recallArgs
	if err := c.Decode(&a); err != nil {
		return nil, err
	}
	q, err := e.recallQueryOf(ctx, a)
	if err != nil {
		return nil, err
	}
	// One more than the page tells whether there is a next page.
	page := q
	page.limit++
	stmt, args := page.sql()
	c.progress(0, 2, "searching the chronicle")
	entries, err := e.queryInsights(ctx, stmt, args...)
	if err != nil {
		return nil, err
	}
	hasMore := len(entries) > q.limit
	if hasMore {
		entries = entries[:q.limit]
	}
	c.progress(1, 2, "reading the supersession ledger")
	if err := e.annotateSuperseded(ctx, entries); err != nil {
		return nil, err
	}
	c.progress(2, 2, "done")
	return &Result{Text: recallText(entries, q, hasMore, a.WithIDs), Data: map[string]any{
		"insights": entries, "count": len(entries), "offset": q.offset, "has_more": hasMore, "order": q.order,
	}}, nil
}

// queryInsights runs a statement selecting the insight columns.
func (e *Engine) queryInsights(ctx context.Context, stmt string, args ...any) ([]recallEntry, error) {
	rows, err := e.db.QueryContext(ctx, stmt, args...)
	if err != nil {
		return nil, internal("cannot search the chronicle", err)
	}
	defer rows.Close()
	entries := []recallEntry{}
	for rows.Next() {
		if err := ctx.Err(); err != nil {
			return nil, AsError(err)
		}
		rec, err := scanInsight(rows)
		if err != nil {
			return nil, internal("cannot read the chronicle", err)
		}
		entries = append(entries, recallEntry{insightRecord: rec})
	}
	if err := rows.Err(); err != nil {
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return nil, AsError(err)
		}
		return nil, internal("cannot search the chronicle", err)
	}
	return entries, nil
}

// annotateSuperseded sets _superseded_by and _carry_forward_summary on the
// entries that have a successor.
func (e *Engine) annotateSuperseded(ctx context.Context, entries []recallEntry) error {
	if len(entries) == 0 {
		return nil
	}
	ph := make([]string, len(entries))
	args := make([]any, len(entries))
	index := map[string][]int{}
	for i, en := range entries {
		ph[i], args[i] = "?", en.ID
		index[en.ID] = append(index[en.ID], i)
	}
	rows, err := e.db.QueryContext(ctx, `SELECT predecessor, successor, summary FROM supersessions WHERE predecessor IN (`+strings.Join(ph, ",")+`)`, args...)
	if err != nil {
		return internal("cannot read the supersession ledger", err)
	}
	defer rows.Close()
	for rows.Next() {
		var p, s, sum string
		if err := rows.Scan(&p, &s, &sum); err != nil {
			return internal("cannot read the supersession ledger", err)
		}
		for _, i := range index[p] {
			entries[i].SupersededBy, entries[i].CarryForward = s, sum
		}
	}
	if err := rows.Err(); err != nil {
		return internal("cannot read the supersession ledger", err)
	}
	return nil
}

// insightTextLimit bounds an insight's content in result text (the data has it
// whole).
const insightTextLimit = 400

func clipChronicle(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}

// insightLine is one insight in result text.
func insightLine(b *strings.Builder, en recallEntry, withIDs bool) {
	b.WriteString("- ")
	if withIDs {
		b.WriteString(shortID(en.ID) + " ")
	}
	fmt.Fprintf(b, "[%s] %s (%s, %.2g): %s", en.Timestamp[:16], en.Domain, en.Layer, en.Intensity, clipChronicle(en.Content, insightTextLimit))
	if en.SupersededBy != "" {
		fmt.Fprintf(b, " — superseded by %s: %s", shortID(en.SupersededBy), clipChronicle(en.CarryForward, 160))
	}
	b.WriteString("\n")
}

func recallText(entries []recallEntry, q recallQuery, hasMore, withIDs bool) string {
	var b strings.Builder
	if len(entries) == 0 {
		if q.offset > 0 {
			fmt.Fprintf(&b, "No insights match beyond the first %d.", q.offset)
		} else {
			b.WriteString("No insights match.")
		}
		return b.String()
	}
	fmt.Fprintf(&b, "%d insights (%s", len(entries), q.order)
	if q.offset > 0 {
		fmt.Fprintf(&b, ", from %d", q.offset+1)
	}
	b.WriteString("):\n")
	for _, en := range entries {
		insightLine(&b, en, withIDs)
	}
	if hasMore {
		fmt.Fprintf(&b, "More: call again with offset %d.\n", q.offset+len(entries))
	}
	return b.String()
}

// inheritableData is get_inheritable_context's data.
type inheritableData struct {
	GroundTruth          []recallEntry `json:"ground_truth"`
	Hypotheses           []recallEntry `json:"hypotheses"`
	OpenThreads          []recallEntry `json:"open_threads"`
	SupersededHeldBack   int           `json:"superseded_held_back"`
	InheritanceTimestamp string        `json:"inheritance_timestamp"`
}

func (e *Engine) inheritableContext(ctx context.Context, c *Call) (*Result, error) {
	out := inheritableData{InheritanceTimestamp: e.ts()}
	for _, l := range []struct {
		layer string
		dst   *[]recallEntry
	}{{LayerGroundTruth, &out.GroundTruth}, {LayerHypothesis, &out.Hypotheses}, {LayerOpenThread, &out.OpenThreads}} {
		entries, err := e.queryInsights(ctx, `SELECT `+insightColumns+` FROM insights i WHERE layer = ?
			AND NOT EXISTS (SELECT 1 FROM supersessions s WHERE s.predecessor = i.id)
			ORDER BY ts DESC, rowid DESC LIMIT ?`, l.layer, inheritPerLayer)
		if err != nil {
			return nil, err
		}
		*l.dst = entries
	}
	if err := e.db.QueryRowContext(ctx, `SELECT count(*) FROM supersessions`).Scan(&out.SupersededHeldBack); err != nil {
		return nil, internal("cannot read the supersession ledger", err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Inheritable context at %s: %d ground truths, %d hypotheses, %d open threads", out.InheritanceTimestamp,
		len(out.GroundTruth), len(out.Hypotheses), len(out.OpenThreads))
	if out.SupersededHeldBack > 0 {
		fmt.Fprintf(&b, " (%d superseded insights held back)", out.SupersededHeldBack)
	}
	b.WriteString(".\n")
	for _, sec := range []struct {
		title   string
		entries []recallEntry
	}{{"Ground truth", out.GroundTruth}, {"Hypotheses (not established)", out.Hypotheses}, {"Open threads", out.OpenThreads}} {
		if len(sec.entries) == 0 {
			continue
		}
		fmt.Fprintf(&b, "\n%s:\n", sec.title)
		for _, en := range sec.entries {
			insightLine(&b, en, true)
		}
	}
	return &Result{Text: b.String(), Data: out}, nil
}
