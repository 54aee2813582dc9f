package stablegate_test

import (
	"testing"

	sg "github.com/stablegate/stablegate"
)

// TestEncodeEvent: the hand-written envelope is byte for byte what
// EncodeJSON writes, for plain and for odd strings alike.
func TestEncodeEvent(t *testing.T) {
	t.Parallel()
	data := []byte(`{"id":"co_1","object":"checkout","uri":"ethereum:0xA@1/transfer?address=0xB&uint256=5"}`)
	tests := []struct {
		name string
		e    sg.Event
		data []byte
	}{
		{"checkout event", sg.Event{ID: "evt_06h04ztg06ktfnhdjzdj2txv9r", Object: "event", Type: sg.EventCheckoutPaid, Created: 1795000000, Livemode: true}, data},
		{"test mode", sg.Event{ID: "evt_1", Object: "event", Type: sg.EventPaymentUnmatched, Created: 0}, []byte(`{}`)},
		{"no data", sg.Event{ID: "evt_2", Object: "event", Type: "x.y"}, nil},
		{"strings that need escaping", sg.Event{ID: "evt_\"q\"\\", Object: "ev<e>nt&", Type: "t\u00e9\n\x01", Created: -5}, []byte(`[1,2]`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := tt.e
			e.Data = tt.data
			want, err := sg.EncodeJSON(&e)
			if err != nil {
				t.Fatal(err)
			}
			if got := sg.EncodeEvent(&tt.e, tt.data); string(got) != string(want) {
				t.Fatalf("EncodeEvent:\n got %s\nwant %s", got, want)
			}
		})
	}
}
