//go:build unix

package artefact

import "syscall"

// freeBytes is what an unprivileged writer may still store in the file system of dir
// (statfs(2): the blocks available to it, not those reserved for root).
func freeBytes(dir string) (int64, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0, err
	}
	return int64(st.Bavail) * int64(st.Bsize), nil
}
