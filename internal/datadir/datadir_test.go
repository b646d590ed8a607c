package datadir

import (
	"bufio"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// A helper process: with DATADIR_HOLD set, the test binary locks that directory,
// says "locked" on stdout and holds the lock until stdin closes.
func TestMain(m *testing.M) {
	if dir := os.Getenv("DATADIR_HOLD"); dir != "" {
		d, err := Open(dir)
		if err != nil {
			os.Stdout.WriteString("error: " + err.Error() + "\n")
			os.Exit(2)
		}
		if os.Getenv("DATADIR_HUP") != "" {
			_ = d.MarkReloadable()
		}
		os.Stdout.WriteString("locked\n")
		_, _ = bufio.NewReader(os.Stdin).ReadString('\n')
		d.Close()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// hold starts a process that holds dir's lock, and returns its pid and a function
// that ends it.
func hold(t *testing.T, dir string, env ...string) (int, func()) {
	t.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(append(os.Environ(), "DATADIR_HOLD="+dir), env...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || line != "locked\n" {
		t.Fatalf("helper: %q %v", line, err)
	}
	stop := func() {
		stdin.Close()
		_ = cmd.Wait()
	}
	t.Cleanup(stop)
	return cmd.Process.Pid, stop
}

func TestSecondProcessIsRefusedWithThePID(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	pid, stop := hold(t, dir)
	if err := os.WriteFile(filepath.Join(dir, "restkit.db"), []byte("keep"), 0o600); err != nil {
		t.Fatal(err)
	}
	lockBefore, _ := os.ReadFile(filepath.Join(dir, LockName))

	_, err := Open(dir)
	var inUse *InUseError
	if !errors.As(err, &inUse) || inUse.PID != pid {
		t.Fatalf("Open of a held directory: %v, want InUseError with pid %d", err, pid)
	}
	if want := "in use by pid " + strconv.Itoa(pid); !strings.Contains(err.Error(), want) {
		t.Errorf("message %q does not say %q", err, want)
	}
	lockAfter, _ := os.ReadFile(filepath.Join(dir, LockName))
	if string(lockAfter) != string(lockBefore) {
		t.Errorf("the refused Open changed the lock file: %q → %q", lockBefore, lockAfter)
	}
	if got, err := Holder(dir); err != nil || got != pid {
		t.Errorf("Holder = %d, %v; want %d", got, err, pid)
	}

	stop() // the kernel releases the lock when the holder ends
	d, err := Open(dir)
	if err != nil {
		t.Fatalf("Open after the holder ended: %v", err)
	}
	defer d.Close()
	if got, _ := Holder(dir); got != os.Getpid() {
		t.Errorf("Holder after taking the lock = %d, want this process %d", got, os.Getpid())
	}
}

func TestOpenMakesAPrivateDirectoryAndReleases(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "data")
	d, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o700 {
		t.Errorf("data directory mode %o, want 700", perm)
	}
	fi, _ = os.Stat(filepath.Join(dir, LockName))
	if perm := fi.Mode().Perm(); perm != 0o600 {
		t.Errorf("lock file mode %o, want 600", perm)
	}
	b, _ := os.ReadFile(filepath.Join(dir, LockName))
	if strings.TrimSpace(string(b)) != strconv.Itoa(os.Getpid()) || len(b) != pidWidth {
		t.Errorf("lock file holds %q, want this pid padded to %d bytes", b, pidWidth)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if got, err := Holder(dir); err != nil || got != 0 {
		t.Errorf("Holder of a released directory = %d, %v; want 0", got, err)
	}
	d2, err := Open(dir) // the same process may take it again once released
	if err != nil {
		t.Fatal(err)
	}
	d2.Close()
}

func TestHolderOfADirectoryNeverLocked(t *testing.T) {
	if got, err := Holder(t.TempDir()); err != nil || got != 0 {
		t.Errorf("Holder = %d, %v; want 0, nil", got, err)
	}
}

// TestReloadableHolder: restkit reload signals only a holder that marked itself as
// reloading on SIGHUP; to any other the signal would be fatal.
func TestReloadableHolder(t *testing.T) {
	plain, marked := filepath.Join(t.TempDir(), "a"), filepath.Join(t.TempDir(), "b")
	pid1, _ := hold(t, plain)
	pid2, _ := hold(t, marked, "DATADIR_HUP=1")
	if pid, ok, err := ReloadableHolder(plain); err != nil || pid != pid1 || ok {
		t.Errorf("unmarked holder: %d %v %v", pid, ok, err)
	}
	if pid, ok, err := ReloadableHolder(marked); err != nil || pid != pid2 || !ok {
		t.Errorf("marked holder: %d %v %v", pid, ok, err)
	}
	if pid, err := Holder(marked); err != nil || pid != pid2 {
		t.Errorf("Holder of a marked directory: %d %v", pid, err)
	}
	if pid, ok, err := ReloadableHolder(t.TempDir()); err != nil || pid != 0 || ok {
		t.Errorf("a free directory: %d %v %v", pid, ok, err)
	}
}
