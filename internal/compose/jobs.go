package compose

import (
	"fmt"

	"github.com/compose-spec/compose-go/v2/types"
)

// JobsFirst splits a color's project (SplitProject's Color part) in two,
// so that its jobs run to completion before anything else of the color
// starts: jobs holds the jobs and the colored services they depend on
// (nil when the color has no job), rest everything else. Up jobs, wait for
// each job to exit 0, then Up rest: in rest, a depends_on on a job is
// dropped (it completed), and one on a service that jobs started is
// waited for in the color's project, as a shared service is.
func JobsFirst(p *types.Project, roles Roles) (jobs, rest *types.Project, err error) {
	first := map[string]bool{}
	var visit func(string)
	visit = func(name string) {
		if first[name] {
			return
		}
		s, ok := p.Services[name]
		if !ok {
			return // a service of another part (a shared one)
		}
		first[name] = true
		for dep := range s.DependsOn {
			visit(dep)
		}
	}
	for _, name := range roles.Services(Job) {
		if _, ok := p.Services[name]; ok {
			visit(name)
		}
	}
	if len(first) == 0 {
		return nil, p, nil
	}
	copyWith := func(keep func(string) bool) (*types.Project, error) {
		q, err := p.WithServicesTransform(func(_ string, s types.ServiceConfig) (types.ServiceConfig, error) { return s, nil })
		if err != nil {
			return nil, fmt.Errorf("failed to copy project %s: %w", p.Name, err)
		}
		q.Extensions = types.Extensions{}
		for k, v := range p.Extensions {
			q.Extensions[k] = v
		}
		for name := range q.Services {
			if !keep(name) {
				delete(q.Services, name)
			}
		}
		return q, nil
	}
	if jobs, err = copyWith(func(n string) bool { return first[n] }); err != nil {
		return nil, nil, err
	}
	if rest, err = copyWith(func(n string) bool { return !first[n] }); err != nil {
		return nil, nil, err
	}
	info := &splitInfo{Outside: map[string]string{}, SharedNetworks: map[string]bool{}}
	if old := infoOf(p); old != nil {
		info.Base = old.Base
		for k, v := range old.Outside {
			info.Outside[k] = v
		}
		for k, v := range old.SharedNetworks {
			info.SharedNetworks[k] = v
		}
	}
	for name, s := range rest.Services {
		deps := types.DependsOnConfig{}
		for dep, d := range s.DependsOn {
			switch {
			case roles.Of(dep) == Job:
				continue // it ran to completion before rest starts
			case first[dep]:
				info.Outside[dep] = p.Name
			}
			deps[dep] = d
		}
		s.DependsOn = deps
		rest.Services[name] = s
	}
	rest.Extensions[splitKey] = info
	return jobs, rest, nil
}
