package nginx

// The switch in two halves: Prepare does the slow, side-effect-free work
// while the new color starts and is probed (render, test on a candidate
// copy of the config); Commit, once the color is healthy, only writes,
// reloads and confirms. nginx -s reload parses the whole config before it
// signals, so a config broken between Prepare and Commit still stops the
// reload, and the confirmation catches a master that rejects it.

import (
	"bytes"
	"context"
	"time"
)

// Prepared is a switch made ready: the include to write, what the include
// held when it was prepared, and whether nginx has passed it already.
type Prepared struct {
	// Next is the include Commit writes.
	Next []byte
	// Validated is true when nginx -t passed on a candidate copy of the
	// config with Next in place, so Commit skips the test.
	Validated bool
	// Why says why no candidate was tested (nginx in a container, a
	// config this package cannot rebuild); Commit then tests the live
	// config as Switch does.
	Why string
	// Took is how long Prepare took.
	Took time.Duration

	was previous
}

// Prepare makes a switch to next ready without touching the live include:
// it reads what the include holds, checks the new include for host names
// that need a resolver, and runs nginx -t on a candidate copy of nginx's
// config (rebuilt from nginx -T in a temp directory) with next in place of
// the include. A candidate nginx rejects returns an error wrapping
// ErrConfigTest with nginx's message; nothing was changed. When no
// candidate can be made, the Prepared says why and Commit tests instead.
// Prepare writes nothing but a private temp directory, so it may run while
// the deploy starts and probes the new color; Commit then notices an
// include that changed in between.
func (s *Switcher) Prepare(ctx context.Context, next []byte) (*Prepared, error) {
	start := time.Now()
	if err := s.validate(); err != nil {
		return nil, err
	}
	was, err := s.previous()
	if err != nil {
		return nil, err
	}
	p := &Prepared{Next: append([]byte(nil), next...), was: was}
	tested, why, err := s.testCandidate(ctx, next)
	if err != nil {
		return nil, err
	}
	p.Validated, p.Why = tested, why
	if tested {
		s.checkResolver(ctx, next)
		s.logf("nginx config test passed on a candidate copy with the new include")
	} else {
		s.logf("the new include will be tested at the switch: %s", why)
	}
	p.Took = time.Since(start)
	return p, nil
}

// Commit makes nginx serve a prepared include: write, reload, confirm,
// with the previous include put back on any failure as Switch does. When
// the include changed since Prepare (someone else wrote it), or Prepare
// could not test a candidate, Commit runs the full Switch, nginx -t
// included.
func (s *Switcher) Commit(ctx context.Context, p *Prepared) (*Reload, error) {
	if err := s.validate(); err != nil {
		return nil, err
	}
	was, err := s.previous()
	if err != nil {
		return nil, err
	}
	unchanged := was.existed == p.was.existed && bytes.Equal(was.data, p.was.data)
	if !unchanged {
		s.warnf("the include %s changed since the switch was prepared; testing the config again", s.IncludePath)
	}
	return s.commit(ctx, p.Next, was, !(p.Validated && unchanged))
}
