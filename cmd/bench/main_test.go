package main

import (
	"os"
	"testing"
)

// TestMain lets the test binary be a storm's load process too, as the bench
// program is (storm_load.go starts its own executable).
func TestMain(m *testing.M) {
	if os.Getenv(loadEnv) != "" {
		loadMain()
	}
	os.Exit(m.Run())
}
