package engine

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"regexp"
	"strings"
	"time"
)

// Layers of the chronicle.
const (
	LayerGroundTruth = "ground_truth"
	LayerHypothesis  = "hypothesis"
	LayerOpenThread  = "open_thread"
)

// dedupWindow: the same content, domain and layer recorded again by the
// same session within this window is not stored twice.
const dedupWindow = 120 * time.Second

// domainPattern is the shape of a domain (after normalising): lowercase
// tags separated by commas. Domains are never used as paths, but a sentence
// passed as a domain is a mistake worth refusing.
var domainPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}(,[a-z0-9][a-z0-9._-]{0,63}){0,15}$`)

// normalizeDomain lowercases a domain and trims the spaces around its
// comma-separated tags; pointer names the argument in the error.
func normalizeDomain(pointer, d string) (string, error) {
	parts := strings.Split(d, ",")
	for i, p := range parts {
		parts[i] = strings.ToLower(strings.TrimSpace(p))
	}
	n := strings.Join(parts, ",")
	if !domainPattern.MatchString(n) {
		return "", FieldError(pointer, "domain %q is not up to 16 comma-separated tags of a-z, 0-9, '.', '_', '-' (each at most 64 characters)", d)
	}
	return n, nil
}

// claimID is the identity of an insight: sha256(ts ‖ 0x1f ‖ domain ‖ 0x1f ‖
// content), hex. Changing any of the three makes another claim.
func claimID(ts, domain, content string) string {
	h := sha256.New()
	h.Write([]byte(ts))
	h.Write([]byte{0x1f})
	h.Write([]byte(domain))
	h.Write([]byte{0x1f})
	h.Write([]byte(content))
	return hex.EncodeToString(h.Sum(nil))
}

// insightInput is an insight to record (validated fields).
type insightInput struct {
	Domain     string
	Content    string
	Layer      string
	Intensity  float64
	Confidence *float64 // hypotheses only
	Vantage    string
	// Receipts are the stamped receipts (JSON array), "[]" when none.
	Receipts json.RawMessage
	// Extra holds the other fields of the record (emotion, thread refs,
	// close_session markers), a JSON object.
	Extra map[string]any
}

// insightRecord is a stored insight.
type insightRecord struct {
	ID         string          `json:"id"`
	Timestamp  string          `json:"timestamp"`
	Domain     string          `json:"domain"`
	Content    string          `json:"content"`
	Layer      string          `json:"layer"`
	Intensity  float64         `json:"intensity"`
	Confidence *float64        `json:"confidence,omitempty"`
	Vantage    string          `json:"vantage,omitempty"`
	SessionID  string          `json:"session_id"`
	Receipts   json.RawMessage `json:"receipts,omitempty"`
	Extra      map[string]any  `json:"extra,omitempty"`
	// Principal is who recorded it; stored and exported, never shown.
	Principal string `json:"-"`
	// Deduplicated: the same insight was recorded moments ago; this is that
	// one.
	Deduplicated bool `json:"deduplicated,omitempty"`
}

// insertInsight records an insight in tx, unless the same session recorded
// the same content, domain and layer within dedupWindow: then it returns
// that record with Deduplicated set.
func (e *Engine) insertInsight(ctx context.Context, tx *sql.Tx, c Caller, in insightInput) (insightRecord, error) {
	now := e.now()
	ts := formatTS(now)
	since := formatTS(now.Add(-dedupWindow))
	var prev insightRecord
	err := tx.QueryRowContext(ctx, `SELECT id, ts FROM insights
		WHERE domain = ? AND layer = ? AND session_id = ? AND content = ? AND ts >= ?
		ORDER BY ts DESC LIMIT 1`, in.Domain, in.Layer, c.Session, in.Content, since).Scan(&prev.ID, &prev.Timestamp)
	switch {
	case err == nil:
		rec, err := scanInsightByID(ctx, tx, prev.ID)
		rec.Deduplicated = true
		return rec, err
	case !errors.Is(err, sql.ErrNoRows):
		return insightRecord{}, internal("cannot read the chronicle", err)
	}
	rec := insightRecord{
		Timestamp: ts, Domain: in.Domain, Content: in.Content,
		Layer: in.Layer, Intensity: in.Intensity, Confidence: in.Confidence, Vantage: in.Vantage,
		SessionID: c.Session, Principal: c.Principal, Receipts: in.Receipts, Extra: in.Extra,
	}
	inserted, err := e.insertInsightRecord(ctx, tx, &rec)
	if err != nil {
		return insightRecord{}, err
	}
	if !inserted {
		// The same claim (same instant, domain and content) is stored
		// already, recorded by another session at the same microsecond.
		same, err := scanInsightByID(ctx, tx, rec.ID)
		same.Deduplicated = true
		return same, err
	}
	return rec, nil
}

// Insights are written only through insertInsightRecord (chronicle_port.go):
// it gives each its time-ordered rowid, which recall relies on.

// insightColumns are the columns scanInsight reads, in order.
const insightColumns = `id, ts, domain, content, layer, intensity, confidence, vantage, session_id, receipts, extra, principal`

// rowScanner is *sql.Row or *sql.Rows.
type rowScanner interface{ Scan(dest ...any) error }

// scanInsight reads one row of insightColumns.
func scanInsight(r rowScanner) (insightRecord, error) {
	var (
		rec      insightRecord
		conf     sql.NullFloat64
		receipts string
		extra    string
	)
	if err := r.Scan(&rec.ID, &rec.Timestamp, &rec.Domain, &rec.Content, &rec.Layer, &rec.Intensity, &conf,
		&rec.Vantage, &rec.SessionID, &receipts, &extra, &rec.Principal); err != nil {
		return insightRecord{}, err
	}
	if conf.Valid {
		v := conf.Float64
		rec.Confidence = &v
	}
	if receipts != "" && receipts != "[]" {
		rec.Receipts = json.RawMessage(receipts)
	}
	if extra != "" && extra != "{}" {
		if err := json.Unmarshal([]byte(extra), &rec.Extra); err != nil {
			return insightRecord{}, err
		}
	}
	return rec, nil
}

// queryer is *sql.DB or *sql.Tx.
type queryer interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func scanInsightByID(ctx context.Context, q queryer, id string) (insightRecord, error) {
	rec, err := scanInsight(q.QueryRowContext(ctx, `SELECT `+insightColumns+` FROM insights WHERE id = ?`, id))
	if err != nil {
		return insightRecord{}, internal("cannot read the chronicle", err)
	}
	return rec, nil
}

// insightsSchema is migration 1: the insights and their full-text index
// (content and domain, unicode61 tokens without diacritics; kept in step
// by triggers).
const insightsSchema = `
CREATE TABLE insights (
	id          TEXT PRIMARY KEY,           -- claim id, 64 hex
	ts          TEXT NOT NULL,              -- tsLayout, UTC
	domain      TEXT NOT NULL,
	content     TEXT NOT NULL,
	layer       TEXT NOT NULL CHECK (layer IN ('ground_truth', 'hypothesis', 'open_thread')),
	intensity   REAL NOT NULL,
	confidence  REAL,
	vantage     TEXT NOT NULL DEFAULT '',
	session_id  TEXT NOT NULL DEFAULT '',
	principal   TEXT NOT NULL DEFAULT '',
	receipts    TEXT NOT NULL DEFAULT '[]', -- JSON array of stamped receipts
	extra       TEXT NOT NULL DEFAULT '{}'  -- JSON object: the record's other fields
);
CREATE INDEX insights_ts ON insights(ts);
CREATE INDEX insights_domain_ts ON insights(domain, ts);
CREATE INDEX insights_layer_ts ON insights(layer, ts);
CREATE INDEX insights_dedup ON insights(session_id, domain, layer, ts);
CREATE VIRTUAL TABLE insights_fts USING fts5(
	content, domain, content='insights', content_rowid='rowid', tokenize='unicode61 remove_diacritics 2');
CREATE TRIGGER insights_ai AFTER INSERT ON insights BEGIN
	INSERT INTO insights_fts(rowid, content, domain) VALUES (new.rowid, new.content, new.domain);
END;
CREATE TRIGGER insights_ad AFTER DELETE ON insights BEGIN
	INSERT INTO insights_fts(insights_fts, rowid, content, domain) VALUES ('delete', old.rowid, old.content, old.domain);
END;
CREATE TRIGGER insights_au AFTER UPDATE OF content, domain ON insights BEGIN
	INSERT INTO insights_fts(insights_fts, rowid, content, domain) VALUES ('delete', old.rowid, old.content, old.domain);
	INSERT INTO insights_fts(rowid, content, domain) VALUES (new.rowid, new.content, new.domain);
END;
`
