package stablegate

import (
	"errors"
	"fmt"
)

// ErrorCode is the category of a domain error. The api package maps each code
// to one HTTP status in a single table.
type ErrorCode string

// Error codes. Adapters translate their own failures into these at the boundary.
const (
	EINVALID      ErrorCode = "invalid"
	ENOTFOUND     ErrorCode = "not_found"
	ECONFLICT     ErrorCode = "conflict"
	EUNAUTHORIZED ErrorCode = "unauthorized"
	EFORBIDDEN    ErrorCode = "forbidden"
	ERATELIMITED  ErrorCode = "rate_limited"
	EEXPIRED      ErrorCode = "expired"
	EINTERNAL     ErrorCode = "internal"
)

// Error is the domain error. Code decides the HTTP status; Reason is the precise
// machine-readable code a client branches on (for example
// "fingerprint_space_exhausted"); Param names the offending request field.
type Error struct {
	Code    ErrorCode
	Reason  string
	Param   string
	Message string
}

// Error implements the error interface.
func (e *Error) Error() string {
	if e.Param != "" {
		return fmt.Sprintf("%s (%s): %s", e.reason(), e.Param, e.Message)
	}
	return fmt.Sprintf("%s: %s", e.reason(), e.Message)
}

func (e *Error) reason() string {
	if e.Reason != "" {
		return e.Reason
	}
	return string(e.Code)
}

// ReasonOrCode returns Reason, or the category code when no reason was set.
func (e *Error) ReasonOrCode() string { return e.reason() }

// Errorf returns a domain error with a formatted message.
func Errorf(code ErrorCode, reason, param, format string, args ...any) *Error {
	return &Error{Code: code, Reason: reason, Param: param, Message: fmt.Sprintf(format, args...)}
}

// ErrorOf returns the domain error inside err, or nil.
func ErrorOf(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return nil
}

// ErrorCodeOf returns the code of the domain error inside err; EINTERNAL for any
// other non-nil error and "" for nil.
func ErrorCodeOf(err error) ErrorCode {
	if err == nil {
		return ""
	}
	if e := ErrorOf(err); e != nil {
		return e.Code
	}
	return EINTERNAL
}

// IsCode reports whether err carries the given code.
func IsCode(err error, code ErrorCode) bool { return ErrorCodeOf(err) == code }

// HasReason reports whether err is a domain error with the given reason.
func HasReason(err error, reason string) bool {
	e := ErrorOf(err)
	return e != nil && e.Reason == reason
}
