package dust

import (
	"os"
	"testing"

	"github.com/gdmsetup/gdmsetup/targets"
)

// TestMain makes dust known to the core for the tests that build tables.
func TestMain(m *testing.M) {
	targets.Register(Type)
	os.Exit(m.Run())
}
