package chains

import (
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/mr-tron/base58"
)

// TestBuiltinContractsStoredCanonical reads the raw table, before
// NewRegistry normalizes it, so that a contract typed in lower case (which
// would pass validation silently) or with a broken checksum is caught in
// the source, where a reviewer compares it with the issuer's page.
func TestBuiltinContractsStoredCanonical(t *testing.T) {
	for _, c := range builtinChains() {
		for _, tok := range c.Tokens {
			t.Run(c.ID+"/"+tok.Symbol, func(t *testing.T) {
				switch c.Kind {
				case KindEVM:
					if !common.IsHexAddress(tok.Contract) {
						t.Fatalf("%s is not a hex address", tok.Contract)
					}
					if want := common.HexToAddress(tok.Contract).Hex(); tok.Contract != want {
						t.Fatalf("%s is not EIP-55 checksummed; want %s", tok.Contract, want)
					}
				case KindSolana:
					b, err := base58.Decode(tok.Contract)
					if err != nil || len(b) != 32 {
						t.Fatalf("mint %s decodes to %d bytes, %v; want 32", tok.Contract, len(b), err)
					}
				default:
					t.Fatalf("unexpected kind %q", c.Kind)
				}
			})
		}
	}
}
