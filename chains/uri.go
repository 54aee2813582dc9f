package chains

import (
	"fmt"
	"math/big"
	"net/url"
	"strings"

	"github.com/stablegate/stablegate"
)

// URIOptions are the Solana Pay fields of a payment URI. EIP-681 has no
// equivalent, so PaymentURI ignores them on EVM chains.
type URIOptions struct {
	// Reference is a base58 public key, fresh per checkout, that the wallet
	// attaches to the transfer so the watcher can find it with
	// getSignaturesForAddress even when the amount is off.
	Reference string
	// Label names the merchant in the wallet's confirmation screen.
	Label string
	// Message describes the purchase, e.g. "Order #1234".
	Message string
}

// PaymentURI returns the URI a QR code or "pay with wallet" button carries,
// so a wallet pre-fills chain, token, recipient and exact amount instead of
// the customer typing a fingerprinted amount by hand.
//
// On EVM chains it is an EIP-681 token transfer, the amount a plain integer
// of base units because not every wallet parses the exponent form the EIP
// allows:
//
//	ethereum:<token>@<chain id>/transfer?address=<to>&uint256=<base units>
//
// On Solana it is a Solana Pay transfer request, the amount the shortest
// decimal in user units ("50.00012", "50", "0.5") and label and message
// percent-encoded:
//
//	solana:<to>?amount=<amount>&spl-token=<mint>[&reference=<key>][&label=<label>][&message=<message>]
//
// to is validated and normalized like ValidateAddress; t must be one of c's
// tokens; amount must be positive and fit the chain's integer (uint256 on
// EVM, u64 on Solana). Errors are EINVALID: "address_*" with param
// "address", "token_unknown" with param "token", "amount_invalid" with param
// "amount", "reference_invalid" with param "reference".
func PaymentURI(c *Chain, t *Token, to string, amount *big.Int, opts URIOptions) (string, error) {
	if c == nil || t == nil {
		return "", stablegate.Errorf(stablegate.EINVALID, "token_unknown", "token", "chain and token are required")
	}
	// Comparing contracts, not symbols, keeps a token of another chain (or
	// a look-alike) out of the URI.
	if own, ok := c.Token(t.Symbol); !ok || own.Contract != t.Contract || own.Decimals != t.Decimals {
		return "", stablegate.Errorf(stablegate.EINVALID, "token_unknown", "token",
			"token %s %s is not configured on chain %q", t.Symbol, t.Contract, c.ID)
	}
	to, err := c.ValidateAddress(to)
	if err != nil {
		return "", err
	}
	if amount == nil || amount.Sign() <= 0 {
		return "", stablegate.Errorf(stablegate.EINVALID, "amount_invalid", "amount", "amount must be greater than zero")
	}
	switch c.Kind {
	case KindEVM:
		if amount.BitLen() > 256 {
			return "", stablegate.Errorf(stablegate.EINVALID, "amount_invalid", "amount", "amount does not fit in uint256")
		}
		return fmt.Sprintf("ethereum:%s@%d/transfer?address=%s&uint256=%s", t.Contract, c.ChainID, to, amount.String()), nil
	case KindSolana:
		if !amount.IsUint64() {
			return "", stablegate.Errorf(stablegate.EINVALID, "amount_invalid", "amount", "amount does not fit in an SPL token amount (u64)")
		}
		var b strings.Builder
		b.WriteString("solana:" + to)
		b.WriteString("?amount=" + solanaPayAmount(amount, t.Decimals))
		b.WriteString("&spl-token=" + t.Contract)
		if opts.Reference != "" {
			if _, err := validateSolanaAddress(opts.Reference); err != nil {
				return "", stablegate.Errorf(stablegate.EINVALID, "reference_invalid", "reference",
					"reference must be a base58 public key")
			}
			b.WriteString("&reference=" + opts.Reference)
		}
		if opts.Label != "" {
			b.WriteString("&label=" + escapeComponent(opts.Label))
		}
		if opts.Message != "" {
			b.WriteString("&message=" + escapeComponent(opts.Message))
		}
		return b.String(), nil
	default:
		return "", stablegate.Errorf(stablegate.EINVALID, "chain_unknown", "chain", "chain kind %q has no payment URI", c.Kind)
	}
}

// solanaPayAmount formats base units as the shortest decimal Solana Pay
// accepts: no trailing zeros, no trailing dot, a leading "0." below one.
func solanaPayAmount(v *big.Int, decimals uint8) string {
	s := stablegate.FormatUnits(v, decimals)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s
}

// escapeComponent percent-encodes every reserved character, a space as %20
// rather than the "+" of url.QueryEscape: wallets that decode with
// JavaScript's decodeURIComponent would show that "+" to the customer.
func escapeComponent(s string) string {
	return strings.ReplaceAll(url.QueryEscape(s), "+", "%20")
}
