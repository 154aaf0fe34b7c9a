package ebs

import (
	"os"
	"testing"

	"github.com/gdmsetup/gdmsetup/targets"
	"github.com/gdmsetup/gdmsetup/targets/errortarget"
	"github.com/gdmsetup/gdmsetup/targets/linear"
)

// TestMain makes ebs and the targets its stacks use known to the core.
func TestMain(m *testing.M) {
	targets.Register(Type)
	targets.Register(linear.Type)
	targets.Register(errortarget.Type)
	os.Exit(m.Run())
}
