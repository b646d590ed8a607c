//go:build windows

package artefact

import "golang.org/x/sys/windows"

// freeBytes is what the caller may still store on the volume of dir
// (GetDiskFreeSpaceExW: the bytes available to this user, quotas included).
func freeBytes(dir string) (int64, error) {
	p, err := windows.UTF16PtrFromString(dir)
	if err != nil {
		return 0, err
	}
	var avail, total, free uint64
	if err := windows.GetDiskFreeSpaceEx(p, &avail, &total, &free); err != nil {
		return 0, err
	}
	return int64(avail), nil
}
