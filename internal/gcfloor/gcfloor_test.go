package gcfloor

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"testing"
	"time"
)

func TestPercent(t *testing.T) {
	for _, c := range []struct {
		live, scan, floor uint64
		base, want        int
	}{
		{3 << 20, 3 << 20, 32 << 20, 100, 800}, // capped: the runtime's minimum heap, 4 MiB × 8, is the floor
		{3 << 20, 4 << 20, 32 << 20, 100, 725}, // stacks and globals count toward the target
		{16 << 20, 16 << 20, 32 << 20, 100, 100},
		{20 << 20, 20 << 20, 32 << 20, 100, 100}, // base's target, 40 MiB, is above the floor
		{64 << 20, 64 << 20, 32 << 20, 100, 100},
		{0, 1 << 20, 32 << 20, 100, 100}, // not measured yet
		{1 << 10, 1 << 20, 32 << 20, 100, 800},
		{1 << 20, 1 << 20, 32 << 20, 5000, 5000},
	} {
		if got := Percent(c.live, c.scan, c.floor, c.base); got != c.want {
			t.Errorf("Percent(%d, %d, %d, %d) = %d, want %d", c.live, c.scan, c.floor, c.base, got, c.want)
		}
	}
}

// TestTargetFollowsTheFloor: with a floor far above the live heap, the runtime's heap
// target after a collection reaches the floor; stop puts the percentage back.
func TestTargetFollowsTheFloor(t *testing.T) {
	before := debug.SetGCPercent(100)
	defer debug.SetGCPercent(before)
	const floor = 256 << 20
	stop := Start(floor)
	goal := []metrics.Sample{{Name: "/gc/heap/goal:bytes"}}
	deadline := time.Now().Add(time.Minute) // finalizers run on their own goroutine
	for {
		runtime.GC()
		metrics.Read(goal)
		if g := goal[0].Value.Uint64(); g >= floor*9/10 {
			if g > floor*3/2 {
				t.Fatalf("heap goal %d, far above the floor %d", g, floor)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("heap goal %d after a minute, want about %d", goal[0].Value.Uint64(), floor)
		}
		time.Sleep(10 * time.Millisecond)
	}
	stop()
	if p := debug.SetGCPercent(100); p != 100 {
		t.Fatalf("after stop: GOGC %d, want 100", p)
	}
}
