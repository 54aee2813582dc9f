package main

import (
	"errors"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/stablegate/stablegate/chains"
)

// Config is everything the gateway reads at start-up: defaults, then the
// config file, then environment variables, then flags. Packages never read
// the environment themselves.
type Config struct {
	// Listen is the HTTP listen address. Default ":8080" (serve),
	// "127.0.0.1:8080" (dev). Env STABLEGATE_LISTEN.
	Listen string `yaml:"listen"`
	// RedisURL is the Redis server, e.g. redis://localhost:6379/0; for
	// Sentinel or Cluster use redis_addrs. Required by serve. Env REDIS_URL.
	RedisURL string `yaml:"redis_url"`
	// RedisAddrs lists Redis Cluster or Sentinel addresses; when set it
	// replaces RedisURL's address. Default none.
	RedisAddrs []string `yaml:"redis_addrs"`
	// RedisMasterName selects Sentinel mode with RedisAddrs. Default "".
	RedisMasterName string `yaml:"redis_master_name"`
	// RedisPrefix prefixes every key. Default "sg". Env STABLEGATE_REDIS_PREFIX.
	RedisPrefix string `yaml:"redis_prefix"`
	// OperatorToken guards the admin API; empty disables it. Default "".
	// Env STABLEGATE_OPERATOR_TOKEN.
	OperatorToken string `yaml:"operator_token"`
	// RateLimit is requests per second per API key; 0 disables. Default 100.
	// Env STABLEGATE_RATE_LIMIT.
	RateLimit int `yaml:"rate_limit"`
	// SweepInterval is how often expired checkouts are swept. Default 1s.
	SweepInterval time.Duration `yaml:"sweep_interval"`
	// LogLevel is debug, info, warn or error. Default info.
	// Env STABLEGATE_LOG_LEVEL.
	LogLevel string `yaml:"log_level"`
	// PublicURL is the gateway's public base URL, in payment links' URLs
	// and QR codes and in the links dev mode prints. Default: each
	// request's scheme and Host (http://<listen> in dev mode's printout).
	// Env STABLEGATE_PUBLIC_URL.
	PublicURL string `yaml:"public_url"`
	// Watch lists the chains (EVM and Solana) to watch for payments.
	// Default (absent): every chain in the registry; an empty list watches
	// none (an API-only replica).
	Watch []string `yaml:"watch"`
	// WatchLeaseTTL is how long a replica holds a chain's watcher lease
	// without renewing it: the longest a dead replica's chains go unwatched
	// before another takes over. Default 15s.
	WatchLeaseTTL time.Duration `yaml:"watch_lease_ttl"`
	// Chains overrides built-in chains and adds custom ones. Default none.
	Chains chains.Config `yaml:"chains"`
	// TrustedProxies lists the networks ("10.0.0.0/8") of reverse proxies in
	// front of the gateway whose X-Forwarded-For header names the client,
	// for the public pages' rate limits. Default none: the peer's address
	// counts.
	TrustedProxies []string `yaml:"trusted_proxies"`
	// Webhooks tunes webhook delivery.
	Webhooks WebhooksConfig `yaml:"webhooks"`
}

// WebhooksConfig tunes webhook endpoints and their delivery.
type WebhooksConfig struct {
	// Workers is how many deliveries one replica attempts at once; 0 makes
	// an API-only replica that delivers nothing. Default 64.
	Workers int `yaml:"workers"`
	// PerEndpoint is how many attempts one endpoint may have in flight
	// across all replicas. Default 16.
	PerEndpoint int `yaml:"per_endpoint"`
	// Timeout bounds one attempt. Default 15s.
	Timeout time.Duration `yaml:"timeout"`
	// Allow lists networks ("10.0.0.0/8"), addresses and host names that
	// endpoints may use although they are private or loopback; they may
	// also use http in live mode. Default none (dev mode allows loopback).
	Allow []string `yaml:"allow"`
	// RotationOverlap is how long a rotated-out secret keeps signing beside
	// the new one unless the request says otherwise. Default 24h.
	RotationOverlap time.Duration `yaml:"rotation_overlap"`
	// MaxEndpoints is the most endpoints a merchant has per mode. Default 16.
	MaxEndpoints int `yaml:"max_endpoints"`
}

