//go:build !linux

package main

// monotonicUsec is not needed where there is no systemd.
func monotonicUsec() (uint64, bool) { return 0, false }
