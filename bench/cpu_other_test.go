//go:build !unix

package bench_test

import "time"

// processCPU is unknown here: cpu-ns/op is not reported.
func processCPU() time.Duration { return 0 }