// DefaultConfig returns the defaults documented on Config.
func DefaultConfig() Config {
	return Config{
		Listen:        ":8080",
		RedisPrefix:   "sg",
		RateLimit:     100,
		SweepInterval: time.Second,
		WatchLeaseTTL: 15 * time.Second,
		LogLevel:      "info",
		Webhooks: WebhooksConfig{
			Workers: 64, PerEndpoint: 16, Timeout: 15 * time.Second, RotationOverlap: 24 * time.Hour, MaxEndpoints: 16,
		},
	}
}

// Validate checks the configuration for serve.
func (c Config) Validate() error {
	if c.RedisURL == "" && len(c.RedisAddrs) == 0 {
		return errors.New("REDIS_URL (or redis_url in the config file) is required")
	}
	if c.RateLimit < 0 {
		return errors.New("rate_limit must not be negative")
	}
	if c.SweepInterval < 100*time.Millisecond {
		return errors.New("sweep_interval must be at least 100ms")
	}
	if c.WatchLeaseTTL < time.Second {
		return errors.New("watch_lease_ttl must be at least 1s")
	}
	if w := c.Webhooks; w.Workers < 0 || w.PerEndpoint < 1 || w.Timeout < time.Second || w.MaxEndpoints < 1 {
		return errors.New("webhooks: workers must not be negative, per_endpoint and max_endpoints at least 1, timeout at least 1s")
	}
	if o := c.Webhooks.RotationOverlap; o < time.Second || o > 7*24*time.Hour {
		return errors.New("webhooks: rotation_overlap must be between 1s and 168h (a rotation may still ask for none)")
	}
	for _, p := range c.TrustedProxies {
		if _, err := netip.ParsePrefix(p); err != nil {
			return fmt.Errorf("trusted_proxies: %q is not a network like 10.0.0.0/8", p)
		}
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		return fmt.Errorf("log_level %q must be debug, info, warn or error", c.LogLevel)
	}
	return nil
}

// loadConfig builds the configuration for a command from its flag set:
// defaults, -config file, environment, then the flags themselves.
func loadConfig(fs *flag.FlagSet, args []string, defaults Config) (Config, error) {
	cfg := defaults
	configFile := fs.String("config", os.Getenv("STABLEGATE_CONFIG"), "YAML config file (env STABLEGATE_CONFIG)")
	listen := fs.String("listen", "", "HTTP listen address (env STABLEGATE_LISTEN)")
	redisURL := fs.String("redis-url", "", "Redis URL (env REDIS_URL)")
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if *configFile != "" {
		b, err := os.ReadFile(*configFile)
		if err != nil {
			return cfg, fmt.Errorf("read config: %w", err)
		}
		dec := yaml.NewDecoder(bytesReader(b))
		dec.KnownFields(true)
		if err := dec.Decode(&cfg); err != nil {
			return cfg, fmt.Errorf("parse config %s: %w", *configFile, err)
		}
	}
	envString(&cfg.Listen, "STABLEGATE_LISTEN")
	envString(&cfg.RedisURL, "REDIS_URL")
	envString(&cfg.RedisPrefix, "STABLEGATE_REDIS_PREFIX")
	envString(&cfg.OperatorToken, "STABLEGATE_OPERATOR_TOKEN")
	envString(&cfg.LogLevel, "STABLEGATE_LOG_LEVEL")
	envString(&cfg.PublicURL, "STABLEGATE_PUBLIC_URL")
	if v := os.Getenv("STABLEGATE_RATE_LIMIT"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return cfg, fmt.Errorf("STABLEGATE_RATE_LIMIT: %w", err)
		}
		cfg.RateLimit = n
	}
	if *listen != "" {
		cfg.Listen = *listen
	}
	if *redisURL != "" {
		cfg.RedisURL = *redisURL
	}
	return cfg, nil
}

func envString(dst *string, name string) {
	if v := os.Getenv(name); v != "" {
		*dst = v
	}
}
