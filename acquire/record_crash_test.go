package acquire

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// The crash test runs a recorder in a child process (this test binary
// re-executed with crashEnv set), kills it with SIGKILL at seeded random
// moments, and checks the file: every chunk fsynced before the kill (the
// child reports Synced offsets on a pipe) is recovered intact, the tail is
// reported as torn, and no damaged chunk is ever returned.
const (
	crashEnv     = "BCILOOP_RECORDER_CRASH_CHILD" // the recording's path
	crashSeedEnv = "BCILOOP_RECORDER_CRASH_SEED"
)

// recorderCrashChild appends the seeded test stream as fast as it can,
// fsyncing every 2 ms, and writes each new Synced offset as a line to fd 3.
// It stops by itself after 20 s or 256 MiB, should no one kill it.
func recorderCrashChild(path string, seed uint64) {
	report := os.NewFile(3, "synced")
	cfg := RecorderConfig{SyncInterval: 2 * time.Millisecond, BufferBytes: 64 << 10, MaxBufferBytes: 64 << 20}
	r, err := CreateRecording(path, []byte(`{"crash":true}`), cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(3)
	}
	g := &recTestGen{seed: seed}
	last := int64(-1)
	stop := time.Now().Add(20 * time.Second)
	for i := 0; ; i++ {
		c := g.next()
		switch c.t {
		case ChunkBlock:
			err = r.AppendBlock(&c.block)
		case ChunkCommand:
			err = r.AppendCommand(c.command)
		case ChunkStim:
			err = r.AppendStim(&c.stim)
		}
		if errors.Is(err, ErrRecorderBehind) {
			time.Sleep(time.Millisecond) // the disk is behind: the chunk is lost, which the parent would see
			fmt.Fprintln(os.Stderr, "behind at chunk", i)
			os.Exit(4)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(3)
		}
		if s := r.Synced(); s != last {
			fmt.Fprintf(report, "%d\n", s)
			last = s
		}
		if i%64 == 0 && (time.Now().After(stop) || r.Stats().Bytes > 256<<20) {
			r.Close()
			os.Exit(0)
		}
	}
}

func TestRecorderCrash(t *testing.T) {
	if path := os.Getenv(crashEnv); path != "" {
		seed, _ := strconv.ParseUint(os.Getenv(crashSeedEnv), 10, 64)
		recorderCrashChild(path, seed)
		return
	}
	rng := rand.New(rand.NewPCG(2024, 6)) // seeded kill points
	for trial := range 12 {
		seed := uint64(100 + trial)
		delay := time.Duration(rng.IntN(60_000)) * time.Microsecond
		t.Run(fmt.Sprintf("trial=%d/delay=%v", trial, delay), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "crash.bcr")
			pr, pw, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(os.Args[0], "-test.run=^TestRecorderCrash$", "-test.count=1")
			cmd.Env = append(os.Environ(), crashEnv+"="+path, crashSeedEnv+"="+strconv.FormatUint(seed, 10))
			cmd.ExtraFiles = []*os.File{pw}
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			pw.Close()
			var synced atomic.Int64
			reports := make(chan struct{}, 1)
			done := make(chan struct{})
			go func() {
				defer close(done)
				sc := bufio.NewScanner(pr)
				for sc.Scan() {
					v, err := strconv.ParseInt(sc.Text(), 10, 64)
					if err == nil && v > synced.Load() {
						synced.Store(v)
					}
					select {
					case reports <- struct{}{}:
					default:
					}
				}
			}()
			// Wait for a first fsync past the file header, then a seeded delay.
			first := time.After(20 * time.Second)
			for synced.Load() <= recHeaderSize+recChunkHeader+14 {
				select {
				case <-reports:
				case <-first:
					cmd.Process.Kill()
					cmd.Wait()
					t.Fatalf("no fsync reported in 20 s; child output:\n%s", out.String())
				case <-done:
					cmd.Wait()
					t.Fatalf("child ended early:\n%s", out.String())
				}
			}
			time.Sleep(delay)
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			werr := cmd.Wait()
			<-done
			pr.Close()
			if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
				t.Fatalf("child was not killed by SIGKILL (%v); output:\n%s", werr, out.String())
			}
			durable := synced.Load()

			st, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			rr, err := OpenRecording(path)
			if err != nil {
				t.Fatal(err)
			}
			defer rr.Close()
			var c Chunk
			if err := rr.Next(&c); err != nil || c.Type != ChunkMeta || string(c.Payload) != `{"crash":true}` {
				t.Fatalf("meta chunk: %v %+v", err, c)
			}
			g := &recTestGen{seed: seed}
			n := 0
			for {
				err = rr.Next(&c)
				if err != nil {
					break
				}
				want := g.next()
				if err := checkTestChunk(&c, &want, 1e9); err != nil {
					t.Fatalf("chunk %d at offset %d: %v", n+1, c.Offset, err)
				}
				n++
			}
			var te *TornError
			if !errors.As(err, &te) {
				t.Fatalf("after %d chunks: %v, want a *TornError", n, err)
			}
			if rr.Offset() < durable {
				t.Fatalf("recovered up to offset %d, but %d was reported fsynced", rr.Offset(), durable)
			}
			if te.Offset != rr.Offset() || st.Size() < te.Offset {
				t.Fatalf("torn tail at %d, recovered to %d, file %d bytes", te.Offset, rr.Offset(), st.Size())
			}
			t.Logf("killed after %v: %d chunks recovered to offset %d (fsynced %d, file %d bytes): %s",
				delay, n, rr.Offset(), durable, st.Size(), te.Reason)
		})
	}
}
