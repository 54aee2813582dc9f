package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	sg "github.com/stablegate/stablegate"
)

// withApp connects to the configured Redis and runs fn with the wired app,
// for the CLI commands that manage merchants and keys.
func withApp(ctx context.Context, fs *flag.FlagSet, args []string, fn func(a *app) error) error {
	cfg, err := loadConfig(fs, args, DefaultConfig())
	if err != nil {
		return err
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	a, closeApp, err := openApp(ctx, cfg, newLogger("error"))
	if err != nil {
		return err
	}
	defer closeApp()
	return fn(a)
}

func runMerchant(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("usage: stablegate merchant create --name NAME [--live] | list")
	}
	switch args[0] {
	case "create":
		fs := flag.NewFlagSet("merchant create", flag.ContinueOnError)
		name := fs.String("name", "", "merchant name (required)")
		live := fs.Bool("live", false, "create a live key (sk_live_) instead of a test key")
		return withApp(ctx, fs, args[1:], func(a *app) error {
			m, err := a.merchants.Create(ctx, *name)
			if err != nil {
				return err
			}
			_, secret, err := a.merchants.CreateKey(ctx, m.ID, sg.KeySecret, *live)
			if err != nil {
				return err
			}
			fmt.Fprintf(os.Stdout, "merchant %s (%s)\nsecret key %s\nThe key is shown once; store it now.\n", m.ID, m.Name, secret)
			return nil
		})
	case "list":
		fs := flag.NewFlagSet("merchant list", flag.ContinueOnError)
		return withApp(ctx, fs, args[1:], func(a *app) error {
			after := ""
			for {
				ms, err := a.merchants.List(ctx, after, 100)
				if err != nil {
					return err
				}
				for _, m := range ms {
					fmt.Fprintf(os.Stdout, "%s\t%s\n", m.ID, m.Name)
				}
				if len(ms) < 100 {
					return nil
				}
				after = ms[len(ms)-1].ID
			}
		})
	}
	return fmt.Errorf("unknown merchant command %q", args[0])
}

func runKey(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("usage: stablegate key create --merchant ID [--live] [--publishable] | revoke --key ID")
	}
	switch args[0] {
	case "create":
		fs := flag.NewFlagSet("key create", flag.ContinueOnError)
		merchantID := fs.String("merchant", "", "merchant id (required)")
		live := fs.Bool("live", false, "live key")
		publishable := fs.Bool("publishable", false, "publishable key (pk_) for the checkout widget")
		return withApp(ctx, fs, args[1:], func(a *app) error {
			kind := sg.KeySecret
			if *publishable {
				kind = sg.KeyPublishable
			}
			k, secret, err := a.merchants.CreateKey(ctx, *merchantID, kind, *live)
			if err != nil {
				return err
			}
			fmt.Fprintf(os.Stdout, "key %s\nsecret %s\nThe key is shown once; store it now.\n", k.ID, secret)
			return nil
		})
	case "revoke":
		fs := flag.NewFlagSet("key revoke", flag.ContinueOnError)
		keyID := fs.String("key", "", "key id (required)")
		return withApp(ctx, fs, args[1:], func(a *app) error {
			k, err := a.merchants.RevokeKey(ctx, "", *keyID)
			if err != nil {
				return err
			}
			fmt.Fprintf(os.Stdout, "revoked %s of merchant %s\n", k.ID, k.MerchantID)
			return nil
		})
	}
	return fmt.Errorf("unknown key command %q", args[0])
}
