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

// lockAll takes every host's fleet lock before any host is touched.
//
// First all at once without waiting: with no other rollout about, that
// costs one helper start rather than one per host, and taking a lock
// without waiting never holds one lock while waiting for another, so it
// cannot deadlock. If any lock is busy (or fails), all are given back and
// taken again one by one, waiting, in the order of the daemons' ids: two
// rollouts over the same hosts, however their hosts inputs order or name
// them, then take the locks in the same order, so they never deadlock and
// never interleave hosts. The returned function gives them all back.
func (r *rollout) lockAll() (func(), error) {
	defer r.phase("Fleet lock")()
	if release, ok := r.tryLockAll(); ok {
		return release, nil
	}
	ordered := append([]*HostOutcome(nil), r.out.Hosts...)
	sort.SliceStable(ordered, func(i, j int) bool { return ordered[i].DaemonID < ordered[j].DaemonID })
	var releases []func()
	releaseAll := func() {
		for i := len(releases) - 1; i >= 0; i-- {
			releases[i]()
		}
	}
	for _, h := range ordered {
		release, err := r.drv.Lock(r.ctx, h.Host, true)
		if err != nil {
			releaseAll()
			msg := fmt.Sprintf("%s: %v", h.Host.Name, err)
			return nil, &Error{Step: StepLock, Host: h.Host.Name, Problems: []string{msg}, Cause: msg}
		}
		r.rep.Infof("%s: fleet lock taken", h.Host.Name)
		releases = append(releases, release)
	}
	return releaseAll, nil
}

// tryLockAll takes every lock at once without waiting; ok is false, with
// nothing held, when any of them could not be taken.
func (r *rollout) tryLockAll() (func(), bool) {
	releases := make([]func(), len(r.out.Hosts))
	errs := make([]error, len(r.out.Hosts))
	var wg sync.WaitGroup
	for i, h := range r.out.Hosts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			releases[i], errs[i] = r.drv.Lock(r.ctx, h.Host, false)
		}()
	}
	wg.Wait()
	releaseAll := func() {
		var wg sync.WaitGroup
		for _, rel := range releases {
			if rel != nil {
				wg.Add(1)
				go func() { defer wg.Done(); rel() }()
			}
		}
		wg.Wait()
	}
	for i, err := range errs {
		if err != nil {
			r.rep.Infof("%s: fleet lock busy (%v); giving back the others and taking each in turn", r.out.Hosts[i].Host.Name, err)
			releaseAll()
			return nil, false
		}
	}
	for _, h := range r.out.Hosts {
		r.rep.Infof("%s: fleet lock taken", h.Host.Name)
	}
	return releaseAll, true
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
			res, err := r.drv.Run(r.ctx, h.Host, config.ModeStatus)
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
