package stablegate

import (
	"bytes"
	"encoding/json"
)

// EncodeJSON encodes v like json.Marshal but without HTML escaping, so a
// payment URI stays "...&uint256=..." in stored records, event data and API
// responses alike, rather than "\u0026uint256=".
func EncodeJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}
