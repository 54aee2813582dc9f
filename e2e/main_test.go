package e2e_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// gatewayBin is the stablegate binary TestMain builds once for every test.
var gatewayBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "stablegate-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		os.Exit(1)
	}
	gatewayBin = filepath.Join(dir, "stablegate")
	args := []string{"build", "-o", gatewayBin}
	if raceEnabled {
		args = append(args, "-race")
	}
	args = append(args, "github.com/stablegate/stablegate/cmd/stablegate")
	build := exec.Command("go", args...)
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: build the stablegate binary:", err)
		_ = os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}
