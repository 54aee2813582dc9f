package chains_test

import (
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/mr-tron/base58"

	"github.com/stablegate/stablegate"
	"github.com/stablegate/stablegate/chains"
)

// wantError fails t unless err is an EINVALID domain error with the given
// reason and param.
func wantError(t *testing.T, err error, reason, param string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %s (%s)", reason, param)
	}
	e := stablegate.ErrorOf(err)
	if e == nil {
		t.Fatalf("got %T %v, want a *stablegate.Error", err, err)
	}
	if e.Code != stablegate.EINVALID || e.Reason != reason || e.Param != param {
		t.Fatalf("got %s/%s (%s): %s, want %s/%s (%s)", e.Code, e.Reason, e.Param, e.Message,
			stablegate.EINVALID, reason, param)
	}
}

func TestValidateAddress(t *testing.T) {
	const usdc = "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48"
	tests := []struct {
		name   string
		kind   chains.Kind
		in     string
		want   string
		reason string // empty when valid
	}{
		{name: "evm checksummed", kind: chains.KindEVM, in: usdc, want: usdc},
		{name: "evm lower case is checksummed", kind: chains.KindEVM, in: strings.ToLower(usdc), want: usdc},
		{name: "evm upper-case digits are checksummed", kind: chains.KindEVM, in: "0x" + strings.ToUpper(usdc[2:]), want: usdc},
		// EIP-55 test vectors, given in lower case.
		{name: "eip55 vector 1", kind: chains.KindEVM, in: "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed", want: "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"},
		{name: "eip55 vector 2", kind: chains.KindEVM, in: "0xfb6916095ca1df60bb79ce92ce3ea74c37c5d359", want: "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359"},
		{name: "eip55 all-caps vector", kind: chains.KindEVM, in: "0x52908400098527886E0F7030069857D2E4169EE7", want: "0x52908400098527886E0F7030069857D2E4169EE7"},
		{name: "evm wrong checksum", kind: chains.KindEVM, in: "0xa0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48", reason: "address_checksum_invalid"},
		{name: "evm one letter flipped", kind: chains.KindEVM, in: "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eb48", reason: "address_checksum_invalid"},
		{name: "evm 39 digits", kind: chains.KindEVM, in: usdc[:41], reason: "address_invalid"},
		{name: "evm 41 digits", kind: chains.KindEVM, in: usdc + "0", reason: "address_invalid"},
		{name: "evm non-hex digit", kind: chains.KindEVM, in: "0xg0b86991c6218b36c1d19d4a2e9eb0ce3606eb48", reason: "address_invalid"},
		{name: "evm without 0x", kind: chains.KindEVM, in: strings.ToLower(usdc[2:]), reason: "address_invalid"},
		{name: "evm with 0X", kind: chains.KindEVM, in: "0X" + strings.ToLower(usdc[2:]), reason: "address_invalid"},
		{name: "evm with surrounding space", kind: chains.KindEVM, in: " " + usdc, reason: "address_invalid"},
		{name: "evm empty", kind: chains.KindEVM, in: "", reason: "address_invalid"},
		{name: "evm zero address", kind: chains.KindEVM, in: "0x0000000000000000000000000000000000000000", reason: "address_invalid"},
		{name: "evm given a solana key", kind: chains.KindEVM, in: "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v", reason: "address_invalid"},

		{name: "solana mint", kind: chains.KindSolana, in: "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v", want: "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v"},
		{name: "solana wallet", kind: chains.KindSolana, in: "mvines9iiHiQTysrwkJjGf2gb9Ex9jXJX8ns3qwf2kN", want: "mvines9iiHiQTysrwkJjGf2gb9Ex9jXJX8ns3qwf2kN"},
		{name: "solana invalid letter 0", kind: chains.KindSolana, in: "0PjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v", reason: "address_invalid"},
		{name: "solana invalid letter l", kind: chains.KindSolana, in: "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1l", reason: "address_invalid"},
		{name: "solana 31 bytes", kind: chains.KindSolana, in: "3jbkqBrSfvheS6bNTtFTfTWL68qbyJ2bnAMG9zE4XvZ", reason: "address_invalid"},
		{name: "solana 33 bytes", kind: chains.KindSolana, in: base58.Encode(append([]byte{1}, make([]byte, 32)...)), reason: "address_invalid"},
		{name: "solana too short", kind: chains.KindSolana, in: "EPjFWdd5", reason: "address_invalid"},
		{name: "solana too long", kind: chains.KindSolana, in: strings.Repeat("z", 45), reason: "address_invalid"},
		{name: "solana empty", kind: chains.KindSolana, in: "", reason: "address_invalid"},
		{name: "solana system program", kind: chains.KindSolana, in: "11111111111111111111111111111111", reason: "address_invalid"},
		{name: "solana given an evm address", kind: chains.KindSolana, in: usdc, reason: "address_invalid"},

		{name: "unknown kind", kind: "tron", in: "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t", reason: "address_invalid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := chains.ValidateAddress(tt.kind, tt.in)
			if tt.reason != "" {
				wantError(t, err, tt.reason, "address")
				if got != "" {
					t.Fatalf("got %q with an error, want \"\"", got)
				}
				return
			}
			if err != nil {
				t.Fatalf("ValidateAddress(%q): %v", tt.in, err)
			}
			if got != tt.want {
				t.Fatalf("ValidateAddress(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestChainValidateAddress(t *testing.T) {
	r := chains.Builtin()
	base, _ := r.Chain("base")
	got, err := base.ValidateAddress("0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed")
	if err != nil || got != "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed" {
		t.Fatalf("base: got %q, %v", got, err)
	}
	sol, _ := r.Chain("solana")
	_, err = sol.ValidateAddress("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed")
	wantError(t, err, "address_invalid", "address")
}

// FuzzValidateAddress checks that arbitrary input never panics, that errors
// are always the documented domain error, and that a normalized address is
// a fixed point: validating it again returns it unchanged.
func FuzzValidateAddress(f *testing.F) {
	for _, s := range []string{
		"0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48",
		"0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48",
		"0xa0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48",
		"0x0000000000000000000000000000000000000000",
		"EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v",
		"11111111111111111111111111111111",
		"1111111111111111111111111111111111111111111",
		"3jbkqBrSfvheS6bNTtFTfTWL68qbyJ2bnAMG9zE4XvZ",
		"",
		"0x",
		"\x00\xff",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		for _, kind := range []chains.Kind{chains.KindEVM, chains.KindSolana} {
			got, err := chains.ValidateAddress(kind, in)
			if err != nil {
				e := stablegate.ErrorOf(err)
				if e == nil || e.Code != stablegate.EINVALID || e.Param != "address" {
					t.Fatalf("%s %q: unexpected error %#v", kind, in, err)
				}
				continue
			}
			again, err := chains.ValidateAddress(kind, got)
			if err != nil || again != got {
				t.Fatalf("%s %q: normalized %q revalidates to %q, %v", kind, in, got, again, err)
			}
			switch kind {
			case chains.KindEVM:
				if !strings.EqualFold(got, in) || got != common.HexToAddress(in).Hex() {
					t.Fatalf("evm %q: normalized to %q", in, got)
				}
			case chains.KindSolana:
				if b, err := base58.Decode(got); got != in || err != nil || len(b) != 32 {
					t.Fatalf("solana %q: returned %q (%d bytes, %v)", in, got, len(b), err)
				}
			}
		}
	})
}
