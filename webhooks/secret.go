package webhooks

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"strings"

	sg "github.com/stablegate/stablegate"
)

// SecretPrefix starts every endpoint secret, so that a secret pasted in the
// wrong place is recognisable.
const SecretPrefix = "whsec_"

// Secret lengths in bytes. The Standard Webhooks specification allows 24 to
// 64; NewSecret makes 32.
const (
	secretBytes    = 32
	minSecretBytes = 24
	maxSecretBytes = 64
)

// NewSecret returns a new endpoint secret: SecretPrefix followed by the
// standard base64 of 32 random bytes.
func NewSecret() (string, error) {
	b := make([]byte, secretBytes)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("new webhook secret: %w", err)
	}
	return SecretPrefix + base64.StdEncoding.EncodeToString(b), nil
}

// ParseSecret returns the key inside an endpoint secret. The prefix may be
// left off. Anything but the canonical standard base64 of 24 to 64 bytes is
// an invalid error with reason "secret_invalid".
func ParseSecret(s string) ([]byte, error) {
	enc := strings.TrimPrefix(s, SecretPrefix)
	key, err := base64.StdEncoding.DecodeString(enc)
	// The decoder skips line breaks and ignores stray low bits; re-encoding
	// catches both, so that one key has exactly one spelling.
	if err != nil || base64.StdEncoding.EncodeToString(key) != enc {
		return nil, sg.Errorf(sg.EINVALID, "secret_invalid", "", "webhook secret is not %s followed by standard base64", SecretPrefix)
	}
	if len(key) < minSecretBytes || len(key) > maxSecretBytes {
		return nil, sg.Errorf(sg.EINVALID, "secret_invalid", "", "webhook secret has %d bytes, want %d to %d", len(key), minSecretBytes, maxSecretBytes)
	}
	return key, nil
}
