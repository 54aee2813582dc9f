// Command merchant is a tiny example shop that sells one item with the
// Stablegate checkout widget and marks orders paid from the gateway's
// signed webhooks. See README.md for running it against `stablegate dev`.
package main

import (
	"flag"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/stablegate/stablegate/examples/merchant/shop"
)

func main() {
	listen := flag.String("listen", envOr("SHOP_LISTEN", "localhost:3000"), "address to serve the shop on")
	gateway := flag.String("gateway", envOr("STABLEGATE_URL", "http://127.0.0.1:8080"), "the gateway's public URL")
	link := flag.String("link", os.Getenv("STABLEGATE_PAYMENT_LINK"), "payment link id (plink_...) the button sells")
	key := flag.String("key", os.Getenv("STABLEGATE_PUBLISHABLE_KEY"), "publishable key (pk_test_...)")
	secret := flag.String("webhook-secret", os.Getenv("STABLEGATE_WEBHOOK_SECRET"), "webhook endpoint secret (whsec_...)")
	flag.Parse()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	s, err := shop.New(shop.Config{GatewayURL: *gateway, PaymentLink: *link, PublishableKey: *key, WebhookSecret: *secret, Log: log})
	if err != nil {
		log.Error("shop", "err", err)
		os.Exit(2)
	}
	log.Info("shop listening", "url", "http://"+*listen, "gateway", *gateway)
	srv := &http.Server{Addr: *listen, Handler: s, ReadHeaderTimeout: 5 * time.Second}
	if err := srv.ListenAndServe(); err != nil {
		log.Error("serve", "err", err)
		os.Exit(1)
	}
}

// envOr returns the environment variable name, or def when it is unset.
func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
