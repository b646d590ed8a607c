package memory_test

import (
	"testing"

	"restkit"
	"restkit/memory"
	"restkit/storetest"
)

func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) restkit.Store { return memory.New() })
}
