package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	sg "github.com/stablegate/stablegate"
)

// decode reads the JSON request body into v strictly: one object, no
// unknown fields, no trailing data, types as declared. Each failure names
// the offending parameter.
func decode(c echo.Context, v any) error {
	req := c.Request()
	if ct := req.Header.Get(echo.HeaderContentType); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || mt != echo.MIMEApplicationJSON {
			return withStatus(http.StatusUnsupportedMediaType, sg.EINVALID, "content_type_unsupported", "",
				"send the body as application/json")
		}
	}
	body, err := io.ReadAll(req.Body)
	if err != nil {
		return bodyReadError(err)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		body = []byte("{}")
	}
	return decodeBytes(body, v)
}

// bodyReadError reports a body that could not be read: too large, or cut off.
func bodyReadError(err error) error {
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return withStatus(http.StatusRequestEntityTooLarge, sg.EINVALID, "body_too_large", "",
			fmt.Sprintf("request body must be at most %d bytes", tooBig.Limit))
	}
	return sg.Errorf(sg.EINVALID, "body_unreadable", "", "could not read the request body")
}

func decodeBytes(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if err := dec.Decode(&struct{}{}); err != io.EOF {
		return sg.Errorf(sg.EINVALID, "body_invalid_json", "", "request body must hold exactly one JSON object")
	}
	return nil
}

func jsonError(err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return sg.Errorf(sg.EINVALID, "body_invalid_json", "", "request body is not valid JSON")
	case errors.As(err, &typ):
		if typ.Field == "" {
			return sg.Errorf(sg.EINVALID, "body_invalid_json", "", "request body must be a JSON object")
		}
		return sg.Errorf(sg.EINVALID, "parameter_invalid_type", typ.Field, "%s must be %s", typ.Field, jsonKind(typ.Type.Kind().String()))
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return sg.Errorf(sg.EINVALID, "parameter_unknown", name, "unknown parameter %q", name)
	}
	if e := sg.ErrorOf(err); e != nil {
		return e
	}
	return sg.Errorf(sg.EINVALID, "body_invalid_json", "", "request body is not valid JSON")
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "a string"
	case "int", "int64", "int32":
		return "an integer"
	case "uint8", "uint64":
		return "a non-negative integer"
	case "bool":
		return "a boolean"
	case "map", "struct":
		return "an object"
	case "slice":
		return "an array"
	case "ptr":
		return "a value of the documented type"
	}
	return "a " + goKind
}

// Query parameter parsing.

func queryLimit(c echo.Context) (int, error) {
	s := c.QueryParam("limit")
	if s == "" {
		return 10, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > 100 {
		return 0, sg.Errorf(sg.EINVALID, "limit_invalid", "limit", "limit must be an integer from 1 to 100")
	}
	return n, nil
}

// queryTime parses a unix-seconds query parameter; zero time when absent.
func queryTime(c echo.Context, name string) (time.Time, error) {
	s := c.QueryParam(name)
	if s == "" {
		return time.Time{}, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 || n > 1<<40 {
		return time.Time{}, sg.Errorf(sg.EINVALID, "timestamp_invalid", name, "%s must be a unix timestamp in seconds", name)
	}
	return time.Unix(n, 0), nil
}

// createdRange reads created[gte], created[gt], created[lte] and created[lt]
// into a half-open range [gte, lt).
func createdRange(c echo.Context) (gte, lt time.Time, err error) {
	for _, p := range []struct {
		name string
		adj  time.Duration
		dst  *time.Time
	}{
		{"created[gte]", 0, &gte},
		{"created[gt]", time.Second, &gte},
		{"created[lte]", time.Second, &lt},
		{"created[lt]", 0, &lt},
	} {
		t, err := queryTime(c, p.name)
		if err != nil {
			return gte, lt, err
		}
		if !t.IsZero() {
			*p.dst = t.Add(p.adj)
		}
	}
	return gte, lt, nil
}

// page holds a list request's paging and created-range parameters.
type page struct {
	limit         int
	gte, lt       time.Time
	after, before string
}

// pageParams reads limit, created[...], starting_after and ending_before.
func pageParams(c echo.Context) (page, error) {
	var pg page
	var err error
	if pg.limit, err = queryLimit(c); err != nil {
		return pg, err
	}
	if pg.gte, pg.lt, err = createdRange(c); err != nil {
		return pg, err
	}
	pg.after, pg.before = c.QueryParam("starting_after"), c.QueryParam("ending_before")
	if pg.after != "" && pg.before != "" {
		return pg, sg.Errorf(sg.EINVALID, "cursor_conflict", "ending_before", "starting_after and ending_before cannot be combined")
	}
	return pg, nil
}

// list is the JSON list envelope.
type list[T any] struct {
	Object  string `json:"object"`
	URL     string `json:"url"`
	HasMore bool   `json:"has_more"`
	Data    []T    `json:"data"`
}

func newList[T any](url string, data []T, hasMore bool) list[T] {
	if data == nil {
		data = []T{}
	}
	return list[T]{Object: "list", URL: url, HasMore: hasMore, Data: data}
}

// jsonSerializer writes responses without HTML escaping, so a payment URI
// reads "&uint256=" rather than "\u0026uint256=". Requests are decoded with
// decode, never through echo's Bind.
type jsonSerializer struct{}

func (jsonSerializer) Serialize(c echo.Context, i any, indent string) error {
	enc := json.NewEncoder(c.Response())
	enc.SetEscapeHTML(false)
	if indent != "" {
		enc.SetIndent("", indent)
	}
	return enc.Encode(i)
}

func (jsonSerializer) Deserialize(c echo.Context, i any) error {
	return decode(c, i)
}
