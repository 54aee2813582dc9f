package api

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	sg "github.com/stablegate/stablegate"
)

// statusOf maps each domain error code to its HTTP status: the one table.
var statusOf = map[sg.ErrorCode]int{
	sg.EINVALID:      http.StatusBadRequest,
	sg.EUNAUTHORIZED: http.StatusUnauthorized,
	sg.EFORBIDDEN:    http.StatusForbidden,
	sg.ENOTFOUND:     http.StatusNotFound,
	sg.ECONFLICT:     http.StatusConflict,
	sg.ERATELIMITED:  http.StatusTooManyRequests,
	sg.EEXPIRED:      http.StatusGone,
	sg.EINTERNAL:     http.StatusInternalServerError,
}

// typeOf maps each code to the error body's type, as Stripe names them.
var typeOf = map[sg.ErrorCode]string{
	sg.EINVALID:      "invalid_request_error",
	sg.EUNAUTHORIZED: "authentication_error",
	sg.EFORBIDDEN:    "permission_error",
	sg.ENOTFOUND:     "invalid_request_error",
	sg.ECONFLICT:     "invalid_request_error",
	sg.ERATELIMITED:  "rate_limit_error",
	sg.EEXPIRED:      "invalid_request_error",
	sg.EINTERNAL:     "api_error",
}

// statusError is a domain error that needs an HTTP status outside the table
// (413, 415, 422 and the like).
type statusError struct {
	status int
	err    *sg.Error
}

func (e *statusError) Error() string { return e.err.Error() }

func withStatus(status int, code sg.ErrorCode, reason, param, msg string) error {
	return &statusError{status: status, err: &sg.Error{Code: code, Reason: reason, Param: param, Message: msg}}
}

// errorBody is the JSON error object.
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Type      string `json:"type"`
	Code      string `json:"code"`
	Message   string `json:"message"`
	Param     string `json:"param,omitempty"`
	RequestID string `json:"request_id,omitempty"`
}

// handleError renders every error as the JSON error body. Internal details
// are logged with the request id and never returned.
func (s *Server) handleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	status, e := s.classify(err)
	if status >= 500 {
		s.log.Error("request failed", "request_id", requestID(c), "method", c.Request().Method,
			"path", c.Path(), "err", err)
		e = &sg.Error{Code: sg.EINTERNAL, Reason: "internal_error", Message: "an internal error occurred; it has been logged"}
	}
	body := errorBody{Error: errorDetail{
		Type:      typeOf[e.Code],
		Code:      e.ReasonOrCode(),
		Message:   e.Message,
		Param:     e.Param,
		RequestID: requestID(c),
	}}
	if body.Error.Type == "" {
		body.Error.Type = "invalid_request_error"
	}
	if c.Request().Method == http.MethodHead {
		_ = c.NoContent(status)
		return
	}
	_ = c.JSON(status, body)
}

func (s *Server) classify(err error) (int, *sg.Error) {
	var se *statusError
	if errors.As(err, &se) {
		return se.status, se.err
	}
	if e := sg.ErrorOf(err); e != nil {
		if st, ok := statusOf[e.Code]; ok {
			return st, e
		}
		return http.StatusInternalServerError, e
	}
	var he *echo.HTTPError
	if errors.As(err, &he) {
		switch he.Code {
		case http.StatusNotFound:
			return he.Code, &sg.Error{Code: sg.ENOTFOUND, Reason: "route_not_found", Message: "no such route"}
		case http.StatusMethodNotAllowed:
			return he.Code, &sg.Error{Code: sg.EINVALID, Reason: "method_not_allowed", Message: "method not allowed on this route"}
		case http.StatusRequestEntityTooLarge:
			return he.Code, &sg.Error{Code: sg.EINVALID, Reason: "body_too_large", Message: "request body is too large"}
		}
		if he.Code < 500 {
			msg, _ := he.Message.(string)
			return he.Code, &sg.Error{Code: sg.EINVALID, Reason: "invalid_request", Message: msg}
		}
	}
	return http.StatusInternalServerError, &sg.Error{Code: sg.EINTERNAL}
}

// marshal encodes v; the api never fails to encode its own types.
func marshal(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic("api: encode response: " + err.Error())
	}
	return b
}
