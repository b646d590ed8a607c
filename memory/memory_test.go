package memory_test

import (
	"testing"

	"github.com/restkit/restkit"
	"github.com/restkit/restkit/memory"
	"github.com/restkit/restkit/storetest"
)

func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) restkit.Store { return memory.New() })
}
