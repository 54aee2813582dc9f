package web

import (
	"crypto/sha512"
	"encoding/base64"
)

// Integrity returns the Subresource Integrity value of a file's bytes:
// "sha384-" and the base64 of their SHA-384, as a <script integrity>
// attribute takes it.
func Integrity(body []byte) string {
	sum := sha512.Sum384(body)
	return "sha384-" + base64.StdEncoding.EncodeToString(sum[:])
}
