package engine

import (
	"context"
	"errors"
	"fmt"
)

// Category says what kind of failure an Error is, so that a caller (and the
// model reading an isError result) can tell bad input from a missing record
// from a broken disk.
type Category string

// Categories of Error.
const (
	// CategoryValidation: the arguments break the tool's schema or rules.
	CategoryValidation Category = "validation"
	// CategoryNotFound: an id, prefix or fragment matched nothing.
	CategoryNotFound Category = "not_found"
	// CategoryConflict: the request contradicts stored state (an ambiguous
	// prefix, a second successor, a cycle, a receipt that does not match).
	CategoryConflict Category = "conflict"
	// CategoryPermission: the request reaches outside what the engine may
	// touch (outside the data root or the configured roots).
	CategoryPermission Category = "permission"
	// CategoryLimit: a bound was hit (size, count, time).
	CategoryLimit Category = "limit"
	// CategoryCancelled: the caller cancelled or the deadline passed.
	CategoryCancelled Category = "cancelled"
	// CategoryUnavailable: a dependency (the policy, the database) cannot
	// answer now.
	CategoryUnavailable Category = "unavailable"
	// CategoryInternal: a bug or an I/O failure.
	CategoryInternal Category = "internal"
)

// Error is a failed tool call. Field, when set, is the JSON pointer of the
// offending argument ("/domain").
type Error struct {
	Category Category
	Field    string
	Msg      string
	Err      error // the cause, if any (not shown to the model)
}

func (e *Error) Error() string {
	msg := e.Msg
	if e.Field != "" {
		msg = e.Field + ": " + msg
	}
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Category, msg, e.Err)
	}
	return string(e.Category) + ": " + msg
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error of category c.
func Errorf(c Category, format string, args ...any) *Error {
	return &Error{Category: c, Msg: fmt.Sprintf(format, args...)}
}

// FieldError returns a validation *Error naming the argument at pointer.
func FieldError(pointer, format string, args ...any) *Error {
	return &Error{Category: CategoryValidation, Field: pointer, Msg: fmt.Sprintf(format, args...)}
}

// internal wraps an unexpected failure (I/O, SQL) as CategoryInternal.
func internal(what string, err error) *Error {
	return &Error{Category: CategoryInternal, Msg: what, Err: err}
}

// AsError returns err as an *Error: itself, a cancellation, or an internal
// error wrapping it.
func AsError(err error) *Error {
	var e *Error
	switch {
	case err == nil:
		return nil
	case errors.As(err, &e):
		return e
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return &Error{Category: CategoryCancelled, Msg: "the call was cancelled or timed out", Err: err}
	}
	return internal("the engine failed", err)
}
