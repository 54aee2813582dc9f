// Command stablegate runs the Stablegate payment gateway.
//
//	stablegate dev                     everything in one process, no setup
//	stablegate serve                   production server (needs REDIS_URL)
//	stablegate merchant create --name  create a merchant and print its key once
//	stablegate merchant list
//	stablegate key create --merchant   create another API key
//	stablegate key revoke --merchant --key
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

const usage = `usage: stablegate <command> [flags]

commands:
  dev        run the gateway with an embedded store and a local EVM devnet (try-it-out mode)
  serve      run the gateway in production (needs REDIS_URL)
  merchant   create | list merchants
  key        create | revoke API keys
  devnet     init: deploy test USDT/USDC to a local node and write a config file
  version    print the version

Run "stablegate <command> -h" for the flags of a command.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "stablegate:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	if len(args) == 0 {
		fmt.Fprint(os.Stderr, usage)
		return fmt.Errorf("no command given")
	}
	switch args[0] {
	case "dev":
		return runDev(ctx, args[1:])
	case "serve":
		return runServe(ctx, args[1:])
	case "merchant":
		return runMerchant(ctx, args[1:])
	case "key":
		return runKey(ctx, args[1:])
	case "devnet":
		return runDevnet(ctx, args[1:])
	case "version":
		fmt.Println(version)
		return nil
	case "-h", "--help", "help":
		fmt.Print(usage)
		return nil
	}
	fmt.Fprint(os.Stderr, usage)
	return fmt.Errorf("unknown command %q", args[0])
}
