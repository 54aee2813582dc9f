package stablegate

import (
	"bytes"
	"encoding/json"
	"math/big"
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

// amountJSON is the wire form of an amount: a decimal string for people next
// to the exact base units for programs. Both are empty for no amount.
type amountJSON struct {
	Amount          string `json:"amount,omitempty"`
	AmountBaseUnits string `json:"amount_base_units,omitempty"`
}

func newAmountJSON(v *big.Int, decimals uint8) amountJSON {
	if v == nil {
		return amountJSON{}
	}
	return amountJSON{Amount: FormatUnits(v, decimals), AmountBaseUnits: v.String()}
}

// value returns the base units, or nil when there is no amount.
func (a amountJSON) value() (*big.Int, error) {
	if a.AmountBaseUnits == "" {
		return nil, nil
	}
	v, ok := new(big.Int).SetString(a.AmountBaseUnits, 10)
	if !ok {
		return nil, Errorf(EINTERNAL, "", "", "stored amount %q is not an integer", a.AmountBaseUnits)
	}
	return v, nil
}
