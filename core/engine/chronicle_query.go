package engine

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode"
)

// Full-text queries. User text is never FTS5 syntax: it is split into
// words (letters and digits, as the unicode61 tokenizer splits them), each
// word is quoted as a string, and the words are OR-ed, so that `"a" OR
// content:*` or `NEAR(` are searched for as words.
const (
	maxQueryTerms = 32
	maxTermRunes  = 64
	// prefixFrom: words at least this long also match as prefixes
	// ("durab" finds "durable"), as the original's substring match did.
	prefixFrom = 3
)

// queryTerms returns the distinct lowercase words of s, at most
// maxQueryTerms. Words of one character are dropped unless there is
// nothing else.
func queryTerms(s string) []string {
	words := strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsNumber(r) && !unicode.Is(unicode.Mn, r)
	})
	seen := map[string]bool{}
	var long, all []string
	for _, w := range words {
		if r := []rune(w); len(r) > maxTermRunes {
			w = string(r[:maxTermRunes])
		}
		if seen[w] {
			continue
		}
		seen[w] = true
		all = append(all, w)
		if len([]rune(w)) > 1 {
			long = append(long, w)
		}
	}
	if len(long) > 0 {
		all = long
	}
	if len(all) > maxQueryTerms {
		all = all[:maxQueryTerms]
	}
	return all
}

// ftsMatch is the FTS5 expression for terms: each a quoted string (a
// prefix query when long enough), OR-ed. Terms hold letters and digits
// only, so the quotes cannot be broken out of.
func ftsMatch(terms []string) string {
	parts := make([]string, len(terms))
	for i, t := range terms {
		q := `"` + strings.ReplaceAll(t, `"`, `""`) + `"`
		if len([]rune(t)) >= prefixFrom {
			q += "*"
		}
		parts[i] = q
	}
	return strings.Join(parts, " OR ")
}

// timeRange is a half-open range of stored timestamps: from <= ts < to
// (an empty bound is open), with the matching rowid bounds (rowSlots).
type timeRange struct {
	from, to       string
	fromKey, toKey int64
}

// dateRange reads start_date and end_date. A date-only end includes its
// whole day; a timestamp end includes that instant.
func dateRange(start, end string) (timeRange, error) {
	var r timeRange
	var st, et time.Time
	if start != "" {
		t, _, err := parseTimestamp(start)
		if err != nil {
			return r, FieldError("/start_date", "%v", err)
		}
		st, r.from, r.fromKey = t, formatTS(t), t.UnixMicro()*rowSlots
	}
	if end != "" {
		t, dateOnly, err := parseTimestamp(end)
		if err != nil {
			return r, FieldError("/end_date", "%v", err)
		}
		if dateOnly {
			t = t.AddDate(0, 0, 1)
		} else {
			t = t.Add(time.Microsecond)
		}
		et, r.to, r.toKey = t, formatTS(t), t.UnixMicro()*rowSlots
	}
	if start != "" && end != "" && !et.After(st) {
		return r, FieldError("/end_date", "end_date %q is before start_date %q", end, start)
	}
	return r, nil
}

// hexTable names a table whose text key is a 64-hex id, for prefix
// resolution. Only the constants below are used (they go into SQL text).
type hexTable struct{ table, column, noun string }

var (
	insightIDs = hexTable{"insights", "id", "insight"}
	archiveIDs = hexTable{"archive_blobs", "archive_id", "archive"}
)

// resolveHexRef resolves an id or a unique prefix of at least 8 hex digits
// in t. pointer names the argument in a validation error. No match is
// CategoryNotFound; several are CategoryConflict with their count.
func resolveHexRef(ctx context.Context, q queryer, t hexTable, pointer, ref string) (string, error) {
	ref = strings.ToLower(strings.TrimSpace(ref))
	if len(ref) < 8 || len(ref) > 64 || strings.Trim(ref, "0123456789abcdef") != "" {
		return "", FieldError(pointer, "%q is not an id or a prefix of at least 8 hex digits", ref)
	}
	// Every id starting with ref sorts in [ref, ref+"g"): hex digits are
	// all below 'g'.
	rows, err := q.QueryContext(ctx, `SELECT `+t.column+` FROM `+t.table+` WHERE `+t.column+` >= ? AND `+t.column+` < ? ORDER BY `+t.column+` LIMIT 2`, ref, ref+"g")
	if err != nil {
		return "", internal("cannot resolve "+t.noun+" id", err)
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return "", internal("cannot resolve "+t.noun+" id", err)
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return "", internal("cannot resolve "+t.noun+" id", err)
	}
	switch len(ids) {
	case 0:
		return "", &Error{Category: CategoryNotFound, Field: pointer, Msg: fmt.Sprintf("no %s id starts with %s", t.noun, ref)}
	case 1:
		return ids[0], nil
	}
	var n int
	if err := q.QueryRowContext(ctx, `SELECT count(*) FROM (SELECT 1 FROM `+t.table+` WHERE `+t.column+` >= ? AND `+t.column+` < ? LIMIT 1000)`,
		ref, ref+"g").Scan(&n); err != nil {
		return "", internal("cannot resolve "+t.noun+" id", err)
	}
	return "", &Error{Category: CategoryConflict, Field: pointer,
		Msg: fmt.Sprintf("prefix %s is ambiguous: it matches %d %ss; give more digits", ref, n, t.noun)}
}
