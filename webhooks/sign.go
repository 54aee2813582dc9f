package webhooks

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Header names of a Standard Webhooks delivery.
const (
	HeaderID        = "webhook-id"
	HeaderTimestamp = "webhook-timestamp"
	HeaderSignature = "webhook-signature"
)

// Sign returns the webhook-signature header value for one delivery, per the
// Standard Webhooks specification: for each secret, "v1," followed by the
// standard base64 of HMAC-SHA256 over msgID "." Unix seconds "." body, the
// signatures separated by spaces. Several secrets are signed with while an
// endpoint's secret is being rotated, so that receivers holding either one
// accept. No secrets gives "".
func Sign(secrets [][]byte, msgID string, ts time.Time, body []byte) string {
	prefix := msgID + "." + strconv.FormatInt(ts.Unix(), 10) + "."
	sigs := make([]string, len(secrets))
	for i, key := range secrets {
		mac := hmac.New(sha256.New, key)
		mac.Write([]byte(prefix))
		mac.Write(body)
		sigs[i] = "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
	}
	return strings.Join(sigs, " ")
}

// Headers returns the headers of one delivery of a JSON body: the three
// Standard Webhooks headers, with the signature from Sign, plus Content-Type
// and a User-Agent naming the gateway's version ("dev" when empty).
func Headers(secrets [][]byte, msgID string, ts time.Time, body []byte, version string) http.Header {
	if version == "" {
		version = "dev"
	}
	h := make(http.Header, 5)
	h.Set(HeaderID, msgID)
	h.Set(HeaderTimestamp, strconv.FormatInt(ts.Unix(), 10))
	h.Set(HeaderSignature, Sign(secrets, msgID, ts, body))
	h.Set("Content-Type", "application/json")
	h.Set("User-Agent", "Stablegate-Webhooks/"+version+" (+https://github.com/stablegate/stablegate)")
	return h
}
