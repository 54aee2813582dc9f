package main

import (
	"context"
	"flag"
	"fmt"
	"net"
)

func runServe(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	cfg, err := loadConfig(fs, args, DefaultConfig())
	if err != nil {
		return err
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	log := newLogger(cfg.LogLevel)
	a, closeApp, err := openApp(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer closeApp()
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Listen, err)
	}
	log.Info("stablegate serving", "addr", ln.Addr().String(), "version", version, "chains", len(a.registry.Chains()))
	return a.serve(ctx, ln)
}
