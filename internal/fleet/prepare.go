package fleet

import (
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/bluegreen-action/bluegreen/internal/config"
)

// connect reaches every host at once. Any host that cannot be reached, or
// two entries that are the same daemon, fail the fleet before anything is
// touched.
func (r *rollout) connect() error {
	defer r.phase(fmt.Sprintf("Reach %d hosts", len(r.out.Hosts)))()
	problems := make([]string, len(r.out.Hosts))
	var wg sync.WaitGroup
	for i, h := range r.out.Hosts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id, err := r.drv.Connect(r.ctx, h.Host)
			if err != nil {
				problems[i] = fmt.Sprintf("%s: %v", h.Host.Name, err)
				return
			}
			h.DaemonID = id
		}()
	}
	wg.Wait()
	list := nonEmpty(problems)
	byID := map[string]string{}
	for _, h := range r.out.Hosts {
		if h.DaemonID == "" {
			continue
		}
		if other, dup := byID[h.DaemonID]; dup {
			list = append(list, fmt.Sprintf("%s and %s are the same Docker daemon (%s): list each host once", other, h.Host.Name, h.DaemonID))
		}
		byID[h.DaemonID] = h.Host.Name
	}
	if len(list) > 0 {
		return &Error{Step: StepPreflight, Problems: list, Cause: strings.Join(list, "; ")}
	}
	for _, h := range r.out.Hosts {
		r.rep.Infof("%s: Docker daemon %s reached, helper image present", h.Host.Name, h.DaemonID)
	}
	return nil
}

// lockAll takes every host's fleet lock before any host is touched, and
// keeps each until the returned function gives them all back.
//
// First all at once without waiting: with no other rollout about, that
// costs one helper start rather than one per host, and taking a lock
// without waiting never holds one lock while waiting for another, so it
// cannot deadlock. If any lock is busy (or fails), all are given back and
// taken again one by one, waiting, in the order of the daemons' ids: two
// rollouts over the same hosts, however their hosts inputs order or name
// them, then take the locks in the same order, so they never deadlock and
// never interleave hosts.
func (r *rollout) lockAll() (func(), error) {
	defer r.phase("Fleet lock")()
	if leases, ok := r.tryLockAll(); ok {
		return r.keepAll(r.out.Hosts, leases, true), nil
	}
	ordered := append([]*HostOutcome(nil), r.out.Hosts...)
	sort.SliceStable(ordered, func(i, j int) bool { return ordered[i].DaemonID < ordered[j].DaemonID })
	var leases []*Lease
	for _, h := range ordered {
		var lease *Lease
		err := r.retry(r.ctx, "take the fleet lock of "+h.Host.Name, true, func() error {
			var err error
			lease, err = r.drv.Lock(r.ctx, h.Host, true)
			return err
		})
		if err != nil {
			for i := len(leases) - 1; i >= 0; i-- {
				leases[i].Release()
			}
			msg := fmt.Sprintf("%s: %v", h.Host.Name, err)
			return nil, &Error{Step: StepLock, Host: h.Host.Name, Problems: []string{msg}, Cause: msg}
		}
		r.rep.Infof("%s: fleet lock taken", h.Host.Name)
		leases = append(leases, lease)
	}
	return r.keepAll(ordered, leases, false), nil
}

// tryLockAll takes every lock at once without waiting; ok is false, with
// nothing held, when any of them could not be taken.
func (r *rollout) tryLockAll() ([]*Lease, bool) {
	leases := make([]*Lease, len(r.out.Hosts))
	errs := make([]error, len(r.out.Hosts))
	var wg sync.WaitGroup
	for i, h := range r.out.Hosts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			leases[i], errs[i] = r.drv.Lock(r.ctx, h.Host, false)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			r.rep.Infof("%s: fleet lock busy (%v); giving back the others and taking each in turn", r.out.Hosts[i].Host.Name, err)
			var wg sync.WaitGroup
			for _, l := range leases {
				if l != nil {
					wg.Add(1)
					go func() { defer wg.Done(); l.Release() }()
				}
			}
			wg.Wait()
			return nil, false
		}
	}
	for _, h := range r.out.Hosts {
		r.rep.Infof("%s: fleet lock taken", h.Host.Name)
	}
	return leases, true
}

// readState reads every host's live color and image with a status run,
// once the locks are held, so that no other rollout changes it between
// this reading and the deploy.
func (r *rollout) readState() error {
	defer r.phase("Read each host's live color")()
	problems := make([]string, len(r.out.Hosts))
	invalid := make([]bool, len(r.out.Hosts))
	var wg sync.WaitGroup
	for i, h := range r.out.Hosts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := r.touch(r.ctx, h, config.ModeStatus, "read the live color of "+h.Host.Name)
			switch {
			case err != nil:
				problems[i] = fmt.Sprintf("%s: %v", h.Host.Name, err)
			case res.Failed():
				problems[i] = fmt.Sprintf("%s: %s", h.Host.Name, res.Failure.Cause)
				invalid[i] = res.Failure.Invalid
			default:
				h.Before = &res
			}
		}()
	}
	wg.Wait()
	list := nonEmpty(problems)
	allInvalid := true
	for i, p := range problems {
		if p != "" {
			allInvalid = allInvalid && invalid[i]
		}
	}
	if len(list) > 0 {
		return &Error{Step: StepPreflight, Problems: list, Cause: strings.Join(list, "; "), Invalid: allInvalid}
	}
	for _, h := range r.out.Hosts {
		r.rep.Infof("%s: live color %s, image %s", h.Host.Name, orNone(h.Before.Active), orNone(h.Before.Image))
	}
	return nil
}

// nonEmpty returns the non-empty strings of list, in order.
func nonEmpty(list []string) []string {
	var out []string
	for _, s := range list {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}
