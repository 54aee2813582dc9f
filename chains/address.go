package chains

import (
	"strings"

	"github.com/ethereum/go-ethereum/common"
	"github.com/mr-tron/base58"

	"github.com/stablegate/stablegate"
)

// ValidateAddress checks an address a merchant gives for receiving payments
// (or an operator gives as a token contract) and returns the form to store,
// so that two spellings of one address never become two wallets.
//
// EVM: "0x" and 40 hex digits. A single-case address carries no checksum and
// is returned EIP-55 checksummed; a mixed-case one must be a correct EIP-55
// checksum, because a wrong one means a typo that would send funds to an
// address nobody controls (reason "address_checksum_invalid").
//
// Solana: base58 of exactly 32 bytes, returned as given. Whether the key is
// a wallet or a token account cannot be told offline; Solana Pay needs a
// wallet, so callers should say so next to the input.
//
// On both kinds the all-zero address is refused: it is a burn address, and
// on Solana the System Program, so no merchant can ever spend what it
// receives. Input is not trimmed; surrounding spaces are an error.
//
// Errors are EINVALID with param "address" and reason "address_invalid"
// unless stated otherwise.
func ValidateAddress(kind Kind, addr string) (string, error) {
	switch kind {
	case KindEVM:
		return validateEVMAddress(addr)
	case KindSolana:
		return validateSolanaAddress(addr)
	default:
		return "", stablegate.Errorf(stablegate.EINVALID, "address_invalid", "address", "unknown chain kind %q", kind)
	}
}

func validateEVMAddress(addr string) (string, error) {
	// common.IsHexAddress also accepts a missing or upper-case "0X" prefix;
	// wallets never show those, so they are more likely a paste accident.
	if len(addr) != 2+2*common.AddressLength || !strings.HasPrefix(addr, "0x") || !common.IsHexAddress(addr) {
		return "", stablegate.Errorf(stablegate.EINVALID, "address_invalid", "address",
			"address must be 0x followed by 40 hexadecimal digits")
	}
	a := common.HexToAddress(addr)
	if a == (common.Address{}) {
		return "", stablegate.Errorf(stablegate.EINVALID, "address_invalid", "address",
			"the zero address cannot receive payments")
	}
	checksummed := a.Hex()
	digits := addr[2:]
	if digits != strings.ToLower(digits) && digits != strings.ToUpper(digits) && addr != checksummed {
		return "", stablegate.Errorf(stablegate.EINVALID, "address_checksum_invalid", "address",
			"address has an invalid EIP-55 checksum; check it for typos or enter it in lower case")
	}
	return checksummed, nil
}

// Base58 lengths of a 32-byte key: all zero bytes encode as 32 '1's, and
// 2^256-1 needs 44 characters. Checking first keeps the quadratic decoder
// away from arbitrarily long input.
const (
	minSolanaAddressLen = 32
	maxSolanaAddressLen = 44
)

func validateSolanaAddress(addr string) (string, error) {
	if len(addr) < minSolanaAddressLen || len(addr) > maxSolanaAddressLen {
		return "", stablegate.Errorf(stablegate.EINVALID, "address_invalid", "address",
			"address must be a base58 public key of 32 to 44 characters")
	}
	b, err := base58.Decode(addr)
	if err != nil {
		return "", stablegate.Errorf(stablegate.EINVALID, "address_invalid", "address",
			"address is not valid base58")
	}
	if len(b) != 32 {
		return "", stablegate.Errorf(stablegate.EINVALID, "address_invalid", "address",
			"address decodes to %d bytes, not the 32 of a public key", len(b))
	}
	// Base58 of a fixed-length key is unique; a string that decodes but does
	// not re-encode to itself is not one any wallet would print.
	if base58.Encode(b) != addr {
		return "", stablegate.Errorf(stablegate.EINVALID, "address_invalid", "address",
			"address is not a canonical base58 public key")
	}
	if allZero(b) {
		return "", stablegate.Errorf(stablegate.EINVALID, "address_invalid", "address",
			"the System Program address cannot receive payments")
	}
	return addr, nil
}

func allZero(b []byte) bool {
	for _, x := range b {
		if x != 0 {
			return false
		}
	}
	return true
}
