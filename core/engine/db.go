package engine

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"time"

	_ "modernc.org/sqlite" // the pure-Go SQLite driver "sqlite"
)

// DBFile is the engine's database, in the engine directory of the data root.
const DBFile = "sovereign.db"

// migration is one step of the schema, applied once, in order, in a
// transaction. Versions are never renumbered or edited once released: a
// change is a new migration.
type migration struct {
	version int
	name    string
	sql     string
}

// openDB opens (creating) the database at path, in WAL mode with a busy
// timeout (several proxy processes may share one data root), foreign keys
// on, and applies the migrations it has not seen. A database written by a
// newer Sovereign (a migration version this build does not know) is refused.
func openDB(ctx context.Context, path string, migrations []migration) (*sql.DB, error) {
	q := url.Values{}
	for _, p := range []string{"busy_timeout(10000)", "journal_mode(WAL)", "synchronous(FULL)", "foreign_keys(1)", "trusted_schema(0)"} {
		q.Add("_pragma", p)
	}
	q.Set("_txlock", "immediate")
	dsn := "file:" + filepath.ToSlash(path) + "?" + q.Encode()
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open engine database %s: %w", path, err)
	}
	db.SetMaxOpenConns(4)
	db.SetConnMaxIdleTime(5 * time.Minute)
	if err := db.PingContext(ctx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("open engine database %s: %w", path, err)
	}
	if err := migrate(ctx, db, migrations); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("engine database %s: %w", path, err)
	}
	return db, nil
}

// errNewerSchema: the database was written by a newer build.
var errNewerSchema = errors.New("the database schema is newer than this build of sovereign")

func migrate(ctx context.Context, db *sql.DB, migrations []migration) error {
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)`); err != nil {
		return fmt.Errorf("schema_migrations: %w", err)
	}
	applied := map[int]bool{}
	rows, err := db.QueryContext(ctx, `SELECT version FROM schema_migrations`)
	if err != nil {
		return fmt.Errorf("schema_migrations: %w", err)
	}
	newest := 0
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			_ = rows.Close()
			return fmt.Errorf("schema_migrations: %w", err)
		}
		applied[v] = true
		newest = max(newest, v)
	}
	if err := rows.Close(); err != nil {
		return fmt.Errorf("schema_migrations: %w", err)
	}
	last := 0
	if len(migrations) > 0 {
		last = migrations[len(migrations)-1].version
	}
	if newest > last {
		return fmt.Errorf("%w (version %d, this build knows %d)", errNewerSchema, newest, last)
	}
	// Every migration not applied yet, in order: a database may lack an
	// earlier version than its newest (one added while it was in use).
	for _, m := range migrations {
		if applied[m.version] {
			continue
		}
		if err := applyMigration(ctx, db, m); err != nil {
			return err
		}
	}
	return nil
}

func applyMigration(ctx context.Context, db *sql.DB, m migration) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("migration %d (%s): %w", m.version, m.name, err)
	}
	defer func() { _ = tx.Rollback() }()
	// Another process may have applied it while this one waited.
	var done int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE version = ?`, m.version).Scan(&done); err != nil {
		return fmt.Errorf("migration %d (%s): %w", m.version, m.name, err)
	}
	if done > 0 {
		return nil
	}
	if _, err := tx.ExecContext(ctx, m.sql); err != nil {
		return fmt.Errorf("migration %d (%s): %w", m.version, m.name, err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations(version, name, applied_at) VALUES (?, ?, ?)`,
		m.version, m.name, time.Now().UTC().Format(time.RFC3339Nano)); err != nil {
		return fmt.Errorf("migration %d (%s): %w", m.version, m.name, err)
	}
	return tx.Commit()
}

// inTx runs fn in a write transaction (BEGIN IMMEDIATE: the write lock is
// taken up front, so two sessions never deadlock upgrading read locks).
func inTx(ctx context.Context, db *sql.DB, fn func(tx *sql.Tx) error) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return internal("cannot start a database transaction", err)
	}
	defer func() { _ = tx.Rollback() }()
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return internal("cannot commit to the database", err)
	}
	return nil
}

// eachRow runs query (with args) on q and calls scan for each row, stopping
// at scan's first error or when ctx ends; what names the records in errors.
func eachRow(ctx context.Context, q queryer, what, query string, scan func(rowScanner) error, args ...any) error {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return internal("cannot read "+what, err)
	}
	defer rows.Close()
	for rows.Next() {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := scan(rows); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return internal("cannot read "+what, err)
	}
	return nil
}

// eachScanned is eachRow with a typed scan: fn gets each record.
func eachScanned[T any](ctx context.Context, q queryer, what, query string, scan func(rowScanner) (T, error), fn func(T) error, args ...any) error {
	return eachRow(ctx, q, what, query, func(r rowScanner) error {
		rec, err := scan(r)
		if err != nil {
			return internal("cannot read "+what, err)
		}
		return fn(rec)
	}, args...)
}

// collectRows returns the records query selects (an empty slice, not nil,
// when there are none).
func collectRows[T any](ctx context.Context, q queryer, what, query string, scan func(rowScanner) (T, error), args ...any) ([]T, error) {
	out := []T{}
	err := eachScanned(ctx, q, what, query, scan, func(rec T) error {
		out = append(out, rec)
		return nil
	}, args...)
	if err != nil {
		return nil, err
	}
	return out, nil
}
