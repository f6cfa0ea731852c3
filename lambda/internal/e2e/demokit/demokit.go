// Package demokit is the start-up the local demos share
// (lambda/internal/e2e/demo and demoorg): a context that Ctrl-C and
// SIGTERM cancel, the work directory under the module root with the
// functions' log file, the printer of numbered steps, and the exit code of
// a failure. Each demo keeps what it prints itself.
package demokit

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/vpcflowlogs/flowlogs/lambda/internal/testenv"
)

// Printer prints a demo's progress with the time since Start; it is the
// demos' e2e.Reporter.
type Printer struct {
	Start time.Time
	Out   io.Writer
	// Width is the width of the seconds in a step's heading.
	Width int
}

// Step prints a numbered step's heading.
func (p *Printer) Step(n int, title string) {
	fmt.Fprintf(p.Out, "\n[%*.1fs] %d. %s\n", p.Width, time.Since(p.Start).Seconds(), n, title)
}

// Info prints a line under the current step.
func (p *Printer) Info(format string, args ...any) {
	fmt.Fprintf(p.Out, "        "+format+"\n", args...)
}

// Steps returns the harness's Step callback (e2e.Config.Step): the stages
// numbered in steps become headings, titled by titles or, without one, by
// the stage's own words; any other stage is a line.
func (p *Printer) Steps(steps map[string]int, titles map[string]string) func(string) {
	return func(what string) {
		n, ok := steps[what]
		if !ok {
			p.Info("%s", what)
			return
		}
		if t, ok := titles[what]; ok {
			what = t
		}
		p.Step(n, what)
	}
}

// Session is one demo's run: its context, its work directory and the
// functions' log.
type Session struct {
	// Ctx is canceled by Ctrl-C or SIGTERM, so that moto and the
	// emulators stop.
	Ctx  context.Context
	Root string // the module root
	Work string // the work directory, under Root
	// LogFile is the functions' log, FunctionLog open on it.
	LogFile     string
	FunctionLog *os.File
	name        string
	stop        context.CancelFunc
}

// Begin starts the session of the demo name, working in dir under the
// module root. On error it returns a session that serves only Failed:
// the demo then exits.
func Begin(name, dir string) (*Session, error) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	s := &Session{Ctx: ctx, name: name, stop: stop}
	root, err := testenv.ModuleRoot()
	if err != nil {
		return s, err
	}
	s.Root, s.Work = root, filepath.Join(root, dir)
	if err := os.MkdirAll(s.Work, 0o755); err != nil {
		return s, err
	}
	s.LogFile = filepath.Join(s.Work, "functions.log")
	if s.FunctionLog, err = os.Create(s.LogFile); err != nil {
		return s, err
	}
	return s, nil
}

// Close closes the functions' log and stops watching for signals.
func (s *Session) Close() {
	if s.FunctionLog != nil {
		_ = s.FunctionLog.Close()
	}
	s.stop()
}

// Failed reports err and returns the exit code: 130 when interrupted.
func (s *Session) Failed(err error) int {
	if errors.Is(err, context.Canceled) || s.Ctx.Err() != nil {
		fmt.Fprintln(os.Stderr, "\ninterrupted: moto and the emulators are stopped")
		return 130
	}
	fmt.Fprintf(os.Stderr, "\n%s failed: %v\n", s.name, err)
	return 1
}
